"""Test photos generated with Pillow: real encoded files, no binary fixtures in the repository."""

import io
from typing import Any

from PIL import Image, ImageDraw

RED = (220, 20, 20)
BLUE = (20, 40, 220)
GREY = (128, 128, 128)

# What a viewer does for each EXIF orientation is undone here, so stored pixels + tag = displayed.
_UNDO: dict[int, Image.Transpose | None] = {
    1: None,
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}


def encode(im: Image.Image, fmt: str = "JPEG", **params: Any) -> bytes:
    buffer = io.BytesIO()
    im.save(buffer, fmt, **params)
    return buffer.getvalue()


def marked_picture(width: int, height: int) -> Image.Image:
    """Grey picture as it should be displayed: red block top-left, blue block top-right."""
    im = Image.new("RGB", (width, height), GREY)
    draw = ImageDraw.Draw(im)
    block_w, block_h = width // 5, height // 5
    draw.rectangle((0, 0, block_w, block_h), fill=RED)
    draw.rectangle((width - block_w - 1, 0, width - 1, block_h), fill=BLUE)
    return im


def undo_orientation(displayed: Image.Image, orientation: int) -> Image.Image:
    """The pixels a camera stores for ``displayed`` when it tags them with ``orientation``."""
    undo = _UNDO[orientation]
    return displayed.transpose(undo) if undo is not None else displayed


def stored_with_orientation(displayed: Image.Image, orientation: int, **params: Any) -> bytes:
    """JPEG bytes whose pixels, once the EXIF orientation is applied, show ``displayed``."""
    stored = undo_orientation(displayed, orientation)
    exif = Image.Exif()
    exif[0x0112] = orientation
    return encode(stored, "JPEG", quality=95, exif=exif.tobytes(), **params)


def camera_jpeg(size: tuple[int, int] = (1200, 900), gps: bool = True) -> bytes:
    """A JPEG with the EXIF a camera writes: make, model, capture time, offset, GPS, XMP."""
    exif = Image.Exif()
    exif[0x010F] = "Canon\x00"
    exif[0x0110] = "Canon EOS R6"
    exif_ifd = exif.get_ifd(0x8769)
    exif_ifd[0x9003] = "2024:05:03 10:15:30"
    exif_ifd[0x9011] = "+09:00"
    exif_ifd[0x9291] = "12"
    if gps:
        gps_ifd = exif.get_ifd(0x8825)
        gps_ifd[1] = "N"
        gps_ifd[2] = (35.0, 40.0, 12.5)
        gps_ifd[3] = "E"
        gps_ifd[4] = (139.0, 45.0, 30.0)
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF/></x:xmpmeta>'
    return encode(marked_picture(*size), "JPEG", quality=90, exif=exif.tobytes(), xmp=xmp)


def noisy_picture(width: int, height: int) -> Image.Image:
    """A photo-like picture (detail everywhere) so encoders and decoders do realistic work."""
    base = Image.effect_noise((width // 8, height // 8), 64).convert("RGB")
    detail = Image.effect_noise((width, height), 24).convert("RGB")
    return Image.blend(base.resize((width, height), Image.Resampling.BICUBIC), detail, 0.35)
