"""The pixels of an on-the-fly transform: one photo to one size, fit, gravity and format.

A transform is planned in the full picture's displayed pixels (EXIF orientation applied): the
region to show (the whole frame, or a window placed by gravity) and the output size, never larger
than that region (no upscaling). It is then made from the cheapest source that still has enough
detail: a browsing rendition already large enough rather than the original
(:func:`choose_source`), decoded at 1/2, 1/4 or 1/8 inside the JPEG DCT when that still covers
the output (:meth:`bakusoku.imaging.decode.SourcePhoto.decode`), resampled with
:func:`bakusoku.imaging.shrink.shrink`. The output is upright 8-bit sRGB with only an sRGB ICC
profile (no EXIF, GPS or XMP), like every rendition. Sale previews carry a tiled watermark.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from PIL import Image, features

from bakusoku.imaging.color import srgb_icc_bytes
from bakusoku.imaging.decode import DEFAULT_MAX_PIXELS, open_photo
from bakusoku.imaging.shrink import shrink
from bakusoku.imaging.trim import Box, FaceBox, place_box
from bakusoku.imaging.watermark import Watermark, apply_watermark

Fit = Literal["contain", "cover", "crop"]
Gravity = Literal["centre", "face"]
TransformFormat = Literal["JPEG", "WEBP", "AVIF"]

FITS: tuple[Fit, ...] = ("contain", "cover", "crop")
GRAVITIES: tuple[Gravity, ...] = ("centre", "face")
CONTENT_TYPES: dict[TransformFormat, str] = {
    "JPEG": "image/jpeg",
    "WEBP": "image/webp",
    "AVIF": "image/avif",
}

# A rendition stands in for the original only with this much more detail than the output needs:
# resampling an already lossy, already resampled picture 1:1 would soften it visibly.
SOURCE_HEADROOM = 1.25
# WebP effort: on-the-fly outputs are made while a client waits and cached afterwards, so latency
# wins over the few per cent effort 4 saves (bench/imaging.py: 3.7x the time for ~5 % smaller).
_WEBP_METHOD = 0
# AVIF speed 0-10: 8 keeps a 400 px encode in tens of milliseconds on one core.
_AVIF_SPEED = 8


@dataclass(frozen=True, slots=True)
class Transform:
    """What to make: a bounding ``width`` x ``height`` in output pixels (either may be None with
    ``contain``), how the picture fits it, where a window sits, the format and its quality."""

    width: int | None
    height: int | None
    fit: Fit = "contain"
    gravity: Gravity = "centre"
    format: TransformFormat = "JPEG"
    quality: int = 80
    # Sale previews: tiled over the output (bakusoku.imaging.watermark).
    watermark: Watermark | None = None

    def __post_init__(self) -> None:
        if self.width is None and self.height is None:
            raise ValueError("a transform needs a width, a height or both")
        if any(v is not None and v < 1 for v in (self.width, self.height)):
            raise ValueError("a transform's width and height must be positive")
        if self.fit != "contain" and (self.width is None or self.height is None):
            raise ValueError(f"fit {self.fit!r} needs both a width and a height")
        if self.fit not in FITS or self.gravity not in GRAVITIES:
            raise ValueError(f"unknown fit {self.fit!r} or gravity {self.gravity!r}")
        if self.format not in CONTENT_TYPES:
            raise ValueError(f"unknown format {self.format!r}")
        if not 1 <= self.quality <= 100:
            raise ValueError("quality must be 1-100")


@dataclass(frozen=True, slots=True)
class Geometry:
    """The region of the full picture shown, and the output's pixel size."""

    region: Box
    size: tuple[int, int]

    @property
    def scale(self) -> float:
        """Output pixels per full-picture pixel (at most 1: never upscaled)."""
        return self.size[0] / (self.region[2] - self.region[0])


@dataclass(frozen=True, slots=True)
class SourceCandidate:
    """A stored file a transform may read: the original, or a full-frame rendition."""

    key: str
    width: int  # displayed width of the file; the full picture's width for the original
    content_type: str


@dataclass(frozen=True, slots=True)
class TransformedImage:
    data: bytes
    width: int
    height: int
    content_type: str


def plan(full: tuple[int, int], transform: Transform, faces: Sequence[FaceBox] = ()) -> Geometry:
    """Where the output comes from in a ``full``-sized picture and how large it is."""
    width, height = full
    kept = faces if transform.gravity == "face" else ()
    if transform.fit == "contain":
        scale = min(
            1.0,
            transform.width / width if transform.width else math.inf,
            transform.height / height if transform.height else math.inf,
        )
        return Geometry((0, 0, width, height), _scaled_size(width, height, scale))
    assert transform.width is not None and transform.height is not None
    if transform.fit == "crop":
        # A window of the output's size at full resolution: no resampling at all.
        region = place_box(width, height, (transform.width, transform.height), kept)
        return Geometry(region, (region[2] - region[0], region[3] - region[1]))
    region = place_box(
        width, height, _largest(width, height, transform.width, transform.height), kept
    )
    region_w, region_h = region[2] - region[0], region[3] - region[1]
    if transform.width >= region_w:
        return Geometry(region, (region_w, region_h))
    return Geometry(region, (transform.width, max(1, min(transform.height, region_h))))


def choose_source(
    original: SourceCandidate,
    renditions: Sequence[SourceCandidate],
    full_width: int,
    geometry: Geometry,
) -> SourceCandidate:
    """The smallest full-frame file with :data:`SOURCE_HEADROOM` more detail than the output
    needs, JPEG before WebP (JPEG decodes at 1/2-1/8 scale in the DCT); else the original."""
    needed = geometry.scale * SOURCE_HEADROOM * full_width
    usable = [r for r in renditions if r.width >= needed and r.width < original.width]
    if not usable:
        return original
    return min(usable, key=lambda r: (r.width, r.content_type != "image/jpeg"))


def render_transform(
    data: bytes,
    transform: Transform,
    *,
    full: tuple[int, int] | None = None,
    faces: Sequence[FaceBox] = (),
    max_pixels: int = DEFAULT_MAX_PIXELS,
    allow_tiff: bool = False,
) -> TransformedImage:
    """Make ``transform`` of the picture in ``data``.

    ``data`` is the original, or a full-frame rendition of it when ``full`` (the original's
    displayed size, which ``faces`` and the geometry refer to) is given. Raises an
    :class:`~bakusoku.imaging.errors.ImageError` subclass for bytes that do not decode.
    """
    photo = open_photo(data, max_pixels=max_pixels, allow_tiff=allow_tiff)
    info = photo.info
    full = full or (info.width, info.height)
    geometry = plan(full, transform, faces)
    # How many of this file's pixels the output needs per pixel: the DCT may drop the rest.
    file_scale = info.width / full[0]
    image = photo.decode(min(1.0, geometry.scale / file_scale))
    sx, sy = image.width / full[0], image.height / full[1]
    left, top, right, bottom = geometry.region
    box = (left * sx, top * sy, right * sx, bottom * sy)
    pixels = _resample(image, geometry.size, box)
    del image
    if transform.watermark is not None:
        # In place: these pixels (at most the decode itself) are held by nobody else.
        pixels = apply_watermark(pixels, transform.watermark)
    return _encode(pixels, transform)


@lru_cache(maxsize=1)
def avif_supported() -> bool:
    """Whether this Pillow can write AVIF (Pillow >= 11.3 built with libavif)."""
    return bool(features.check("avif"))


def _largest(width: int, height: int, ratio_w: int, ratio_h: int) -> tuple[int, int]:
    """The largest box of aspect ``ratio_w:ratio_h`` inside the picture."""
    if width * ratio_h > height * ratio_w:
        return min(width, max(1, round(height * ratio_w / ratio_h))), height
    return width, min(height, max(1, round(width * ratio_h / ratio_w)))


def _scaled_size(width: int, height: int, scale: float) -> tuple[int, int]:
    if scale >= 1.0:
        return width, height
    return max(1, round(width * scale)), max(1, round(height * scale))


def _resample(
    image: Image.Image, size: tuple[int, int], box: tuple[float, float, float, float]
) -> Image.Image:
    if (round(box[2] - box[0]), round(box[3] - box[1])) == size:
        # Same pixel size (a crop, or a DCT-scaled decode that landed exactly): no resampling.
        cropped = (round(box[0]), round(box[1]), round(box[0]) + size[0], round(box[1]) + size[1])
        return image if cropped == (0, 0, *image.size) else image.crop(cropped)
    return shrink(image, size, box)


def _encode(image: Image.Image, transform: Transform) -> TransformedImage:
    # Pillow copies the source's info (EXIF, XMP, GPS) into derived images; outputs carry none.
    image.info = {}
    buffer = io.BytesIO()
    icc = srgb_icc_bytes()
    if transform.format == "JPEG":
        image.save(buffer, "JPEG", quality=transform.quality, icc_profile=icc)
    elif transform.format == "WEBP":
        image.save(buffer, "WEBP", quality=transform.quality, method=_WEBP_METHOD, icc_profile=icc)
    else:
        image.save(buffer, "AVIF", quality=transform.quality, speed=_AVIF_SPEED, icc_profile=icc)
    return TransformedImage(
        buffer.getvalue(), image.width, image.height, CONTENT_TYPES[transform.format]
    )
