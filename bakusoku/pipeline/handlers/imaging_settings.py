"""The imaging choices of a deployment, read from its settings once per execution environment."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any, Literal

from bakusoku.config import ConfigError, Settings
from bakusoku.imaging import (
    PRINT,
    FaceDetector,
    RenditionSpec,
    load_face_detector,
    print_spec,
)

_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,31}$")
# Long edges at or above this get the preview's encoder settings, smaller ones the thumbnail's
# (quality, and WebP method 0 or 4: see RenditionSpec.webp_method).
_LARGE_EDGE = 1000


@dataclass(frozen=True)
class ImagingOptions:
    """Everything the handlers need to know about how photos are checked and rendered."""

    max_pixels: int
    min_print_short_edge: int
    allow_tiff: bool
    store_gps: bool
    mark_duplicates: bool
    face_detection: bool
    lossless_prints: bool
    square: Literal["portrait", "landscape"]
    print_specs: tuple[RenditionSpec, ...]
    browsing_specs: tuple[RenditionSpec, ...]

    def face_detector(self) -> FaceDetector | None:
        """The packaged face detector when enabled and installed, else ``None`` (centred trim)."""
        return load_face_detector() if self.face_detection else None


_FIELDS = (
    "max_image_pixels",
    "min_print_short_edge",
    "allow_tiff",
    "store_gps",
    "mark_duplicates",
    "face_detection",
    "lossless_prints",
    "square_print",
    "extra_prints",
    "browsing_renditions",
    "browsing_formats",
)


def imaging_options(settings: Settings) -> ImagingOptions:
    """Parse and validate the imaging settings; a bad value raises ConfigError naming it."""
    return _options(tuple(getattr(settings, name) for name in _FIELDS))


@functools.lru_cache(maxsize=8)
def _options(values: tuple[object, ...]) -> ImagingOptions:
    given: dict[str, Any] = dict(zip(_FIELDS, values, strict=True))
    square = str(given["square_print"]).strip().lower()
    if square not in ("portrait", "landscape"):
        raise ConfigError(
            f"setting 'square_print' has the bad value {given['square_print']!r}: "
            "use portrait or landscape"
        )
    if given["max_image_pixels"] < 1:
        raise ConfigError("setting 'max_image_pixels' must be at least 1")
    return ImagingOptions(
        max_pixels=given["max_image_pixels"],
        min_print_short_edge=given["min_print_short_edge"],
        allow_tiff=given["allow_tiff"],
        store_gps=given["store_gps"],
        mark_duplicates=given["mark_duplicates"],
        face_detection=given["face_detection"],
        lossless_prints=given["lossless_prints"],
        square="portrait" if square == "portrait" else "landscape",
        print_specs=(PRINT, *parse_extra_prints(given["extra_prints"])),
        browsing_specs=parse_browsing(given["browsing_renditions"], given["browsing_formats"]),
    )


def parse_extra_prints(text: str) -> list[RenditionSpec]:
    """``"print-2l=127:178,print-6x4=4:6"`` → full-resolution print renditions of those aspects."""
    specs: list[RenditionSpec] = []
    for name, value in _pairs(text, "extra_prints", "print-2l=127:178"):
        match = re.fullmatch(r"(\d{1,4})[:x](\d{1,4})", value)
        if not match or min(int(match[1]), int(match[2])) < 1:
            raise ConfigError(
                f"setting 'extra_prints': {name!r} has the aspect {value!r}; "
                "write it as two whole numbers, e.g. 127:178 (2L) or 4:6 (6x4 inch)"
            )
        specs.append(print_spec(name, (int(match[1]), int(match[2]))))
    _check_unique([PRINT.name, *(s.name for s in specs)], "extra_prints")
    return specs


def parse_browsing(renditions: str, formats: str) -> tuple[RenditionSpec, ...]:
    """``"preview=1600,thumb=400"`` in ``"jpeg,webp"`` → preview, preview-webp, thumb, thumb-webp."""
    kinds = [f.strip().lower() for f in formats.split(",") if f.strip()]
    unknown = sorted(set(kinds) - {"jpeg", "webp"})
    if unknown or not kinds:
        raise ConfigError(
            f"setting 'browsing_formats' has the bad value {formats!r}: use jpeg, webp or both"
        )
    specs: list[RenditionSpec] = []
    for name, value in _pairs(renditions, "browsing_renditions", "preview=1600"):
        if not value.isdigit() or not 16 <= int(value) <= 8192:
            raise ConfigError(
                f"setting 'browsing_renditions': {name!r} has the long edge {value!r}; "
                "give a whole number of pixels between 16 and 8192"
            )
        edge = int(value)
        large = edge >= _LARGE_EDGE
        if "jpeg" in kinds:
            specs.append(RenditionSpec(name, edge, "JPEG", 85 if large else 80))
        if "webp" in kinds:
            specs.append(
                RenditionSpec(
                    f"{name}-webp", edge, "WEBP", 80 if large else 75, webp_method=0 if large else 4
                )
            )
    _check_unique([PRINT.name, *(s.name for s in specs)], "browsing_renditions")
    return tuple(specs)


def _pairs(text: str, setting: str, example: str) -> list[tuple[str, str]]:
    pairs = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        name, sep, value = (piece.strip() for piece in item.partition("="))
        if not sep or not _NAME.match(name):
            raise ConfigError(
                f"setting {setting!r}: {item!r} is not name=value with a lower-case name of "
                f"letters, digits and dashes, e.g. {example}"
            )
        pairs.append((name, value))
    return pairs


def _check_unique(names: list[str], setting: str) -> None:
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ConfigError(f"setting {setting!r} repeats the rendition names {repeated}")
