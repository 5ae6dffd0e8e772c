"""Shrink a region of a picture to a size, fast and as sharp as one Lanczos pass.

A large shrink first averages whole blocks of pixels (one factor for both axes), then resamples the
last 1.25-1.9x bicubic; a small shrink is one Lanczos pass. The renditions are made with it
(:mod:`bakusoku.imaging.renditions`).
"""

import math

from PIL import Image

# A shrink first box-reduces by a whole factor, then resamples the last >= ~1.25x. For 12 MP ->
# 1600 px that is 2x box + 1.25x: 52 ms instead of 142 ms for one Lanczos pass.
_REDUCING_GAP = 1.25
# That last step shrinks 1.25-1.9x: bicubic there is 48 dB PSNR from one full Lanczos pass
# (invisible; the JPEG and WebP encodes lose ~30 dB) and reads 5 pixels per output pixel instead
# of 7.5: 40 ms instead of 52 for the 1600 px preview of 12 MP.
_AFTER_REDUCE = Image.Resampling.BICUBIC
# Lanczos reads 3 source pixels (at the output's scale) either side of each output pixel.
_LANCZOS_SUPPORT = 3.0


def shrink(
    image: Image.Image, size: tuple[int, int], box: tuple[float, float, float, float]
) -> Image.Image:
    """Resample ``box`` of ``image`` to ``size``: box-reduce by a whole factor, then bicubic; or,
    when the shrink is too small for a reduction, one Lanczos pass.

    The factor is the same for both axes and comes from the larger of the two ratios. Pillow's own
    ``reducing_gap`` picks one per axis from the rounded target size, so 6000x4000 -> 1600x1067
    (4000 / 1067 is a hair under 3.75) reduces 3x2 instead of 3x3: the uneven reduce takes the
    slow path and leaves Lanczos a 2000x2000 picture to shrink 1.9x vertically, 1.35x the time.
    """
    ratio = max((box[2] - box[0]) / size[0], (box[3] - box[1]) / size[1])
    factor = int(ratio / _REDUCING_GAP)
    last_step = Image.Resampling.LANCZOS
    if factor > 1:
        last_step = _AFTER_REDUCE
        # Reduce a little beyond the box, so Lanczos still sees the pixels around its edges.
        reach = (_LANCZOS_SUPPORT - 0.5) * ratio
        safe = (
            max(0, int(box[0] - reach)),
            max(0, int(box[1] - reach)),
            min(image.width, math.ceil(box[2] + reach)),
            min(image.height, math.ceil(box[3] + reach)),
        )
        image = image.reduce(factor, box=safe)
        box = (
            (box[0] - safe[0]) / factor,
            (box[1] - safe[1]) / factor,
            (box[2] - safe[0]) / factor,
            (box[3] - safe[1]) / factor,
        )
    return image.resize(size, last_step, box=box)
