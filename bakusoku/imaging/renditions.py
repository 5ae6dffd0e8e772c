"""Turn one upload into its print, preview and thumbnail files with a single decode.

How the pixels are made, cheapest first:

- **One decode.** The file is decoded once, at the smallest scale the largest output needs. With
  only small outputs asked for (no print), a JPEG is decoded at 1/2, 1/4 or 1/8 size inside the DCT
  (libjpeg's scaled decoding via ``Image.draft``), which skips most of the inverse-DCT work and
  memory. With a print at full resolution in the set, as in the pipeline, the decode is full size
  and the small outputs are made from it: a second, DCT-scaled decode of the same file re-reads
  and entropy-decodes every byte again and, measured on camera-like JPEGs, costs about as much
  CPU at 12 MP and ~30 % more at 24 MP than one full decode and the cascade below.
- **A cascade.** Outputs are made largest first; each one is resampled from the smallest image
  already made that covers its region with at least :data:`_CASCADE_MIN_RATIO` times its pixels
  (thumb from preview, placeholder from thumb), never from the full picture twice.
- **Box reduction, then a short resample.** A large shrink first averages whole blocks of pixels
  (one factor for both axes), then bicubic resamples the last 1.25-1.9x; a small shrink is one
  Lanczos pass: see :func:`bakusoku.imaging.shrink.shrink`.
- **Kept buffers.** Freed pixel memory stays in the process for the next photo
  (:mod:`bakusoku.imaging.memory`).
- **Two full-size pictures at most.** The decode is handed over and freed as soon as nothing
  needs it: full-frame outputs, faces and the placeholder first, then the print crops one at a
  time, the decode let go before the last one is encoded (the bound is
  :func:`bakusoku.imaging.memory.peak_bytes`).
- **Shared pixels.** The same region and size in two formats (preview JPEG and WebP) is resampled
  once; a full-resolution print is a crop of the decoded picture, not a resample.
"""

import io
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from PIL import Image

from bakusoku.imaging.color import srgb_icc_bytes
from bakusoku.imaging.decode import DEFAULT_MAX_PIXELS, ImageInfo, open_photo, probe
from bakusoku.imaging.faces import DETECTION_EDGE, FaceDetector, face_crop
from bakusoku.imaging.lossless import (
    EDGE_BLOCK,
    JpegLayout,
    LosslessUnavailable,
    fits,
    jpeg_layout,
    lossless_available,
    lossless_print,
)
from bakusoku.imaging.memory import give_back, keep_pixel_memory, peak_bytes
from bakusoku.imaging.placeholder import placeholder
from bakusoku.imaging.shrink import shrink
from bakusoku.imaging.trim import Box, FaceBox, print_crop_box

__all__ = [
    "BROWSING_SPECS",
    "DEFAULT_SPECS",
    "PREVIEW",
    "PREVIEW_WEBP",
    "PRINT",
    "THUMB",
    "THUMB_WEBP",
    "WEBP_SPECS",
    "PhotoResult",
    "Rendition",
    "RenditionSpec",
    "print_spec",
    "probe",
    "render_photo",
]

OutputFormat = Literal["JPEG", "WEBP"]

_CONTENT_TYPES: dict[OutputFormat, str] = {"JPEG": "image/jpeg", "WEBP": "image/webp"}

# A resize reads from an earlier, smaller rendition only when that one is at least this many times
# larger than the target; closer than that, resampling twice would visibly soften the result.
_CASCADE_MIN_RATIO = 2.0


@dataclass(frozen=True, slots=True)
class RenditionSpec:
    """One file to produce: ``long_edge=None`` keeps full resolution (never upscaled anyway)."""

    name: str
    long_edge: int | None
    format: OutputFormat = "JPEG"
    quality: int = 85
    crop_to_print: bool = False
    # Progressive JPEG loads gracefully on the web and is ~10 % smaller, but costs 4-6x the encode
    # time of baseline; some print kiosks only take baseline files.
    progressive: bool = True
    # Optimised Huffman tables save ~4 % on a 12 MP baseline file for ~3x its encode time (38 ms
    # -> 110 ms); progressive files are always optimised.
    optimize: bool = False
    # WebP effort 0-6, chosen by measurement (bench/imaging.py prints the table). A 1600 px preview
    # of a 12 MP camera photo at q80: method 0 68 ms 444 KB, 2 134 ms 441 KB, 4 (Pillow's default)
    # 255 ms 419 KB, 6 620 ms 411 KB, all 30.3 dB PSNR. So large outputs use 0 (3.7x faster than 4,
    # 6 % larger); a 400 px thumb costs 20 ms at 4 (4 % smaller than 0), so small ones use 4.
    webp_method: int = 4
    # Print aspect, short side first, for ``crop_to_print``; None: the photo's main print aspect.
    aspect: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        if self.long_edge is not None and self.long_edge < 1:
            raise ValueError(f"rendition {self.name!r}: long_edge must be positive")
        if not 1 <= self.quality <= 100:
            raise ValueError(f"rendition {self.name!r}: quality must be 1-100")
        if self.format not in _CONTENT_TYPES:
            raise ValueError(f"rendition {self.name!r}: format must be JPEG or WEBP")
        if self.aspect is not None and (len(self.aspect) != 2 or min(self.aspect) < 1):
            raise ValueError(f"rendition {self.name!r}: aspect must be two positive integers")
        if not 0 <= self.webp_method <= 6:
            raise ValueError(f"rendition {self.name!r}: webp_method must be 0-6")


PRINT = RenditionSpec("print", None, "JPEG", 90, crop_to_print=True, progressive=False)
PREVIEW = RenditionSpec("preview", 1600, "JPEG", 85)
THUMB = RenditionSpec("thumb", 400, "JPEG", 80)
PREVIEW_WEBP = RenditionSpec("preview-webp", 1600, "WEBP", 80, webp_method=0)
THUMB_WEBP = RenditionSpec("thumb-webp", 400, "WEBP", 75, webp_method=4)

WEBP_SPECS: tuple[RenditionSpec, ...] = (PREVIEW_WEBP, THUMB_WEBP)
BROWSING_SPECS: tuple[RenditionSpec, ...] = (PREVIEW, PREVIEW_WEBP, THUMB, THUMB_WEBP)
DEFAULT_SPECS: tuple[RenditionSpec, ...] = (PRINT, *BROWSING_SPECS)


def print_spec(name: str, aspect: tuple[int, int], quality: int = 90) -> RenditionSpec:
    """An extra print rendition at full resolution, e.g. ``print_spec("print-2l", (127, 178))``."""
    return RenditionSpec(
        name,
        None,
        "JPEG",
        quality,
        crop_to_print=True,
        progressive=False,
        aspect=(min(aspect), max(aspect)),
    )


@dataclass(frozen=True, slots=True)
class Rendition:
    """One encoded output file; it carries no EXIF, GPS or XMP, only an sRGB ICC profile."""

    name: str
    data: bytes = field(repr=False)
    width: int
    height: int
    content_type: str
    byte_size: int


@dataclass(frozen=True, slots=True)
class PhotoResult:
    """Everything produced from one upload."""

    info: ImageInfo
    renditions: list[Rendition]
    # The main print aspect's trim box, in displayed pixels of the full picture.
    crop_box: Box
    # Base64 ThumbHash of the full frame, painted by pages while the preview loads.
    placeholder: str | None = None
    # The trim box of every print rendition, by name.
    crop_boxes: dict[str, Box] = field(default_factory=dict)
    # Faces the trim kept in frame (displayed pixels); None when no detection ran.
    faces: list[FaceBox] | None = None
    # Why each print was re-encoded from the decode; a print not named here was cut losslessly.
    reencoded: dict[str, str] = field(default_factory=dict)
    # With ``crop_faces``: each face and its cut for matching (JPEG; None: too small to match),
    # from the full-resolution decode.
    face_crops: list[tuple[FaceBox, bytes | None]] = field(default_factory=list)

    def get(self, name: str) -> Rendition:
        for rendition in self.renditions:
            if rendition.name == name:
                return rendition
        raise KeyError(name)


@dataclass(slots=True)
class _Plan:
    spec: RenditionSpec
    region: Box
    size: tuple[int, int]

    @property
    def scale(self) -> float:
        return self.size[0] / (self.region[2] - self.region[0])


@dataclass(slots=True)
class _Source:
    image: Image.Image
    region: Box
    scale_x: float
    scale_y: float

    def contains(self, box: Box) -> bool:
        left, top, right, bottom = self.region
        return left <= box[0] and top <= box[1] and box[2] <= right and box[3] <= bottom


def render_photo(
    data: bytes,
    specs: Sequence[RenditionSpec] = DEFAULT_SPECS,
    *,
    faces: Sequence[FaceBox] | None = None,
    detector: FaceDetector | None = None,
    aspect: tuple[int, int] = (89, 127),
    square: Literal["portrait", "landscape"] = "portrait",
    max_pixels: int = DEFAULT_MAX_PIXELS,
    allow_tiff: bool = False,
    with_placeholder: bool = True,
    lossless_prints: bool = True,
    crop_faces: bool = False,
) -> PhotoResult:
    """Decode ``data`` once and produce every rendition in ``specs`` (in that order).

    ``faces`` are ``(left, top, right, bottom)`` boxes in displayed pixels of the full picture (EXIF
    orientation applied); the print trim keeps them inside when it can. Without ``faces``, a
    ``detector`` finds them (only when a print rendition is asked for) on the smallest full-frame
    output at least :data:`~bakusoku.imaging.faces.DETECTION_EDGE` long, else on the decode.
    With ``lossless_prints``, full-resolution prints of a JPEG original are cut on its blocks
    without re-encoding (:mod:`bakusoku.imaging.lossless`), and the decode then only needs the
    detail of the other outputs.     With ``crop_faces``, each face is also cut from the decode for matching (the face index reads
    them): the same detection and the same pixels, no second decode.
    Raises an :class:`~bakusoku.imaging.errors.ImageError` subclass for unusable uploads.
    """
    names = [spec.name for spec in specs]
    if len(set(names)) != len(names):
        raise ValueError(f"rendition names must be unique, got {names}")
    keep_pixel_memory()  # this process renders photo after photo: reuse the buffers
    photo = open_photo(data, max_pixels=max_pixels, allow_tiff=allow_tiff)
    info = photo.info
    full: Box = (0, 0, info.width, info.height)

    def trim(spec_aspect: tuple[int, int] | None, found: Sequence[FaceBox] | None) -> Box:
        return print_crop_box(info.width, info.height, spec_aspect or aspect, found, square)

    prints = [s for s in specs if s.crop_to_print]
    # The trim's size does not depend on where faces are, so both which prints can be cut without
    # decoding and the decode scale the rest need are known up front.
    layout, reencoded = _lossless_plan(data, info, prints, trim, enabled=lossless_prints)
    cut = [s for s in prints if s.name not in reencoded]
    centred = [
        _plan(s, trim(s.aspect, None) if s.crop_to_print else full) for s in specs if s not in cut
    ]
    # The largest output decides how much detail the decode must keep (JPEG scales in the DCT),
    # and with it the most memory this photo can take (the bound in imaging.memory).
    # With every output a lossless cut, the decode serves only face detection and the placeholder.
    min_scale = max((plan.scale for plan in centred), default=_detection_scale(info))
    if faces is None and detector is not None and prints:
        # Faces are looked for, and their boxes used, at the original's full detail.
        min_scale = 1.0
    peak = peak_bytes(photo.plan(min_scale).pixels, info.byte_size)
    image = photo.decode(min_scale)
    # From here on ``sources`` holds the only reference to the decode, so it can be let go.
    sources = [_Source(image, full, image.width / info.width, image.height / info.height)]
    del image
    made: dict[str, Rendition] = {}
    # Full-frame outputs first: faces are looked for on one of them, and the prints come last so
    # that the decode is freed before the last print is encoded.
    _make_whole([plan for plan in centred if not plan.spec.crop_to_print], sources, made)
    if faces is None and detector is not None and prints:
        # Faces move only the prints: look on the smallest full-frame output the detector can
        # use rather than shrinking the full decode again.
        seen = _detection_source(sources, full)
        faces = _scaled(detector.detect(seen.image), 1 / seen.scale_x)
    crop_boxes = {s.name: trim(s.aspect, faces) for s in prints}
    # Cut before the prints: they free the decode, and the cuts want its full resolution.
    decode = sources[0]
    cuts = (
        [(f, face_crop(decode.image, f, decode.scale_x)) for f in faces or ()] if crop_faces else []
    )
    del decode
    hashed = _placeholder(sources, full) if with_placeholder else None
    _make_prints([_plan(s, crop_boxes[s.name]) for s in prints if s not in cut], sources, made)
    sources.clear()  # no pixel buffer is left in use
    # Cut with the decode gone: libjpeg's coefficient arrays (~3 bytes a pixel) take its place.
    for spec in cut:
        _cut_print(spec, data, layout, crop_boxes, made, reencoded, max_pixels, allow_tiff)
    give_back(peak)
    main = [s.name for s in prints if s.aspect is None]
    return PhotoResult(
        info=info,
        renditions=[made[s.name] for s in specs],
        crop_box=crop_boxes[main[0]] if main else trim(None, faces),
        placeholder=hashed,
        crop_boxes=crop_boxes,
        faces=None if faces is None else list(faces),
        reencoded=reencoded,
        face_crops=cuts,
    )


def _lossless_plan(
    data: bytes,
    info: ImageInfo,
    prints: Sequence[RenditionSpec],
    trim: Callable[[tuple[int, int] | None, Sequence[FaceBox] | None], Box],
    *,
    enabled: bool,
) -> tuple[JpegLayout | None, dict[str, str]]:
    """The original's JPEG layout, and why each print that cannot be cut losslessly is not."""
    reason: str | None = None
    layout: JpegLayout | None = None
    if not enabled:
        reason = "lossless print cuts are switched off (lossless_prints: false)"
    elif info.format != "JPEG":
        reason = f"the original is {info.format}, not JPEG: its print is encoded from the decode"
    else:
        reason = lossless_available()
    if reason is None:
        layout = jpeg_layout(data, info.orientation)
        reason = layout.reason
    reencoded: dict[str, str] = {}
    for spec in prints:
        if reason is not None:
            reencoded[spec.name] = reason
        elif spec.long_edge is not None:
            reencoded[spec.name] = "the print is resized, not a plain crop of the original"
        elif layout is not None and not fits(layout, _box_size(trim(spec.aspect, None))):
            reencoded[spec.name] = EDGE_BLOCK
    return layout, reencoded


def _cut_print(
    spec: RenditionSpec,
    data: bytes,
    layout: JpegLayout | None,
    crop_boxes: dict[str, Box],
    made: dict[str, Rendition],
    reencoded: dict[str, str],
    max_pixels: int,
    allow_tiff: bool,
) -> None:
    """Cut one print losslessly; if the transform refuses, decode again and encode it as before."""
    assert layout is not None  # only planned cuts get here
    try:
        result = lossless_print(data, layout, crop_boxes[spec.name])
    except LosslessUnavailable as refused:
        reencoded[spec.name] = str(refused)
        image = open_photo(data, max_pixels=max_pixels, allow_tiff=allow_tiff).decode()
        source = _Source(image, (0, 0, image.width, image.height), 1.0, 1.0)
        made[spec.name] = _encode(spec, _resample(_plan(spec, crop_boxes[spec.name]), [source]))
        return
    crop_boxes[spec.name] = result.box
    width, height = _box_size(result.box)
    made[spec.name] = Rendition(
        name=spec.name,
        data=result.data,
        width=width,
        height=height,
        content_type=_CONTENT_TYPES["JPEG"],
        byte_size=len(result.data),
    )


def _detection_scale(info: ImageInfo) -> float:
    return min(1.0, DETECTION_EDGE / max(info.width, info.height))


def _box_size(box: Box) -> tuple[int, int]:
    return round(box[2] - box[0]), round(box[3] - box[1])


def _make_whole(plans: Sequence[_Plan], sources: list[_Source], made: dict[str, Rendition]) -> None:
    """Encode full-frame outputs, largest first, each resampled from the smallest source that
    has enough detail; every one becomes a source for the next."""
    # The same pixels in two formats (preview as JPEG and WebP) are resampled once.
    resampled: dict[tuple[Box, tuple[int, int]], Image.Image] = {}
    for plan in sorted(plans, key=lambda p: p.scale, reverse=True):
        pixels = resampled.get((plan.region, plan.size))
        if pixels is None:
            pixels = _resample(plan, sources)
            resampled[plan.region, plan.size] = pixels
            sources.append(
                _Source(
                    pixels,
                    plan.region,
                    pixels.width / (plan.region[2] - plan.region[0]),
                    pixels.height / (plan.region[3] - plan.region[1]),
                )
            )
        made[plan.spec.name] = _encode(plan.spec, pixels)


def _make_prints(
    plans: Sequence[_Plan], sources: list[_Source], made: dict[str, Rendition]
) -> None:
    """Encode the print crops one region at a time, each freed once encoded, and empty
    ``sources`` before the last one is encoded: the decode and one crop are the most ever alive
    (:func:`bakusoku.imaging.memory.peak_bytes`)."""
    regions: dict[tuple[Box, tuple[int, int]], list[_Plan]] = {}
    for plan in sorted(plans, key=lambda p: p.scale, reverse=True):
        regions.setdefault((plan.region, plan.size), []).append(plan)
    for index, same in enumerate(regions.values()):
        pixels = _resample(same[0], sources)
        if index == len(regions) - 1:
            sources.clear()
        for plan in same:
            made[plan.spec.name] = _encode(plan.spec, pixels)
        del pixels


def _detection_source(sources: list[_Source], full: Box) -> _Source:
    """The smallest full-frame image with at least the detector's working size, else the decode."""
    usable = [s for s in sources if s.region == full and max(s.image.size) >= DETECTION_EDGE]
    return min(usable, key=lambda s: s.image.width) if usable else sources[0]


def _scaled(faces: Sequence[FaceBox], factor: float) -> list[FaceBox]:
    """Face boxes found on a smaller copy of the picture, in pixels of the full picture."""
    if factor == 1.0:
        return list(faces)
    return [(a * factor, b * factor, c * factor, d * factor) for a, b, c, d in faces]


def _plan(spec: RenditionSpec, region: Box) -> _Plan:
    width, height = region[2] - region[0], region[3] - region[1]
    long = max(width, height)
    target = long if spec.long_edge is None else min(spec.long_edge, long)
    if target == long:
        return _Plan(spec, region, (width, height))
    scale = target / long
    return _Plan(spec, region, (max(1, round(width * scale)), max(1, round(height * scale))))


def _resample(plan: _Plan, sources: list[_Source]) -> Image.Image:
    source = _pick_source(plan, sources)
    left, top, right, bottom = plan.region
    box = (
        (left - source.region[0]) * source.scale_x,
        (top - source.region[1]) * source.scale_y,
        (right - source.region[0]) * source.scale_x,
        (bottom - source.region[1]) * source.scale_y,
    )
    if (round(box[2] - box[0]), round(box[3] - box[1])) == plan.size:
        # Same pixel size: a plain crop, no resampling (the full-resolution print).
        cropped = (round(box[0]), round(box[1]), round(box[2]), round(box[3]))
        if cropped == (0, 0, source.image.width, source.image.height):
            return source.image
        with warnings.catch_warnings():
            # Pillow warns about crops past 89.5 MP; the photo passed our own pixel limit already.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            return source.image.crop(cropped)
    return shrink(source.image, plan.size, box)


def _pick_source(plan: _Plan, sources: list[_Source]) -> _Source:
    """The smallest earlier image that covers the region with enough pixels to spare."""
    best = sources[0]
    for source in sources[1:]:
        if (
            source.contains(plan.region)
            and source.scale_x >= plan.scale * _CASCADE_MIN_RATIO
            and source.scale_x < best.scale_x
        ):
            best = source
    return best


def _placeholder(sources: list[_Source], full: Box) -> str:
    # The smallest full-frame image we already have: shrinking it to 32 px is almost free.
    frames = [s for s in sources if s.region == full]
    return placeholder(min(frames, key=lambda s: s.image.width).image)


def _encode(spec: RenditionSpec, image: Image.Image) -> Rendition:
    # Pillow copies the source's info (EXIF, XMP, GPS) into derived images; renditions carry none.
    image.info = {}
    buffer = io.BytesIO()
    if spec.format == "JPEG":
        image.save(
            buffer,
            "JPEG",
            quality=spec.quality,
            optimize=spec.optimize,
            progressive=spec.progressive,
            icc_profile=srgb_icc_bytes(),
        )
    else:
        image.save(
            buffer,
            "WEBP",
            quality=spec.quality,
            method=spec.webp_method,
            icc_profile=srgb_icc_bytes(),
        )
    data = buffer.getvalue()
    return Rendition(
        name=spec.name,
        data=data,
        width=image.width,
        height=image.height,
        content_type=_CONTENT_TYPES[spec.format],
        byte_size=len(data),
    )
