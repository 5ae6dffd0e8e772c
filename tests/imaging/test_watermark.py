"""Sale-preview watermarks on real pictures: tiled over the whole frame, at the opacity set."""

import io

import pytest
from PIL import Image, ImageChops, ImageStat

from bakusoku.imaging.transform import Transform, render_transform
from bakusoku.imaging.watermark import Watermark, apply_watermark
from tests.imaging.photos import encode, marked_picture

GREY = (128, 128, 128)


def changed_share(before: Image.Image, after: Image.Image) -> float:
    """The share of pixels the mark changed by more than a rounding error."""
    difference = ImageChops.difference(before, after).convert("L").point(lambda v: 255 * (v > 6))
    return ImageStat.Stat(difference).mean[0] / 255


def test_the_mark_is_tiled_over_every_part_of_the_picture() -> None:
    plain = Image.new("RGB", (900, 600), GREY)
    marked = apply_watermark(plain.copy(), Watermark("SAMPLE", 40))
    for col in range(3):
        for row in range(3):
            box = (col * 300, row * 200, (col + 1) * 300, (row + 1) * 200)
            share = changed_share(plain.crop(box), marked.crop(box))
            assert 0.03 < share < 0.6, (box, share)  # marked everywhere, yet mostly the picture


@pytest.mark.parametrize("background", [(10, 10, 10), (245, 245, 245)])
def test_the_mark_shows_on_dark_and_light_pictures(background: tuple[int, int, int]) -> None:
    plain = Image.new("RGB", (600, 400), background)
    marked = apply_watermark(plain.copy(), Watermark("SAMPLE", 50))
    assert changed_share(plain, marked) > 0.03


def test_opacity_sets_how_strongly_it_shows() -> None:
    plain = Image.new("RGB", (600, 400), GREY)
    faint = apply_watermark(plain.copy(), Watermark("SAMPLE", 10))
    strong = apply_watermark(plain.copy(), Watermark("SAMPLE", 80))
    assert ImageStat.Stat(ImageChops.difference(plain, faint)).mean[0] < (
        ImageStat.Stat(ImageChops.difference(plain, strong)).mean[0] / 3
    )


def test_a_watermarked_transform_differs_only_by_the_mark() -> None:
    data = encode(marked_picture(1200, 800), quality=95)
    plain = render_transform(data, Transform(600, None, format="WEBP", quality=95))
    marked = render_transform(
        data, Transform(600, None, format="WEBP", quality=95, watermark=Watermark("PROOF", 35))
    )
    assert (marked.width, marked.height) == (plain.width, plain.height) == (600, 400)
    before = Image.open(io.BytesIO(plain.data)).convert("RGB")
    after = Image.open(io.BytesIO(marked.data)).convert("RGB")
    assert 0.03 < changed_share(before, after) < 0.6


@pytest.mark.parametrize(("text", "opacity"), [("", 35), ("  ", 35), ("SAMPLE", 0), ("X", 101)])
def test_a_watermark_needs_text_and_an_opacity_in_range(text: str, opacity: int) -> None:
    with pytest.raises(ValueError):
        Watermark(text, opacity)
