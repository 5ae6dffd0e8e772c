"""Finisher certificates: a runner's finish photo, trimmed face-safe, with the race and the result.

A design is a file (``designs/*.json``): where the photo goes, bands of colour, and text slots with
a format (``{name}``, ``{bib}``, ``{net_time}``, ``{placing}``, ...), a box, a size and a colour, all
in fractions of the page, so one design fills every print size. Text is set in IPAexGothic, which
ships in this package (``fonts/``, IPA Font License v1.0: redistribution and commercial use
allowed): Japanese and Latin alike, never tofu. A certificate is a print-ready JPEG at 300 dpi (L:
89 x 127 mm, 2L: 127 x 178 mm) and a PDF of the same page.
"""

from __future__ import annotations

import io
import json
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from PIL import Image, ImageColor, ImageDraw, ImageFont

from bakusoku.errors import BakusokuError
from bakusoku.imaging.color import srgb_icc_bytes
from bakusoku.imaging.trim import FaceBox, place_box

DPI = 300
# Print sizes in millimetres, portrait (short side first).
SIZES: dict[str, tuple[float, float]] = {"L": (89.0, 127.0), "2L": (127.0, 178.0)}
FIELDS = ("race", "date", "course", "name", "bib", "net_time", "gun_time", "category", "placing")
FONT_FILE = "ipaexg.ttf"
_JPEG_QUALITY = 92
_ALIGNS = ("left", "center", "right")
_SEPARATORS = ("・", "/", "|", "-")

Fraction4 = tuple[float, float, float, float]


class DesignError(BakusokuError):
    """A certificate design file that cannot be used; the message names the file and the field."""

    code = "certificate.bad_design"


@dataclass(frozen=True)
class TextSlot:
    text: str
    box: Fraction4
    size: float  # letter height as a fraction of the page height, the most it may be
    colour: str
    align: str


@dataclass(frozen=True)
class Band:
    box: Fraction4
    colour: str
    opacity: float


@dataclass(frozen=True)
class Design:
    name: str
    background: str
    photo_box: Fraction4
    frame: str | None
    frame_width: float
    bands: tuple[Band, ...]
    texts: tuple[TextSlot, ...]


@dataclass(frozen=True)
class Certificate:
    """One certificate page, encoded (``pdf`` empty when none was asked for)."""

    jpeg: bytes
    pdf: bytes
    width: int
    height: int


def page_pixels(size: str) -> tuple[int, int]:
    """The page of a print size in pixels at :data:`DPI`."""
    if size not in SIZES:
        raise DesignError(f"unknown certificate size {size!r}: use one of {sorted(SIZES)}")
    width_mm, height_mm = SIZES[size]
    return round(width_mm / 25.4 * DPI), round(height_mm / 25.4 * DPI)


def pdf_resolution(pixels: tuple[int, int]) -> tuple[float, float]:
    """The resolution per axis at which a page of ``pixels`` is its print size exactly.

    A page is whole pixels at :data:`DPI`, so 89 mm is 1051 px, which at 300 dpi would be a
    252.24 pt (88.98 mm) PDF page; a print shop takes the PDF's size as the paper's, so each
    axis gets the resolution that makes it 89 x 127 mm (299.95 x 300 dpi for L). A page of no
    print size is at :data:`DPI`."""
    for width_mm, height_mm in SIZES.values():
        if pixels == (round(width_mm / 25.4 * DPI), round(height_mm / 25.4 * DPI)):
            return pixels[0] / (width_mm / 25.4), pixels[1] / (height_mm / 25.4)
    return float(DPI), float(DPI)


def design_names() -> list[str]:
    """The designs that ship with bakusoku."""
    return sorted(p.name[: -len(".json")] for p in _designs_dir().iterdir() if p.suffix == ".json")


def load_design(name_or_path: str | Path) -> Design:
    """A shipped design by name, or a design file of the deployment's own."""
    path = Path(name_or_path)
    if path.suffix != ".json":
        path = Path(str(_designs_dir().joinpath(f"{name_or_path}.json")))
        if not path.is_file():
            raise DesignError(
                f"no certificate design {str(name_or_path)!r}: the shipped ones are "
                f"{design_names()}, or give the path of a .json design file"
            )
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DesignError(f"design {path.name}: not readable JSON ({exc})") from exc
    return _design(document, path.name)


def compose(
    photo: Image.Image,
    faces: Sequence[FaceBox],
    fields: Mapping[str, str],
    design: Design,
    size: str = "L",
) -> Image.Image:
    """The certificate page: ``photo`` (upright RGB) trimmed to the design's frame around
    ``faces``, and the design's texts filled from ``fields``."""
    width, height = page_pixels(size)
    page = Image.new("RGB", (width, height), _colour(design.background))
    frame = _pixels(design.photo_box, width, height)
    _place_photo(page, photo, faces, frame)
    if design.frame:
        stroke = max(1, round(design.frame_width * width))
        ImageDraw.Draw(page).rectangle(frame, outline=_colour(design.frame), width=stroke)
    for band in design.bands:
        _paint_band(page, band)
    draw = ImageDraw.Draw(page)
    for slot in design.texts:
        _draw_text(draw, slot, fields, width, height)
    return page


def encode(page: Image.Image, *, pdf: bool = True) -> Certificate:
    """The page as a 300 dpi sRGB JPEG and (unless not wanted: it costs a second encode) as a
    one-page PDF of the print's exact size."""
    jpeg = io.BytesIO()
    page.save(
        jpeg,
        "JPEG",
        quality=_JPEG_QUALITY,
        dpi=(DPI, DPI),
        icc_profile=srgb_icc_bytes(),
        subsampling=0,  # 4:4:4: small red and white letters stay sharp
    )
    document = io.BytesIO()
    if pdf:
        page.save(document, "PDF", dpi=pdf_resolution(page.size), title="Finisher certificate")
    return Certificate(jpeg.getvalue(), document.getvalue(), page.width, page.height)


def fill(template: str, fields: Mapping[str, str]) -> str:
    """A slot's text with the runner's fields; a field with no value takes its separator along."""
    words = template.format_map(_Blank(fields)).split()
    kept: list[str] = []
    for word in words:
        if word in _SEPARATORS and (not kept or kept[-1] in _SEPARATORS):
            continue
        kept.append(word)
    while kept and kept[-1] in _SEPARATORS:
        kept.pop()
    return " ".join(kept)


def ordinal(place: int) -> str:
    """1st, 2nd, 3rd, 4th, 11th, 12th, 13th, 21st..."""
    suffix = "th" if 10 <= place % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(place % 10, "th")
    return f"{place}{suffix}"


def placing_text(place: int | None, category: str | None, category_place: int | None) -> str:
    """``総合 12位 (12th) ・ フル男子 3位 (3rd)``, or empty without a place."""
    if place is None:
        return ""
    text = f"総合 {place}位 ({ordinal(place)})"
    if category and category_place is not None:
        text += f" ・ {category} {category_place}位 ({ordinal(category_place)})"
    return text


class _Blank(dict[str, str]):
    def __init__(self, fields: Mapping[str, str]) -> None:
        super().__init__(fields)

    def __missing__(self, key: str) -> str:
        return ""


def _place_photo(
    page: Image.Image, photo: Image.Image, faces: Sequence[FaceBox], frame: tuple[int, ...]
) -> None:
    left, top, right, bottom = frame
    target = (right - left, bottom - top)
    # The largest window of the frame's aspect in the photo, moved to keep the faces in.
    scale = min(photo.width / target[0], photo.height / target[1])
    window = (max(1, round(target[0] * scale)), max(1, round(target[1] * scale)))
    box = place_box(photo.width, photo.height, window, faces)
    trimmed = photo.resize(target, Image.Resampling.LANCZOS, box=box, reducing_gap=3.0)
    page.paste(trimmed, (left, top))


def _paint_band(page: Image.Image, band: Band) -> None:
    left, top, right, bottom = _pixels(band.box, page.width, page.height)
    region = page.crop((left, top, right, bottom))
    solid = Image.new("RGB", region.size, _colour(band.colour))
    page.paste(Image.blend(region, solid, band.opacity), (left, top))


def _draw_text(
    draw: ImageDraw.ImageDraw,
    slot: TextSlot,
    fields: Mapping[str, str],
    width: int,
    height: int,
) -> None:
    text = fill(slot.text, fields)
    if not text:
        return
    left, top, right, bottom = _pixels(slot.box, width, height)
    size = max(8, round(slot.size * height))
    typeface = font(size)
    # Shrink until it fits the slot's width: long names and race titles stay whole.
    while size > 8 and draw.textlength(text, font=typeface) > right - left:
        size -= max(1, size // 20)
        typeface = font(size)
    text_width = draw.textlength(text, font=typeface)
    x = {
        "left": left,
        "center": left + (right - left - text_width) / 2,
        "right": right - text_width,
    }[slot.align]
    y = top + (bottom - top) / 2
    draw.text((x, y), text, font=typeface, fill=_colour(slot.colour), anchor="lm")


@lru_cache(maxsize=64)
def font(size: int) -> ImageFont.FreeTypeFont:
    """The certificates' typeface (IPAexGothic, shipped in ``fonts/``) at ``size`` pixels."""
    with resources.as_file(resources.files("bakusoku.races").joinpath("fonts", FONT_FILE)) as path:
        return ImageFont.truetype(str(path), size)


def _designs_dir() -> Any:
    return resources.files("bakusoku.races").joinpath("designs")


def _pixels(box: Fraction4, width: int, height: int) -> tuple[int, int, int, int]:
    return (
        round(box[0] * width),
        round(box[1] * height),
        round(box[2] * width),
        round(box[3] * height),
    )


def _colour(value: str) -> tuple[int, int, int]:
    rgb = ImageColor.getrgb(value)
    return rgb[0], rgb[1], rgb[2]


def _design(document: Any, source: str) -> Design:
    if not isinstance(document, dict):
        raise DesignError(f"design {source}: the file must hold one JSON object")
    photo = _field(document, "photo", dict, source)
    return Design(
        name=_field(document, "name", str, source),
        background=_checked_colour(document.get("background", "#ffffff"), source, "background"),
        photo_box=_box(photo.get("box"), source, "photo.box"),
        frame=(
            _checked_colour(photo["frame"], source, "photo.frame") if photo.get("frame") else None
        ),
        frame_width=float(photo.get("frame_width", 0.0)),
        bands=tuple(_band(b, source, i) for i, b in enumerate(document.get("bands", []))),
        texts=tuple(
            _slot(t, source, i) for i, t in enumerate(_field(document, "texts", list, source))
        ),
    )


def _band(value: Any, source: str, index: int) -> Band:
    where = f"bands[{index}]"
    if not isinstance(value, dict):
        raise DesignError(f"design {source}: {where} must be an object")
    opacity = value.get("opacity", 1.0)
    if not isinstance(opacity, int | float) or not 0 <= opacity <= 1:
        raise DesignError(f"design {source}: {where}.opacity must be between 0 and 1")
    return Band(
        _box(value.get("box"), source, f"{where}.box"),
        _checked_colour(value.get("colour"), source, f"{where}.colour"),
        float(opacity),
    )


def _slot(value: Any, source: str, index: int) -> TextSlot:
    where = f"texts[{index}]"
    if not isinstance(value, dict):
        raise DesignError(f"design {source}: {where} must be an object")
    text = _field(value, "text", str, source, where)
    try:
        text.format_map(_Blank(dict.fromkeys(FIELDS, "")))
    except (ValueError, IndexError, AttributeError) as exc:
        raise DesignError(f"design {source}: {where}.text is not a usable format ({exc})") from exc
    unknown = {name for _, name, _, _ in string.Formatter().parse(text) if name} - set(FIELDS)
    if unknown:
        raise DesignError(
            f"design {source}: {where}.text names unknown fields {sorted(unknown)}; "
            f"the fields are {list(FIELDS)}"
        )
    size = value.get("size")
    if not isinstance(size, int | float) or not 0 < size < 0.5:
        raise DesignError(f"design {source}: {where}.size is a fraction of the page height")
    align = value.get("align", "left")
    if align not in _ALIGNS:
        raise DesignError(f"design {source}: {where}.align must be one of {list(_ALIGNS)}")
    return TextSlot(
        text,
        _box(value.get("box"), source, f"{where}.box"),
        float(size),
        _checked_colour(value.get("colour", "#000000"), source, f"{where}.colour"),
        align,
    )


def _field(document: dict[str, Any], name: str, kind: type, source: str, where: str = "") -> Any:
    value = document.get(name)
    if not isinstance(value, kind):
        label = f"{where}.{name}" if where else name
        raise DesignError(f"design {source}: {label} is missing or not a {kind.__name__}")
    return value


def _box(value: Any, source: str, where: str) -> Fraction4:
    if (
        not isinstance(value, list)
        or len(value) != 4
        or not all(isinstance(v, int | float) and 0 <= v <= 1 for v in value)
        or value[0] >= value[2]
        or value[1] >= value[3]
    ):
        raise DesignError(
            f"design {source}: {where} is [left, top, right, bottom] in fractions of the page"
        )
    return float(value[0]), float(value[1]), float(value[2]), float(value[3])


def _checked_colour(value: Any, source: str, where: str) -> str:
    if not isinstance(value, str):
        raise DesignError(f"design {source}: {where} must be a colour such as #1f2937")
    try:
        ImageColor.getrgb(value)
    except ValueError:
        raise DesignError(f"design {source}: {where} must be a colour such as #1f2937") from None
    return value
