"""Print trims cut from a JPEG original's blocks: upright, exact size, same pixels, sRGB, no EXIF."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageCms, ImageOps

from bakusoku.imaging import PRINT, THUMB, render_photo
from bakusoku.imaging.lossless import (
    LosslessUnavailable,
    jpeg_layout,
    lossless_available,
    lossless_print,
)
from tests.imaging.photos import encode, noisy_picture, stored_with_orientation

pytestmark = pytest.mark.skipif(
    lossless_available() is not None, reason="the 'lossless' extra is not installed here"
)

# Not a whole number of 16 px blocks either way: mirrored axes lose their partial edge block.
DISPLAYED = (1288, 968)
BOX = (101.4, 37.6, 101.4 + 623, 37.6 + 889)  # 89:127, off the block grid on purpose


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255**2 / mse)


@pytest.fixture(scope="module")
def displayed() -> Image.Image:
    return noisy_picture(*DISPLAYED)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_orientation_is_cut_upright_and_in_place(
    displayed: Image.Image, orientation: int
) -> None:
    data = stored_with_orientation(displayed, orientation)
    layout = jpeg_layout(data, orientation)

    cut = lossless_print(data, layout, BOX)

    printed = Image.open(io.BytesIO(cut.data))
    assert printed.size == (623, 889)
    left, top, right, bottom = cut.box
    assert (right - left, bottom - top) == (623, 889)
    assert abs(left - BOX[0]) < layout.block[0] and abs(top - BOX[1]) < layout.block[1]
    # The upright original's pixels over the same area: the coefficients are the original's, only
    # the decoder's rounding where blocks were mirrored differs.
    upright = ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB")
    assert _psnr(np.asarray(printed.convert("RGB")), np.asarray(upright.crop(cut.box))) > 40


def test_the_cut_carries_no_exif_and_an_srgb_profile(displayed: Image.Image) -> None:
    data = stored_with_orientation(displayed, 6)

    cut = lossless_print(data, jpeg_layout(data, 6), BOX)

    printed = Image.open(io.BytesIO(cut.data))
    assert not printed.getexif()
    profile = ImageCms.ImageCmsProfile(io.BytesIO(printed.info["icc_profile"]))
    assert "srgb" in (ImageCms.getProfileDescription(profile) or "").lower()


def test_an_untransformed_cut_decodes_to_the_originals_pixels(displayed: Image.Image) -> None:
    data = encode(displayed, "JPEG", quality=92)

    cut = lossless_print(data, jpeg_layout(data, 1), BOX)

    printed = np.asarray(Image.open(io.BytesIO(cut.data)).convert("RGB"))
    original = np.asarray(Image.open(io.BytesIO(data)).convert("RGB").crop(cut.box))
    same = np.all(printed == original, axis=2).mean()
    # Only the chroma upsampling at the cut's outer edge sees different neighbours.
    assert same > 0.98


def test_a_wide_gamut_original_is_refused_with_the_reason(displayed: Image.Image) -> None:
    lab = ImageCms.createProfile("LAB")
    data = encode(displayed, "JPEG", icc_profile=ImageCms.ImageCmsProfile(lab).tobytes())

    layout = jpeg_layout(data, 1)

    assert layout.reason is not None and "not sRGB" in layout.reason
    with pytest.raises(LosslessUnavailable, match="not sRGB"):
        lossless_print(data, layout, BOX)


def test_a_cmyk_original_is_refused_with_the_reason(displayed: Image.Image) -> None:
    data = encode(displayed.convert("CMYK"), "JPEG")

    assert "CMYK" in (jpeg_layout(data, 1).reason or "")


def test_render_photo_cuts_the_print_and_decodes_only_what_the_rest_needs() -> None:
    data = encode(noisy_picture(2400, 1600), "JPEG", quality=90)

    result = render_photo(data, [PRINT, THUMB])

    assert result.reencoded == {}
    printed = result.get("print")
    assert printed.data[:2] == b"\xff\xd8"
    left, top, right, bottom = result.crop_box
    assert (printed.width, printed.height) == (right - left, bottom - top)
    assert left % 16 == 0 and top % 16 == 0


def test_render_photo_says_why_a_print_was_reencoded(displayed: Image.Image) -> None:
    png = encode(displayed, "PNG")
    jpeg = encode(displayed, "JPEG")

    from_png = render_photo(png, [PRINT])
    switched_off = render_photo(jpeg, [PRINT], lossless_prints=False)

    assert "not JPEG" in from_png.reencoded["print"]
    assert "switched off" in switched_off.reencoded["print"]
