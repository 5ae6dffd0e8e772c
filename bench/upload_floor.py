"""The floor of an upload on this machine: the same bytes over loopback into a file, no HTTP.

A thread per connection reads a length-prefixed body with ``recv_into`` into one reused,
page-aligned 1 MiB buffer, computes the MD5 the store's ETag needs, writes each full buffer to a
temp file the way the store does (past the page cache while the buffers are whole:
``bakusoku.storage.direct_write``), ``fdatasync``s it when ``--durable`` (as the store does),
renames it into place and answers the hex digest. Every step releases the GIL, so the floor uses
every core. Run as a child process by ``bench/upload.py``:

    python bench/upload_floor.py PORT DIRECTORY [--durable]
"""

from __future__ import annotations

import argparse
import hashlib
import mmap
import os
import socket
import socketserver
import struct
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bakusoku.storage.direct_write import open_new, write_all

CHUNK = 1024 * 1024
LENGTH = struct.Struct("!Q")


class FloorHandler(socketserver.BaseRequestHandler):
    directory: Path
    durable: bool

    def handle(self) -> None:
        sock: socket.socket = self.request
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        buffer = memoryview(mmap.mmap(-1, CHUNK))
        while header := _read_exactly(sock, LENGTH.size):
            (length,) = LENGTH.unpack(header)
            digest = self._receive(sock, length, buffer)
            sock.sendall(digest.encode())

    def _receive(self, sock: socket.socket, length: int, buffer: memoryview) -> str:
        md5 = hashlib.md5(usedforsecurity=False)
        name = f"{os.getpid()}-{self.server.socket.fileno()}-{os.urandom(6).hex()}"
        tmp = self.directory / f".tmp-{name}"
        fd, direct = open_new(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644, direct=True)
        try:
            remaining = length
            while remaining:
                count = _fill(sock, buffer[: min(CHUNK, remaining)])
                md5.update(buffer[:count])
                direct = write_all(fd, [buffer[:count]], direct=direct)
                remaining -= count
            if self.durable:
                os.fdatasync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, self.directory / name)
        return md5.hexdigest()


def _fill(sock: socket.socket, view: memoryview) -> int:
    """Fill ``view`` from ``sock`` (whole buffers, as the store writes them); its length."""
    filled = 0
    while filled < len(view):
        count = sock.recv_into(view[filled:])
        if not count:
            raise ConnectionError("the client left mid-body")
        filled += count
    return filled


def _read_exactly(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            return b""
        data += chunk
    return data


class FloorServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("port", type=int)
    parser.add_argument("directory", type=Path)
    parser.add_argument("--durable", action="store_true")
    args = parser.parse_args()
    FloorHandler.directory = args.directory
    FloorHandler.durable = args.durable
    args.directory.mkdir(parents=True, exist_ok=True)
    with FloorServer(("127.0.0.1", args.port), FloorHandler) as server:
        server.serve_forever()


if __name__ == "__main__":
    main()
