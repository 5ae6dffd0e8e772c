"""Colour management: embedded profiles are honoured, every output is sRGB."""

import io

from PIL import Image

from bakusoku.imaging.color import srgb_icc_bytes, to_srgb
from bakusoku.imaging.decode import open_photo
from bakusoku.imaging.renditions import render_photo
from tests.imaging.icc import cmyk_profile, display_p3_profile
from tests.imaging.photos import encode


def _odd_press(c: int, m: int, y: int, k: int) -> tuple[float, float, float]:
    """A press whose cyan ink prints green: only an ICC-aware conversion can know that."""
    if k or c + m + y >= 2:
        return (10.0, 0.0, 0.0)
    return {
        (0, 0, 0): (100.0, 0.0, 0.0),
        (1, 0, 0): (60.0, -60.0, 40.0),
        (0, 1, 0): (55.0, 75.0, 0.0),
        (0, 0, 1): (90.0, -5.0, 90.0),
    }[(c, m, y)]


def test_display_p3_photo_is_converted_to_srgb() -> None:
    # P3 red at 180 is a more saturated red than sRGB 180: it must come out brighter in sRGB.
    im = Image.new("RGB", (64, 48), (180, 0, 0))
    data = encode(im, "PNG", icc_profile=display_p3_profile())
    r, g, b = open_photo(data).decode().getpixel((10, 10))  # type: ignore[misc]
    assert 192 <= r <= 206
    assert g <= 3 and b <= 3


def test_srgb_photo_is_left_alone() -> None:
    im = Image.new("RGB", (16, 16), (180, 40, 20))
    im.info["icc_profile"] = srgb_icc_bytes()
    assert to_srgb(im).getpixel((0, 0)) == (180, 40, 20)


def test_cmyk_jpeg_uses_its_embedded_profile() -> None:
    icc = cmyk_profile(_odd_press)
    data = encode(Image.new("CMYK", (32, 32), (255, 0, 0, 0)), "JPEG", quality=95, icc_profile=icc)
    r, g, b = open_photo(data).decode().getpixel((5, 5))  # type: ignore[misc]
    assert g > r + 80 and g > b + 60  # green, as the profile says; naive maths gives cyan
    white = encode(Image.new("CMYK", (32, 32), (0, 0, 0, 0)), "JPEG", icc_profile=icc)
    assert open_photo(white).decode().getpixel((5, 5)) == (255, 255, 255)


def test_broken_profile_is_ignored() -> None:
    im = Image.new("RGB", (16, 16), (10, 200, 30))
    data = encode(im, "PNG", icc_profile=b"\x00\x00\x01\x00not really a profile" + b"\x00" * 200)
    assert open_photo(data).decode().getpixel((3, 3)) == (10, 200, 30)


def test_cmyk_profile_on_rgb_image_is_ignored() -> None:
    im = Image.new("RGB", (16, 16), (10, 200, 30))
    data = encode(im, "PNG", icc_profile=cmyk_profile(_odd_press))
    assert open_photo(data).decode().getpixel((3, 3)) == (10, 200, 30)


def test_renditions_embed_srgb_after_conversion() -> None:
    data = encode(
        Image.new("RGB", (900, 600), (180, 0, 0)), "PNG", icc_profile=display_p3_profile()
    )
    for rendition in render_photo(data).renditions:
        im = Image.open(io.BytesIO(rendition.data))
        assert im.info["icc_profile"] == srgb_icc_bytes()
        r, _, _ = im.getpixel((5, 5))  # type: ignore[misc]
        assert r >= 190
