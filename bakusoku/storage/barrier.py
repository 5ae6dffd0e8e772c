"""One ``syncfs`` for many concurrent uploads: a group commit for the store's files (Linux).

An upload is acknowledged only once its bytes, its sidecar and both renames are on disk. Done
per upload, that is four fsyncs in a row (data, sidecar, the two directories): under 16
concurrent uploads each waited 20-25 ms for them on a 2-core VM, a sixth of its whole
acknowledgement, while the disk flushed the same directories over and over. ``syncfs`` writes
back everything dirty on the file system and flushes the device once: an upload that finished
its writes asks for the next one and waits for it, and every upload that asked meanwhile is
covered by the same call.

Where ``syncfs`` does not exist, :func:`file_system_barrier` returns ``None`` and callers fsync
each file and directory themselves.
"""

from __future__ import annotations

import ctypes
import os
import threading
from collections.abc import Callable
from pathlib import Path

from bakusoku.storage.linux_libc import linux_libc_function

SyncFs = Callable[[int], None]


class FileSystemBarrier:
    """:meth:`wait` returns once everything written before the call is durable."""

    def __init__(self, directory: Path, syncfs: SyncFs) -> None:
        self._fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        self._syncfs = syncfs
        self._changed = threading.Condition()
        self._requested = 0  # the sync each new waiter needs (one that starts after it asked)
        self._started = 0
        self._completed = 0
        self._error: tuple[int, OSError] | None = None
        self._thread = threading.Thread(target=self._run, name="bakusoku-store-syncfs", daemon=True)
        self._thread.start()

    def wait(self) -> None:
        """Block until a ``syncfs`` that began after this call has ended; its error, if any."""
        with self._changed:
            needed = self._started + 1
            self._requested = max(self._requested, needed)
            self._changed.notify_all()
            while self._completed < needed:
                self._changed.wait()
            if self._error is not None and self._error[0] >= needed:
                raise self._error[1]

    def _run(self) -> None:
        while True:
            with self._changed:
                while self._requested <= self._started:
                    self._changed.wait()
                self._started = self._requested
                generation = self._started
            error: OSError | None = None
            try:
                self._syncfs(self._fd)
            except OSError as exc:
                error = exc
            with self._changed:
                self._completed = generation
                if error is not None:
                    self._error = (generation, error)
                self._changed.notify_all()


def _linux_syncfs() -> SyncFs | None:
    call = linux_libc_function("syncfs", [ctypes.c_int])
    if call is None:
        return None

    def syncfs(fd: int) -> None:
        if call(fd) != 0:  # (the GIL is released meanwhile)
            errno = ctypes.get_errno()
            raise OSError(errno, f"syncfs failed: {os.strerror(errno)}")

    return syncfs


_SYNCFS = _linux_syncfs()


def file_system_barrier(directory: Path) -> FileSystemBarrier | None:
    """A barrier for the file system holding ``directory`` (made if missing), or ``None`` where
    there is no ``syncfs``."""
    if _SYNCFS is None:
        return None
    directory.mkdir(parents=True, exist_ok=True)
    return FileSystemBarrier(directory, _SYNCFS)
