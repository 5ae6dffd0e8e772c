"""Geometry of the print trim: the largest 89:127 (L-size) box, centred or moved to keep faces.

:func:`place_box` is the placement rule alone, for a window of any size (face-gravity transforms).
"""

from collections.abc import Sequence
from typing import Literal

Box = tuple[int, int, int, int]
FaceBox = tuple[float, float, float, float]

# Faces are detected tighter than the head: keep some room for hair and chin when we can.
FACE_MARGIN = 0.25


def print_crop_box(
    width: int,
    height: int,
    aspect: tuple[int, int] = (89, 127),
    faces: Sequence[FaceBox] | None = None,
    square: Literal["portrait", "landscape"] = "portrait",
) -> Box:
    """Return ``(left, top, right, bottom)`` of the largest box of the print aspect in the image.

    ``aspect`` is given short side first; portrait pictures get a portrait box, landscape ones a
    landscape box, and squares follow ``square``. The box is centred on the free axis unless
    ``faces`` (boxes in the same pixel coordinates) are given: then it moves just enough to keep
    them all inside (with a margin when there is room), or centres on them when they cannot fit.
    """
    if width <= 0 or height <= 0:
        raise ValueError(f"image size must be positive, got {width}x{height}")
    short, long = sorted(aspect)
    if short <= 0:
        raise ValueError(f"aspect must be positive, got {aspect}")
    portrait = height > width or (height == width and square == "portrait")
    ratio_w, ratio_h = (short, long) if portrait else (long, short)

    # Compare width/height with the target ratio in integers to avoid float ties.
    if width * ratio_h > height * ratio_w:
        crop_h = height
        crop_w = min(width, max(1, round(height * ratio_w / ratio_h)))
    else:
        crop_w = width
        crop_h = min(height, max(1, round(width * ratio_h / ratio_w)))

    return place_box(width, height, (crop_w, crop_h), faces)


def place_box(
    width: int, height: int, size: tuple[int, int], faces: Sequence[FaceBox] | None = None
) -> Box:
    """Where a ``size`` window goes in a ``width`` x ``height`` picture: centred on each free axis,
    or moved just enough to keep ``faces`` inside (with a margin when there is room), or centred
    on them when they cannot all fit. The print trim and face-gravity transforms both use it.
    """
    crop_w, crop_h = min(size[0], width), min(size[1], height)
    heights = [f[3] - f[1] for f in faces or ()]
    left = _place(width, crop_w, [(f[0], f[2]) for f in faces or ()], heights)
    top = _place(height, crop_h, [(f[1], f[3]) for f in faces or ()], heights)
    return left, top, left + crop_w, top + crop_h


def _place(full: int, size: int, spans: list[tuple[float, float]], heights: list[float]) -> int:
    """Offset of a ``size`` window on a ``full``-pixel axis: centred, or keeping ``spans`` in."""
    slack = full - size
    centred = slack // 2
    if slack == 0 or not spans:
        return centred
    for margin in (FACE_MARGIN, 0.0):
        low = min(a - margin * h for (a, _), h in zip(spans, heights, strict=True))
        high = max(b + margin * h for (_, b), h in zip(spans, heights, strict=True))
        if high - low <= size:
            # Any offset in [high - size, low] keeps every face; take the one nearest the centre.
            earliest = max(0, min(slack, int(-(-(high - size) // 1))))
            latest = max(0, min(slack, int(low // 1)))
            return min(max(centred, earliest), latest)
    low = min(a for a, _ in spans)
    high = max(b for _, b in spans)
    return max(0, min(slack, round((low + high - size) / 2)))
