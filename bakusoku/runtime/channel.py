"""Channel: length-prefixed pickled messages over a socket pair; cheap to import in a worker."""

from __future__ import annotations

import pickle
import socket
import struct
from typing import Any

_HEADER = struct.Struct("!Q")


class ChannelClosed(Exception):
    """The other end closed the socket (its process ended or closed the channel)."""


class Channel:
    """One end of a parent ↔ worker connection; one message in flight per direction at a time."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock

    @classmethod
    def pair(cls) -> tuple[Channel, socket.socket]:
        """A parent Channel and the raw socket to hand to the child process."""
        parent, child = socket.socketpair()
        return cls(parent), child

    def fileno(self) -> int:
        return self._sock.fileno()

    def send(self, message: Any) -> None:
        data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        try:
            self._sock.sendall(_HEADER.pack(len(data)) + data)
        except OSError as exc:
            raise ChannelClosed(str(exc)) from exc

    def recv(self) -> Any:
        (size,) = _HEADER.unpack(self._read(_HEADER.size))
        return pickle.loads(self._read(size))

    def _read(self, size: int) -> bytes:
        buffer = bytearray(size)
        view = memoryview(buffer)
        got = 0
        while got < size:
            try:
                n = self._sock.recv_into(view[got:])
            except OSError as exc:
                raise ChannelClosed(str(exc)) from exc
            if n == 0:
                raise ChannelClosed("the other end closed the channel")
            got += n
        return bytes(buffer)

    def close(self) -> None:
        self._sock.close()
