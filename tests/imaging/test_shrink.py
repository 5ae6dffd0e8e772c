"""Shrinking: a box reduction then a short resample looks like one Lanczos pass."""

import math

import pytest
from PIL import Image, ImageChops, ImageStat

from bakusoku.imaging.shrink import shrink
from tests.imaging.photos import noisy_picture


@pytest.mark.parametrize(
    ("box", "target"),
    [
        # 2000 / 534 is a hair under 3.75: one whole factor (3) for both axes all the same.
        ((0, 0, 3000, 2000), (800, 534)),
        # A print region off the origin, reduced with a margin so its edges resample correctly.
        ((146.0, 7.5, 2854.0, 1990.0), (700, 513)),
        # Too close for a box reduction: Lanczos alone.
        ((0, 0, 3000, 2000), (2000, 1333)),
    ],
)
def test_shrinking_matches_one_lanczos_pass(
    box: tuple[float, float, float, float], target: tuple[int, int]
) -> None:
    picture = noisy_picture(3000, 2000)
    ours = shrink(picture, target, box)
    reference = picture.resize(target, Image.Resampling.LANCZOS, box=box)
    assert ours.size == reference.size == target
    rms = ImageStat.Stat(ImageChops.difference(ours, reference)).rms
    psnr = 10 * math.log10(255**2 / max(1e-9, sum(r * r for r in rms) / len(rms)))
    assert psnr > 38, psnr
