"""Watermarks for sale previews: a text tiled diagonally over the whole picture, at an opacity.

Tiled rather than placed in one corner, so no crop of the preview is clean; white letters with a
dark outline, so the mark shows on light and dark photos alike. Drawn once per output on a mask
the size of the picture, then blended in place (one extra 8-bit plane, no second RGB picture).
"""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFont

# Letter height as a fraction of the picture's short side, and the tile's gap around the text.
_TEXT_FRACTION = 0.08
_MIN_TEXT_PX = 10
_GAP = 1.0  # of the text's height
_ANGLE = 30  # degrees, counter-clockwise


@dataclass(frozen=True, slots=True)
class Watermark:
    """``text`` over the picture at ``opacity`` percent (1-100)."""

    text: str
    opacity: int = 35

    def __post_init__(self) -> None:
        if not self.text.strip():
            raise ValueError("a watermark needs some text")
        if not 1 <= self.opacity <= 100:
            raise ValueError("watermark opacity must be 1-100 (per cent)")


def apply_watermark(image: Image.Image, mark: Watermark) -> Image.Image:
    """Blend ``mark`` into ``image`` (RGB) in place and return it."""
    size = max(_MIN_TEXT_PX, round(min(image.size) * _TEXT_FRACTION))
    tile = _tile(mark.text, size)
    light, dark = _masks(image.size, tile)
    # The outline at half the opacity under the letters at the full opacity.
    image.paste((0, 0, 0), mask=dark.point(lambda v: v * mark.opacity // 200))
    image.paste((255, 255, 255), mask=light.point(lambda v: v * mark.opacity // 100))
    return image


def _tile(text: str, size: int) -> tuple[Image.Image, Image.Image]:
    """One rotated tile of the text: the letters' mask and their outline's mask."""
    font = ImageFont.load_default(size=size)
    stroke = max(1, size // 12)
    left, top, right, bottom = (round(v) for v in font.getbbox(text, stroke_width=stroke))
    gap = round(size * _GAP)
    box = (right - left + 2 * gap, bottom - top + 2 * gap)
    letters, outline = Image.new("L", box), Image.new("L", box)
    origin = (gap - left, gap - top)
    ImageDraw.Draw(outline).text(origin, text, 255, font, stroke_width=stroke, stroke_fill=255)
    ImageDraw.Draw(letters).text(origin, text, 255, font)
    return (
        letters.rotate(_ANGLE, Image.Resampling.BICUBIC, expand=True),
        outline.rotate(_ANGLE, Image.Resampling.BICUBIC, expand=True),
    )


def _masks(
    size: tuple[int, int], tile: tuple[Image.Image, Image.Image]
) -> tuple[Image.Image, Image.Image]:
    """The tile repeated over ``size``, every other row shifted by half a tile."""
    letters, outline = tile
    light, dark = Image.new("L", size), Image.new("L", size)
    step_x, step_y = letters.width, max(1, letters.height // 2)
    for row, y in enumerate(range(-step_y, size[1], step_y)):
        shift = (row % 2) * step_x // 2
        for x in range(-step_x + shift, size[0], step_x):
            light.paste(letters, (x, y), letters)
            dark.paste(outline, (x, y), outline)
    return light, dark
