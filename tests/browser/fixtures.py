"""Real photos for the browser tests: small landscapes in many palettes, and one cut-off JPEG."""

from __future__ import annotations

import io
import random
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageOps

PALETTES = [
    ((255, 183, 94), (88, 40, 120), (52, 70, 60)),
    ((140, 200, 255), (250, 250, 255), (60, 120, 70)),
    ((255, 120, 90), (255, 220, 150), (90, 60, 50)),
    ((30, 40, 90), (200, 110, 160), (20, 30, 40)),
    ((120, 210, 220), (240, 250, 230), (200, 170, 110)),
    ((250, 200, 210), (160, 120, 200), (80, 70, 110)),
    ((255, 230, 160), (120, 180, 230), (70, 110, 60)),
    ((10, 20, 60), (90, 60, 140), (15, 15, 30)),
]


def landscape(index: int, width: int, height: int) -> Image.Image:
    """A sky gradient, a sun and rolling hills: varied, photo-like, quick to make."""
    rng = random.Random(index)
    top, bottom, ground = PALETTES[index % len(PALETTES)]
    sky = ImageOps.colorize(Image.linear_gradient("L").resize((width, height)), top, bottom)
    image = sky.convert("RGB")
    draw = ImageDraw.Draw(image)
    radius = rng.randint(width // 14, width // 8)
    cx, cy = rng.randint(radius, width - radius), rng.randint(height // 8, height // 2)
    draw.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), fill=(255, 244, 214))
    for layer in range(3):
        shade = tuple(max(0, min(255, c + 25 * (2 - layer) - 10)) for c in ground)
        base = height * (0.58 + 0.12 * layer)
        points = [(0, height)]
        for x in range(0, width + 80, 80):
            points.append((x, base + rng.randint(-height // 14, height // 14)))
        points.append((width, height))
        draw.polygon(points, fill=shade)
    return image.filter(ImageFilter.GaussianBlur(1.2))


def jpeg_bytes(image: Image.Image, *, taken: str = "2026:10:10 09:30:00") -> bytes:
    exif = Image.Exif()
    exif[0x8769] = {0x9003: taken}
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85, exif=exif.tobytes())
    return out.getvalue()


def make_event_photos(folder: Path, count: int = 20, corrupt_index: int = 13) -> list[Path]:
    """``count`` JPEGs in ``folder``; the one at ``corrupt_index`` is cut off (image.corrupt)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        width, height = (1600, 1200) if i % 3 else (1200, 1600)
        data = jpeg_bytes(landscape(i, width, height), taken=f"2026:10:10 09:{30 + i:02d}:00")
        name = f"sports-day-{i + 1:03d}.jpg"
        if i == corrupt_index:
            data = data[: len(data) // 3]
            name = f"sports-day-{i + 1:03d}-cut.jpg"
        path = folder / name
        path.write_bytes(data)
        paths.append(path)
    return paths
