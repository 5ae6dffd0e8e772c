"""Sample photos for ``bakusoku up --demo``: real JPEGs of several sizes and EXIF orientations."""

from __future__ import annotations

import random
from pathlib import Path

from PIL import Image, ImageDraw

# (name, width, height, EXIF orientation): landscape and portrait, as cameras and phones store them.
SAMPLES = [
    ("sports-day-001.jpg", 4000, 3000, 1),
    ("sports-day-002.jpg", 3000, 4000, 1),
    ("sports-day-003.jpg", 4032, 3024, 6),  # a phone held upright: stored sideways, EXIF rotates
    ("sports-day-004.jpg", 1920, 1080, 3),
    ("sports-day-005.jpg", 2400, 1600, 8),
    ("sports-day-006.jpg", 1600, 1600, 1),
]


def make_sample(path: Path, width: int, height: int, orientation: int, seed: int) -> None:
    """Draw a colourful scene with a marker in the stored image's top-left corner."""
    rng = random.Random(seed)
    image = Image.new("RGB", (width, height))
    draw = ImageDraw.Draw(image)
    top, bottom = (rng.randrange(60, 200) for _ in range(2))
    for y in range(0, height, 8):
        shade = top + (bottom - top) * y // height
        draw.rectangle((0, y, width, y + 8), fill=(shade // 2, shade, 255 - shade // 2))
    for _ in range(24):
        x, y = rng.randrange(width), rng.randrange(height)
        r = rng.randrange(min(width, height) // 30, min(width, height) // 8)
        colour = tuple(rng.randrange(256) for _ in range(3))
        draw.ellipse((x - r, y - r, x + r, y + r), fill=colour)
    draw.rectangle((0, 0, width // 6, height // 6), fill=(230, 30, 30))
    exif = Image.Exif()
    exif[0x0112] = orientation  # Orientation
    exif[0x8769] = {0x9003: f"2026:10:10 10:{seed:02d}:00"}  # Exif IFD: DateTimeOriginal
    image.save(path, "JPEG", quality=88, exif=exif.tobytes())


def make_samples(folder: Path) -> list[Path]:
    """Write the demo photos into ``folder`` (created if needed) and return their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for seed, (name, width, height, orientation) in enumerate(SAMPLES):
        path = folder / name
        if not path.exists():
            make_sample(path, width, height, orientation, seed)
        paths.append(path)
    return paths
