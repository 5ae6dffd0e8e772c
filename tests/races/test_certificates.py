"""Certificates: both shipped designs at L and 2L, Japanese text that renders, face-safe photos,
a PDF of the print's size, and design files checked with errors that name the field."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from bakusoku.races.certificates import (
    DesignError,
    compose,
    design_names,
    encode,
    fill,
    font,
    load_design,
    ordinal,
    page_pixels,
    placing_text,
)
from tests.imaging.photos import scene_with_face

FIELDS = {
    "race": "第10回 湘南マラソン",
    "date": "2026-12-06",
    "course": "フル",
    "name": "山田 太郎",
    "bib": "1024",
    "net_time": "3:12:45",
    "placing": placing_text(12, "フル男子", 3),
}


def test_two_designs_ship() -> None:
    assert {"classic", "finish-line"} <= set(design_names())


@pytest.mark.parametrize("design", ["classic", "finish-line"])
@pytest.mark.parametrize(("size", "pixels"), [("L", (1051, 1500)), ("2L", (1500, 2102))])
def test_a_certificate_is_a_300_dpi_print_and_a_pdf_of_its_size(
    design: str, size: str, pixels: tuple[int, int]
) -> None:
    scene, face = scene_with_face((3000, 2000), (2500, 400), 300)

    certificate = encode(compose(scene, [face], FIELDS, load_design(design), size))

    printed = Image.open(io.BytesIO(certificate.jpeg))
    assert printed.size == pixels == page_pixels(size)
    assert printed.info["dpi"] == pytest.approx((300, 300))
    assert "icc_profile" in printed.info
    pdf = certificate.pdf.decode("latin-1")
    assert pdf.startswith("%PDF")
    media = re.search(r"/MediaBox \[ ?0 0 ([\d.]+) ([\d.]+) ?\]", pdf)
    assert media is not None
    # The page in points (1/72 inch) is the print's size in millimetres, to 1/100 point.
    width_mm, height_mm = {"L": (89, 127), "2L": (127, 178)}[size]
    points = [float(v) for v in media.groups()]
    assert points == pytest.approx([width_mm / 25.4 * 72, height_mm / 25.4 * 72], abs=0.01)


def test_japanese_letters_are_drawn_not_tofu() -> None:
    typeface = font(64)
    # Tofu would be the same empty box for every character: distinct kanji draw distinct shapes.
    shapes = []
    for character in "山田湘南":
        canvas = Image.new("L", (80, 80), 0)
        ImageDraw.Draw(canvas).text((8, 8), character, font=typeface, fill=255)
        shapes.append(np.asarray(canvas))
    assert all(s.sum() > 0 for s in shapes)
    assert len({s.tobytes() for s in shapes}) == 4
    assert typeface.getmask("山").getbbox() != typeface.getmask("\uffff").getbbox()


def test_the_photo_keeps_the_runners_face() -> None:
    # The face sits at the far right of a wide photo: a centred trim to the portrait frame would
    # cut it off; the certificate's photo keeps it.
    scene, face = scene_with_face((4000, 1500), (3500, 500), 300)
    page = compose(scene, [face], FIELDS, load_design("finish-line"), "L")
    centred = compose(scene, [], FIELDS, load_design("finish-line"), "L")

    skin = (224, 172, 138)

    def skin_share(image: Image.Image) -> float:
        pixels = np.asarray(image.crop((0, 0, image.width, int(image.height * 0.7)))).astype(int)
        close = np.abs(pixels - np.array(skin)).sum(axis=2) < 60
        return float(close.mean())

    assert skin_share(page) > 0.01
    assert skin_share(centred) < skin_share(page) / 10


def test_missing_fields_take_their_separators_along() -> None:
    assert fill("{date} ・ {course}", {"date": "2026-12-06"}) == "2026-12-06"
    assert (
        fill("{date} ・ {course}", {"date": "2026-12-06", "course": "フル"}) == "2026-12-06 ・ フル"
    )
    assert fill("ゼッケン Bib {bib}", {}) == "ゼッケン Bib"
    assert [ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 102)] == [
        "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "102nd",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"texts": [{"text": "{nickname}", "box": [0, 0, 1, 1], "size": 0.1}]}, "unknown fields"),
        ({"photo": {"box": [0.5, 0, 0.2, 1]}}, "photo.box"),
        ({"background": "ultraviolet"}, "background"),
        ({"texts": [{"text": "{name}", "box": [0, 0, 1, 1], "size": 3}]}, "size"),
        ({"bands": [{"box": [0, 0, 1, 1], "colour": "#000", "opacity": 2}]}, "opacity"),
    ],
)
def test_a_bad_design_file_names_what_is_wrong(
    tmp_path: Path, change: dict[str, object], message: str
) -> None:
    document = (
        json.loads(
            Path(load_design.__code__.co_filename)
            .with_name("designs")
            .joinpath("classic.json")
            .read_text(encoding="utf-8")
        )
        | change
    )
    path = tmp_path / "mine.json"
    path.write_text(json.dumps(document), encoding="utf-8")

    with pytest.raises(DesignError, match=message):
        load_design(path)
