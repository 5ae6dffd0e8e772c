"""Print trims of JPEG originals cut in the compressed domain: no decode, no generation loss.

A print is what the customer pays for. When the original is a JPEG whose colours need no
conversion (sRGB or untagged), its print trim is a plain crop after orientation, and libjpeg-turbo's
lossless transform (what ``jpegtran -crop`` does) can cut it on whole blocks: the DCT coefficients
of the print are those of the original, bit for bit. The price is that a crop must start on the
JPEG's block grid (its iMCU, 8 or 16 px), so the trim's offset may move by less than one block; its
size, and with it the print aspect, stays exact.

The transform ships in ``jpegtran-cffi-wheels`` (libjpeg-turbo inside the wheel; the ``lossless``
extra). Without it, or for an original it cannot take, :func:`lossless_print` says why and the
print is re-encoded from the decode as before; the photo's metadata records which path each print
took.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from PIL import Image

from bakusoku.imaging.color import is_srgb_icc, srgb_icc_bytes
from bakusoku.imaging.trim import Box

# turbojpeg.h: copy no extra markers (EXIF, XMP, ICC) from the source. The wheel's cdef does not
# name it; the value is part of TurboJPEG's stable API.
_TJXOPT_COPYNONE = 64
# EXIF orientation → the lossless transform that makes the picture upright (TurboJPEG's TJXOP
# names: TRANSPOSE swaps axes, TRANSVERSE swaps them across the other diagonal).
_ORIENTATION_OPS = {
    1: "TJXOP_NONE",
    2: "TJXOP_HFLIP",
    3: "TJXOP_ROT180",
    4: "TJXOP_VFLIP",
    5: "TJXOP_TRANSPOSE",
    6: "TJXOP_ROT90",
    7: "TJXOP_TRANSVERSE",
    8: "TJXOP_ROT270",
}
# Transforms that mirror an axis move the right or bottom partial block to the other edge, where it
# cannot stay: TurboJPEG's TRIM option drops it, so those axes lose up to one block.
_MIRRORS_X = {2, 3, 6, 7}
_MIRRORS_Y = {3, 4, 7, 8}
_SWAPS_AXES = {5, 6, 7, 8}


@dataclass(frozen=True, slots=True)
class LosslessPrint:
    """A print cut losslessly: the JPEG bytes and the trim box it really covers."""

    data: bytes
    box: Box


@dataclass(frozen=True, slots=True)
class JpegLayout:
    """What a lossless cut needs to know of a JPEG original, read from its header."""

    width: int  # as displayed (orientation applied)
    height: int
    orientation: int
    block: tuple[int, int]  # the iMCU as displayed: crops start on multiples of it
    reason: str | None  # why this original cannot be cut losslessly, or None


def jpeg_layout(data: bytes, orientation: int) -> JpegLayout:
    """The lossless-cut facts of the JPEG ``data`` with EXIF ``orientation``."""
    with Image.open(io.BytesIO(data), formats=["JPEG"]) as im:
        raw_w, raw_h = im.size
        sampling = [(h, v) for _, h, v, _ in getattr(im, "layer", [])]
        mode = im.mode
        icc = im.info.get("icc_profile")
    max_h = max((h for h, _ in sampling), default=1)
    max_v = max((v for _, v in sampling), default=1)
    block = (8 * max_h, 8 * max_v)
    swapped = orientation in _SWAPS_AXES
    width, height = (raw_h, raw_w) if swapped else (raw_w, raw_h)
    if swapped:
        block = (block[1], block[0])
    return JpegLayout(width, height, orientation, block, _refusal(mode, icc, orientation))


def lossless_available() -> str | None:
    """``None`` when the lossless transform is installed, else why not (for the metadata)."""
    return None if _turbojpeg() is not None else _MISSING


def fits(layout: JpegLayout, size: tuple[int, int]) -> bool:
    """Whether a trim of ``size`` fits in what the transform keeps of the picture."""
    usable_w, usable_h = _usable(layout)
    return size[0] <= usable_w and size[1] <= usable_h


def lossless_print(data: bytes, layout: JpegLayout, box: Box) -> LosslessPrint:
    """Cut ``box`` (displayed pixels) out of the JPEG ``data`` without decoding it.

    The box keeps its size; its offset moves to the block grid (by less than one block) and stays
    inside what the transform keeps. Raises :class:`LosslessUnavailable` when it cannot be done.
    """
    turbo = _turbojpeg()
    if turbo is None:
        raise LosslessUnavailable(_MISSING)
    if layout.reason is not None:
        raise LosslessUnavailable(layout.reason)
    width, height = round(box[2] - box[0]), round(box[3] - box[1])
    if not fits(layout, (width, height)):
        raise LosslessUnavailable(EDGE_BLOCK)
    usable_w, usable_h = _usable(layout)
    # A dropped partial block is at the start of a mirrored axis: the transformed picture begins
    # that many pixels into the displayed one.
    skip_x, skip_y = layout.width - usable_w, layout.height - usable_h
    x = _on_grid(box[0] - skip_x, layout.block[0], usable_w - width)
    y = _on_grid(box[1] - skip_y, layout.block[1], usable_h - height)
    cut = _transform(turbo, data, _ORIENTATION_OPS[layout.orientation], (x, y, width, height))
    left, top = x + skip_x, y + skip_y
    return LosslessPrint(_with_srgb_profile(cut), (left, top, left + width, top + height))


class LosslessUnavailable(Exception):
    """This print cannot be cut losslessly; the message says why (recorded on the photo)."""


EDGE_BLOCK = "the trim reaches the partial block at the edge that a lossless rotation drops"
_MISSING = "lossless JPEG transforms are not installed here (pip install 'bakusoku[lossless]')"


def _refusal(mode: str, icc: bytes | None, orientation: int) -> str | None:
    if mode not in ("RGB", "L"):
        return f"the original is a {mode} JPEG: its colours are converted to sRGB, so re-encoded"
    if orientation not in _ORIENTATION_OPS:
        return f"the original's EXIF orientation {orientation} is not one of 1-8"
    if icc and not is_srgb_icc(icc):
        return "the original's colour profile is not sRGB: its colours are converted, so re-encoded"
    return None


def _usable(layout: JpegLayout) -> tuple[int, int]:
    """The displayed size the transform keeps: mirrored axes lose their partial edge block."""
    raw_x_mirrored = layout.orientation in _MIRRORS_X
    raw_y_mirrored = layout.orientation in _MIRRORS_Y
    width = _trimmed(layout.width, layout.block[0]) if raw_x_mirrored else layout.width
    height = _trimmed(layout.height, layout.block[1]) if raw_y_mirrored else layout.height
    return width, height


def _trimmed(length: int, block: int) -> int:
    return length - length % block if length >= block else length


def _on_grid(offset: float, block: int, highest: int) -> int:
    """The block-grid offset nearest to ``offset`` that keeps the crop inside (0..highest)."""
    nearest = round(offset / block) * block
    if nearest > highest:
        nearest = highest - highest % block
    return max(0, nearest)


def _with_srgb_profile(jpeg: bytes) -> bytes:
    """Tag the cut as sRGB, like every rendition: an APP2 ICC_PROFILE segment after SOI/JFIF."""
    profile = srgb_icc_bytes()
    payload = b"ICC_PROFILE\x00\x01\x01" + profile
    segment = b"\xff\xe2" + (len(payload) + 2).to_bytes(2, "big") + payload
    at = 2
    if jpeg[2:4] == b"\xff\xe0":  # keep the JFIF APP0 first, as the JFIF spec asks
        at = 4 + int.from_bytes(jpeg[4:6], "big")
    return jpeg[:at] + segment + jpeg[at:]


def _transform(turbo: Any, data: bytes, op_name: str, region: tuple[int, int, int, int]) -> bytes:
    ffi, lib = turbo
    source = ffi.from_buffer(data)
    out = ffi.new("unsigned char**")
    out_size = ffi.new("unsigned long*")
    handle = ffi.gc(lib.tjInitTransform(), lib.tjDestroy)
    options = ffi.new("tjtransform*")
    options.op = getattr(lib, op_name)
    options.options = lib.TJXOPT_CROP | lib.TJXOPT_TRIM | _TJXOPT_COPYNONE
    options.r.x, options.r.y, options.r.w, options.r.h = region
    if lib.tjTransform(handle, source, len(data), 1, out, out_size, options, 0) < 0:
        detail = ffi.string(lib.tjGetErrorStr()).decode(errors="replace")
        raise LosslessUnavailable(f"the lossless transform refused this original: {detail}")
    try:
        return bytes(ffi.buffer(out[0], out_size[0]))
    finally:
        lib.tjFree(out[0])


@lru_cache(maxsize=1)
def _turbojpeg() -> tuple[Any, Any] | None:
    try:
        from _jpegtran import ffi, lib  # the compiled module of jpegtran-cffi-wheels
    except ImportError:
        return None
    return ffi, lib
