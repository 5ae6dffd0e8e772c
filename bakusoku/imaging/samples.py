"""Generated camera-like JPEGs for load tests and chaos probes: distinct bytes, realistic content.

Sky, ground, figures, sensor noise and a camera's EXIF, so that decoding, trimming and rendering
cost what a real photo costs; every photo carries a unique comment, so none is a duplicate.
"""

from __future__ import annotations

import io
import math
import random
import uuid

from PIL import Image, ImageDraw, ImageFilter

_BASE_VARIANTS = 6


def camera_jpeg(width: int, height: int, seed: int) -> bytes:
    """A JPEG that looks like a camera's: sky, ground, figures, sensor noise, camera EXIF."""
    rng = random.Random(seed)
    image = Image.new("RGB", (width, height))
    draw = ImageDraw.Draw(image)
    horizon = int(height * rng.uniform(0.35, 0.6))
    for y in range(height):  # sky and ground gradients
        if y < horizon:
            shade = (90 + 80 * y // horizon, 140 + 60 * y // horizon, 230)
        else:
            t = (y - horizon) / max(1, height - horizon)
            shade = (60 + int(50 * t), 120 - int(40 * t), 50)
        draw.line((0, y, width, y), fill=shade)
    for _ in range(24):  # people, flags, a finish line
        x, y = rng.randrange(width), rng.randrange(horizon // 2, height)
        w, h = rng.randrange(width // 40, width // 10), rng.randrange(height // 20, height // 4)
        colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        if rng.random() < 0.5:
            draw.ellipse((x, y, x + w, y + h), fill=colour)
        else:
            draw.rectangle((x, y, x + w, y + h), fill=colour)
    image = image.filter(ImageFilter.GaussianBlur(1.2))
    noise = Image.effect_noise((width, height), 40).convert("RGB")
    image = Image.blend(image, noise, 0.2)
    exif = Image.Exif()
    exif[0x010F] = "Canon"  # Make
    exif[0x0110] = "Canon EOS R6"  # Model
    exif[0x0112] = 1  # Orientation
    exif[0x0131] = "bakusoku"  # Software
    exif[0x8769] = {
        0x9003: "2026:10:10 09:30:00",  # DateTimeOriginal
        0x829A: (1, 1000),  # ExposureTime
        0x829D: (56, 10),  # FNumber
        0x8827: 800,  # ISO
    }
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90, exif=exif.tobytes())
    return out.getvalue()


def with_comment(jpeg: bytes, comment: bytes) -> bytes:
    """``jpeg`` with a COM segment holding ``comment`` just before its scan: new bytes, same image."""
    offset = 2  # after SOI
    while offset + 4 <= len(jpeg) and jpeg[offset] == 0xFF:
        marker = jpeg[offset + 1]
        if marker == 0xDA:  # start of scan
            break
        offset += 2 + int.from_bytes(jpeg[offset + 2 : offset + 4], "big")
    segment = b"\xff\xfe" + (len(comment) + 2).to_bytes(2, "big") + comment
    return jpeg[:offset] + segment + jpeg[offset:]


class PhotoSource:
    """Distinct camera-like JPEGs of about ``megapixels``: a few encoded scenes, unique bytes each.

    The same bytes twice in one album would end ``duplicate`` by design, so every photo carries a
    unique comment segment; the scenes are encoded once so generating never slows the spike.
    """

    def __init__(self, megapixels: float, seed: int = 0) -> None:
        width = max(16, round(math.sqrt(megapixels * 1_000_000 * 4 / 3)))
        height = max(16, width * 3 // 4)
        self.width, self.height = width, height
        self._scenes = [camera_jpeg(width, height, seed + i) for i in range(_BASE_VARIANTS)]

    def photo(self, index: int) -> bytes:
        scene = self._scenes[index % len(self._scenes)]
        return with_comment(scene, f"bakusoku sample {index} {uuid.uuid4()}".encode())
