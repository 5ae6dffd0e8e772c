"""Shared fixtures for the imaging tests."""

import io
from collections.abc import Callable

import pytest
from PIL import Image

from tests.imaging.photos import encode, noisy_picture


@pytest.fixture(scope="session")
def jpeg_12mp() -> bytes:
    return encode(noisy_picture(4000, 3000), "JPEG", quality=90)


@pytest.fixture
def open_output() -> Callable[[bytes], Image.Image]:
    def _open(data: bytes) -> Image.Image:
        im = Image.open(io.BytesIO(data))
        im.load()
        return im

    return _open
