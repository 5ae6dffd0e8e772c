"""Fixtures shared by every test: real images made on the fly."""

from __future__ import annotations

import io
import socket
import uuid

from PIL import Image, ImageDraw

MARKER = (230, 20, 20)


def make_jpeg(
    width: int,
    height: int,
    *,
    orientation: int = 1,
    quality: int = 85,
    gps: bool = False,
) -> bytes:
    """A real JPEG whose stored top-left sixth is a red marker, with an EXIF Orientation tag."""
    image = Image.new("RGB", (width, height), (40, 90, 200))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, width // 6, height // 6), fill=MARKER)
    draw.ellipse((width // 3, height // 3, width * 2 // 3, height * 2 // 3), fill=(250, 220, 40))
    exif = Image.Exif()
    exif[0x010E] = uuid.uuid4().hex  # ImageDescription: every photo's bytes are unique
    exif[0x0112] = orientation
    exif[0x8769] = {0x9003: "2026:10:10 09:30:00"}  # Exif IFD: DateTimeOriginal
    if gps:
        exif[0x8825] = {1: "N", 2: (35.0, 39.0, 0.0), 3: "E", 4: (139.0, 44.0, 0.0)}
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality, exif=exif.tobytes())
    return out.getvalue()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
