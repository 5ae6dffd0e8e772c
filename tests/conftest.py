"""Fixtures shared by every test (real images made on the fly), and each test's kind by place."""

from __future__ import annotations

import io
import socket
import uuid
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

# The kind of every test in these directories (tests/README.md); a test file elsewhere that starts
# servers or processes says so itself, with ``pytestmark = pytest.mark.integration``.
KINDS_BY_DIRECTORY = {
    "e2e": ("e2e", "integration"),
    "browser": ("browser", "integration"),
    "faults": ("faults", "integration"),
    "db": ("integration",),  # MariaDB and PostgreSQL servers, as well as SQLite files
    "runtime": ("integration",),  # handlers run in real worker processes
}
TESTS = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if not item.path.is_relative_to(TESTS):
            continue
        directory = item.path.relative_to(TESTS).parts[0]
        for kind in KINDS_BY_DIRECTORY.get(directory, ()):
            item.add_marker(kind)


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
