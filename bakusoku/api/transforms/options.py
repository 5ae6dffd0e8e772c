"""The options segment of a transform URL: its grammar, named presets, bounds and format choice.

``w=400,h=300,fit=cover,g=face,dpr=2,f=auto,q=75`` or a preset, ``p=thumb``, which later options
may refine (``p=thumb,dpr=2``). Sizes are CSS pixels on a :data:`SIZE_STEP` grid up to
:data:`MAX_EDGE`; the device pixel ratio multiplies them, and the result may not exceed
:data:`MAX_OUTPUT_PIXELS`; quality is :data:`QUALITY_RANGE`. Presets are written here, so they may
use sizes off the grid (an exact print aspect). Parsing does no I/O.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Any, Literal, get_args

from bakusoku.errors import BakusokuError
from bakusoku.imaging.transform import FITS, GRAVITIES, Fit, Gravity, Transform, TransformFormat
from bakusoku.imaging.watermark import Watermark

RequestedFormat = Literal["auto", "jpeg", "webp", "avif"]

SIZE_STEP = 20
MAX_EDGE = 4000
MAX_OUTPUT_PIXELS = 16_000_000
DPRS = (1.0, 1.5, 2.0, 3.0)
QUALITY_RANGE = (30, 95)
MAX_OPTIONS_LENGTH = 200
# Watermarked previews are for browsing, never printing: no edge beyond this, dpr included.
PROOF_MAX_EDGE = 1200
_FORMATS: dict[str, TransformFormat] = {"jpeg": "JPEG", "webp": "WEBP", "avif": "AVIF"}
_NAMES = {"w", "h", "fit", "g", "dpr", "f", "q", "p"}
_PART = re.compile(r"([a-z]+)=([a-z0-9.-]+)")
# RFC 9110 12.4.2: 0 to 1, at most three decimals.
_WEIGHT = re.compile(r"0(\.[0-9]{0,3})?|1(\.0{0,3})?")


class TransformOptionsError(BakusokuError):
    """A transform URL asks for options we do not serve; the message names the one at fault."""

    code = "transform.bad_options"


@dataclass(frozen=True, slots=True)
class TransformOptions:
    """What a URL asks for, before the device pixel ratio and ``Accept`` are applied."""

    width: int | None = None
    height: int | None = None
    fit: Fit = "contain"
    gravity: Gravity = "centre"
    dpr: float = 1.0
    format: RequestedFormat = "auto"
    quality: int = 80
    preset: str | None = None
    # Set only by a preset (``proof``): no option of the URL can take it off.
    watermark: bool = False

    def canonical(self) -> str:
        """One spelling per meaning (presets expanded): what caches and ETags are keyed on."""
        parts = [f"w={self.width}" if self.width else "", f"h={self.height}" if self.height else ""]
        parts += [f"fit={self.fit}", f"g={self.gravity}", f"dpr={self.dpr:g}"]
        parts += [f"f={self.format}", f"q={self.quality}"]
        parts += ["wm=1"] if self.watermark else []
        return ",".join(p for p in parts if p)

    def to_transform(
        self, accept: str, avif: bool, watermark: Watermark | None = None
    ) -> Transform:
        """The pixels to make for a client that sends ``accept``; ``avif``: we can write AVIF;
        ``watermark``: the deployment's, put on when the options ask for one."""
        if self.watermark and watermark is None:
            raise TransformOptionsError("a watermarked preset needs the deployment's watermark")
        return Transform(
            width=_device(self.width, self.dpr),
            height=_device(self.height, self.dpr),
            fit=self.fit,
            gravity=self.gravity,
            format=negotiate(self.format, accept, avif),
            quality=self.quality,
            watermark=watermark if self.watermark else None,
        )


PRESETS: dict[str, TransformOptions] = {
    "thumb": TransformOptions(width=400, height=400, fit="contain", quality=75),
    "square": TransformOptions(width=400, height=400, fit="cover", gravity="face", quality=75),
    "preview": TransformOptions(width=1600, height=1600, fit="contain", quality=80),
    # What a parent browses before buying: limited in size and watermarked.
    "proof": TransformOptions(width=1000, height=1000, fit="contain", quality=75, watermark=True),
    # An L print (89 x 127 mm) cut around the faces, as the print trim does, at ~250 dpi.
    "print-l": TransformOptions(
        width=890, height=1270, fit="cover", gravity="face", format="jpeg", quality=90
    ),
}


OPTIONS_HELP = (
    f"Options: `w`/`h` (CSS pixels, multiples of {SIZE_STEP} up to {MAX_EDGE}), `fit`"
    f" ({', '.join(FITS)}), `g` ({', '.join(GRAVITIES)}), `dpr` ({', '.join(f'{d:g}' for d in DPRS)}),"
    f" `f` ({', '.join(get_args(RequestedFormat))}; auto follows the request's Accept), `q`"
    f" ({QUALITY_RANGE[0]}-{QUALITY_RANGE[1]}), or a preset `p` ({', '.join(PRESETS)}) that later"
    " options refine (a watermarked preset stays watermarked); e.g. `w=400,h=300,fit=cover,g=face,dpr=2,f=auto` or `p=thumb,dpr=2`."
)


def parse_options(segment: str) -> TransformOptions:
    """Parse and bound an options segment; :class:`TransformOptionsError` says what is wrong."""
    if not segment or len(segment) > MAX_OPTIONS_LENGTH:
        raise TransformOptionsError(
            f"transform options must be 1-{MAX_OPTIONS_LENGTH} characters, e.g. 'w=400,f=auto'"
        )
    values: dict[str, str] = {}
    for part in segment.split(","):
        match = _PART.fullmatch(part)
        if match is None or match.group(1) not in _NAMES or match.group(1) in values:
            raise TransformOptionsError(
                f"transform option {part[:40]!r} is not one of {sorted(_NAMES)} given once as"
                " name=value, e.g. 'w=400,h=300,fit=cover,g=face,dpr=2,f=auto,q=75' or 'p=thumb'"
            )
        values[match.group(1)] = match.group(2)
    base = _preset(values.pop("p")) if "p" in values else TransformOptions()
    options = dataclasses.replace(base, **_fields(values))
    _check(options, explicit=values)
    return options


def negotiate(requested: RequestedFormat, accept: str, avif: bool) -> TransformFormat:
    """``auto``: AVIF if the client takes it (and we can write it), else WebP, else JPEG."""
    if requested != "auto":
        return _FORMATS[requested]
    accepted = {
        media_type for media_type, weight in map(_media_range, accept.split(",")) if weight > 0
    }
    if avif and "image/avif" in accepted:
        return "AVIF"
    if "image/webp" in accepted:
        return "WEBP"
    return "JPEG"


def _media_range(part: str) -> tuple[str, float]:
    """A media range of ``Accept`` and its weight: ``q=0`` is "not acceptable" (RFC 9110
    12.4.2), and a weight that is not one (``q=high``, ``q=2``) takes nothing, so such a type
    falls back to JPEG, which every client shows."""
    media_type, *parameters = part.split(";")
    weight = 1.0
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "q":
            weight = _weight(value.strip())
    return media_type.strip().lower(), weight


def _weight(text: str) -> float:
    if not _WEIGHT.fullmatch(text):
        return 0.0
    return float(text)


def _preset(name: str) -> TransformOptions:
    if name not in PRESETS:
        raise TransformOptionsError(
            f"there is no transform preset {name!r}; presets are {', '.join(sorted(PRESETS))}"
        )
    return dataclasses.replace(PRESETS[name], preset=name)


def _fields(values: dict[str, str]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for name, attribute in (("w", "width"), ("h", "height"), ("q", "quality")):
        if name in values:
            fields[attribute] = _whole(values[name], name)
    if "fit" in values:
        fields["fit"] = _choice(values["fit"], FITS, "fit")
    if "g" in values:
        fields["gravity"] = _choice(values["g"], GRAVITIES, "g")
    if "f" in values:
        fields["format"] = _choice(values["f"], get_args(RequestedFormat), "f")
    if "dpr" in values:
        fields["dpr"] = _dpr(values["dpr"])
    return fields


def _check(options: TransformOptions, explicit: dict[str, str]) -> None:
    for name, value in (("w", options.width), ("h", options.height)):
        if value is None:
            continue
        # A preset's own sizes are ours; a size the URL spells out must be on the grid.
        on_grid = value % SIZE_STEP == 0 and SIZE_STEP <= value <= MAX_EDGE
        if (name in explicit or options.preset is None) and not on_grid:
            raise TransformOptionsError(
                f"{name}={value} is not served: sizes are multiples of {SIZE_STEP} from"
                f" {SIZE_STEP} to {MAX_EDGE} (CSS pixels; dpr multiplies them)"
            )
    if options.width is None and options.height is None:
        raise TransformOptionsError("a transform needs w, h or both (or a preset, p=thumb)")
    if options.fit != "contain" and (options.width is None or options.height is None):
        raise TransformOptionsError(f"fit={options.fit} needs both w and h")
    low, high = QUALITY_RANGE
    if not low <= options.quality <= high:
        raise TransformOptionsError(f"q={options.quality} is not served: quality is {low}-{high}")
    width = _device(options.width, options.dpr) or 1
    height = _device(options.height, options.dpr) or 1
    if options.watermark and max(width, height) > PROOF_MAX_EDGE:
        raise TransformOptionsError(
            f"a watermarked preview is at most {PROOF_MAX_EDGE} pixels on an edge (dpr included),"
            f" not {max(width, height)}"
        )
    if max(width, height) > MAX_EDGE or width * height > MAX_OUTPUT_PIXELS:
        raise TransformOptionsError(
            f"the output would be up to {width} x {height} pixels: at most {MAX_EDGE} on an edge"
            f" and {MAX_OUTPUT_PIXELS // 1_000_000} MP; ask for a smaller size or dpr"
        )


def _device(size: int | None, dpr: float) -> int | None:
    return None if size is None else round(size * dpr)


def _whole(text: str, name: str) -> int:
    if not text.isdigit() or len(text) > 5:
        raise TransformOptionsError(f"{name}={text!r} must be a whole number")
    return int(text)


def _choice(text: str, choices: tuple[str, ...], name: str) -> str:
    if text not in choices:
        raise TransformOptionsError(f"{name}={text!r} must be one of {', '.join(choices)}")
    return text


def _dpr(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if value not in DPRS:
        raise TransformOptionsError(
            f"dpr={text!r} must be one of {', '.join(f'{d:g}' for d in DPRS)}"
        )
    return value
