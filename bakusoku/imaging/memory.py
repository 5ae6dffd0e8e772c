"""Pixel memory kept in the process between photos, instead of handed back and faulted in again.

A 12 MP photo passes through ~115 MB of pixel buffers (decode, print crop, reductions). Pillow
allocates them in blocks of up to 16 MiB; glibc's malloc serves blocks that large with fresh
``mmap`` calls (or trims them off the heap once freed), so every photo page-faults its whole
working set in again: ~14,500 faults and ~25 ms of a 250 ms job, measured with
``bench/imaging.py``. A worker renders photo after photo, so its buffers are kept: blocks come
from the heap (mmap threshold at glibc's 32 MiB maximum, above Pillow's block size) and a freed
heap top is kept up to :data:`KEEP_BYTES`. Other C libraries (musl) are left alone.
"""

from __future__ import annotations

import ctypes
import platform
import threading

# mallopt(3) parameters.
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_MMAP_THRESHOLD = 32 * 1024 * 1024  # glibc's largest; Pillow's blocks are at most 16 MiB
KEEP_BYTES = 512 * 1024 * 1024  # a 24 MP photo's buffers, with room to spare

_lock = threading.Lock()
_done: bool | None = None


def keep_pixel_memory() -> bool:
    """Have glibc keep freed pixel buffers for the next photo; True when it applies here."""
    global _done
    with _lock:
        if _done is None:
            _done = _configure()
        return _done


def _configure() -> bool:
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    # mallopt returns 1 on success.
    return bool(
        mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD) and mallopt(_M_TRIM_THRESHOLD, KEEP_BYTES)
    )


__all__ = ["KEEP_BYTES", "keep_pixel_memory"]
