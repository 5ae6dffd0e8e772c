"""Pixel memory kept in the process between photos, instead of handed back and faulted in again.

A 12 MP photo passes through ~115 MB of pixel buffers (decode, print crop, reductions). Pillow
allocates them in blocks of up to 16 MiB; glibc's malloc serves blocks that large with fresh
``mmap`` calls (or trims them off the heap once freed), so every photo page-faults its whole
working set in again: ~14,500 faults and ~25 ms of a 250 ms job, measured with
``bench/imaging.py``. A worker renders photo after photo, so its buffers are kept: blocks come
from the heap (mmap threshold at glibc's 32 MiB maximum, above Pillow's block size) and a freed
heap top is kept up to :data:`KEEP_BYTES`. Other C libraries (musl) are left alone.

It also owns the bound on a photo's memory (:func:`peak_bytes`, docs/architecture.md "A photo's
memory is bounded"): rendering keeps at most two full-size pictures alive, and after a photo
whose pixels outgrew what is kept, the free memory goes back to the system at once
(:func:`give_back`), so a worker does not sit on a large photo's memory until its next photo.
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

# What rendering one photo adds to a worker's peak memory, at most: two full-size pictures (the
# decode and a conversion of it, or the decode and a print crop) at Pillow's 4 bytes a pixel (RGB
# is stored as RGBX), the uploaded file itself, and a fixed margin for the codecs' buffers, the
# browsing renditions, face detection and the encoded files.
PIXEL_BYTES = 8
MARGIN_BYTES = 96 * 1024 * 1024

_lock = threading.Lock()
_done: bool | None = None


def peak_bytes(decoded_pixels: int, file_bytes: int) -> int:
    """The most rendering one photo adds to a worker's resident memory, known from its header.

    ``decoded_pixels`` is what the decoder produces (less than the photo's own for a JPEG decoded
    at a reduced DCT scale, when no output needs full resolution).
    """
    return PIXEL_BYTES * decoded_pixels + file_bytes + MARGIN_BYTES


def give_back(peak: int) -> bool:
    """After a photo whose :func:`peak_bytes` was over :data:`KEEP_BYTES`, return every free byte
    to the system now; True when memory was handed back.

    Smaller photos keep their buffers for the next one; a large one would leave the worker at its
    peak (malloc cannot shrink a heap past a block still in use), for the cost of faulting the
    next photo's buffers in once.
    """
    if peak <= KEEP_BYTES or not keep_pixel_memory():
        return False
    malloc_trim = ctypes.CDLL(None).malloc_trim
    malloc_trim.argtypes = (ctypes.c_size_t,)
    malloc_trim.restype = ctypes.c_int
    # malloc_trim returns 1 when it released memory.
    return bool(malloc_trim(0))


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


__all__ = [
    "KEEP_BYTES",
    "MARGIN_BYTES",
    "PIXEL_BYTES",
    "give_back",
    "keep_pixel_memory",
    "peak_bytes",
]
