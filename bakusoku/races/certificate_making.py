"""What goes on a runner's certificate and where its files go: the fields from the race, the
entry and the standings, the photo decoded at the size the largest print needs, and the keys of
the L and 2L JPEGs and the PDF in the store. The composition itself is ``races.certificates``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from PIL import Image

from bakusoku.imaging.decode import open_photo
from bakusoku.imaging.trim import FaceBox
from bakusoku.races.certificate_records import CertificateFiles, CertificateKey
from bakusoku.races.certificates import (
    Certificate,
    Design,
    compose,
    encode,
    page_pixels,
    placing_text,
)
from bakusoku.races.records import format_ms
from bakusoku.races.repository import Standing

DEFAULT_DESIGN = "classic"
FOLDER = "_certificates"  # album folders hold photo ids (uuids): this name is never one
PRINT_SIZES = ("L", "2L")


@dataclass(frozen=True)
class MadeCertificate:
    """Both prints, encoded: ``pages[size]`` (the PDF is the L page's)."""

    pages: dict[str, Certificate]


def certificate_fields(
    race: Mapping[str, Any],
    entry: Mapping[str, Any] | None,
    finish: Mapping[str, Any],
    standing: Standing | None,
) -> dict[str, str]:
    """The design's fields for one runner: ``finish`` is the bib's finish result row."""
    name = (entry or {}).get("name") or finish.get("name") or ""
    category = (entry or {}).get("category") or finish.get("category") or ""
    placing = (
        placing_text(standing.place, standing.category, standing.category_place)
        if standing is not None
        else ""
    )
    return {
        "race": str(race["name"]),
        "date": str(race["race_date"]),
        "course": str(race.get("course") or ""),
        "name": str(name),
        "bib": str(finish["bib"]),
        "net_time": format_ms(finish.get("net_ms")) or format_ms(finish.get("gun_ms")) or "",
        "gun_time": format_ms(finish.get("gun_ms")) or "",
        "category": str(category),
        "placing": placing,
    }


def decode_for_print(
    data: bytes, faces: Sequence[Sequence[float]], design: Design
) -> tuple[Image.Image, list[FaceBox]]:
    """The photo upright, decoded no larger than the design's frame on the 2L page needs (a
    JPEG decodes at 1/2 or 1/4 size in the DCT: most of the certificate's cost saved), and its
    faces scaled to it."""
    source = open_photo(data)
    frame_w, frame_h = frame_pixels(design, "2L")
    # The largest window of the frame's aspect is cut from the photo and scaled to the frame.
    needed = max(frame_w / source.info.width, frame_h / source.info.height)
    plan = source.plan(min(1.0, needed))
    picture = source.decode()
    scale = plan.scale
    return picture, [(f[0] * scale, f[1] * scale, f[2] * scale, f[3] * scale) for f in faces]


def frame_pixels(design: Design, size: str) -> tuple[int, int]:
    """The design's photo frame in pixels on a page of ``size``."""
    width, height = page_pixels(size)
    left, top, right, bottom = design.photo_box
    return round((right - left) * width), round((bottom - top) * height)


def make(
    picture: Image.Image, faces: Sequence[FaceBox], fields: Mapping[str, str], design: Design
) -> MadeCertificate:
    """The L and 2L pages as 300 dpi JPEGs, and the L page as a PDF."""
    return MadeCertificate(
        {
            size: encode(compose(picture, faces, fields, design, size), pdf=size == "L")
            for size in PRINT_SIZES
        }
    )


def files_of(rendition_prefix: str, key: CertificateKey) -> CertificateFiles:
    """Where one certificate's files go: the race's album folder, by bib, revision and photo."""
    folder = (
        f"{rendition_prefix}{key.race.album}/{FOLDER}/{key.race.service}/{key.bib}/"
        f"r{key.revision}-{key.photo_id}/"
    )
    return CertificateFiles(f"{folder}L.jpg", f"{folder}2L.jpg", f"{folder}certificate.pdf")
