"""Linux C library calls that Python's ``os`` module lacks, looked up once (``None`` elsewhere)."""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
from typing import Any


def linux_libc_function(name: str, argtypes: list[Any]) -> Any | None:
    """libc's ``name`` with ``argtypes`` returning ``int`` (``errno`` kept for ``get_errno``), or
    ``None`` off Linux or where this libc lacks it. ctypes releases the GIL during each call."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        function = getattr(libc, name)
    except (OSError, AttributeError):
        return None
    function.argtypes = argtypes
    function.restype = ctypes.c_int
    return function
