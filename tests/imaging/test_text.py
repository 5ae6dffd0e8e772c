"""Text in photos: the packaged PP-OCRv4 models find and read bib numbers on drawn race photos."""

from __future__ import annotations

import io
import random

import pytest
from PIL import Image, ImageDraw, ImageFont

from bakusoku.imaging.text import load_text_reader
from bakusoku.races.bibs import DEFAULT_MIN_CONFIDENCE, MAX_ASPECT, Entrants, sightings
from bench.bib_photos import Conditions, draw_photo, entry_list

pytestmark = pytest.mark.integration

reader = load_text_reader()
needs_reader = pytest.mark.skipif(reader is None, reason="the 'bibs' extra is not installed")
ENTRANTS = Entrants(entry_list())
BIBS = sorted(entry_list())


def _preview(jpeg: bytes) -> Image.Image:
    """The 1600 px preview ReadBibs reads, as MakeRenditions makes it."""
    with Image.open(io.BytesIO(jpeg)) as image:
        image.draft("RGB", (3200, 3200))
        image.thumbnail((1600, 1600), Image.Resampling.LANCZOS)
        return image.convert("RGB")


@needs_reader
def test_reads_a_line_where_it_is_with_its_confidence() -> None:
    assert reader is not None
    picture = Image.new("RGB", (1200, 800), (40, 90, 60))
    draw = ImageDraw.Draw(picture)
    draw.rectangle((400, 300, 800, 560), fill="white")
    draw.text((600, 430), "4821", font=ImageFont.load_default(size=150), fill="black", anchor="mm")
    (line,) = reader.lines(picture)
    assert line.text == "4821"
    assert line.confidence > 0.95
    assert line.goes_on == (True, True)  # the white card around the number, both sides
    left, top, right, bottom = line.box
    assert 400 <= left < 480 and right > 720 and right <= 800
    assert 300 <= top < 400 < 460 < bottom <= 560


@needs_reader
@pytest.mark.parametrize("arm_side", ["start", "end"])
def test_an_arm_against_one_end_hides_the_card_there_only(arm_side: str) -> None:
    assert reader is not None
    picture = Image.new("RGB", (1200, 800), (40, 90, 60))
    draw = ImageDraw.Draw(picture)
    draw.rectangle((300, 300, 900, 560), fill="white")
    font = ImageFont.load_default(size=150)
    draw.text((600, 430), "4821", font=font, fill="black", anchor="mm")
    left, _, right, _ = draw.textbbox((600, 430), "4821", font=font, anchor="mm")
    # a plain arm just clear of the number, over the card's margin on one side
    arm = (250, 250, left - 6, 620) if arm_side == "start" else (right + 6, 250, 950, 620)
    draw.rounded_rectangle(arm, radius=20, fill=(200, 150, 110))
    (line,) = reader.lines(picture)
    assert line.text == "4821"
    assert line.goes_on == ((False, True) if arm_side == "start" else (True, False))


@needs_reader
def test_a_picture_without_text_has_no_lines() -> None:
    assert reader is not None
    assert reader.lines(Image.new("RGB", (800, 600), (90, 120, 80))) == []


@needs_reader
def test_reads_the_bibs_of_turned_tilted_blurred_runners() -> None:
    assert reader is not None
    rng = random.Random(11)
    clear = Conditions(occluded_share=0.0, blur=1.5)
    shown, read = 0, 0
    for count in (2, 1, 3, 2):
        photo = draw_photo(rng, rng.sample(BIBS, count), clear)
        lines = reader.lines(_preview(photo.jpeg), max_aspect=MAX_ASPECT)
        found = sightings(lines, ENTRANTS)
        sure = {s.bib for s in found if s.confidence >= DEFAULT_MIN_CONFIDENCE}
        assert sure <= set(photo.bibs), (photo.bibs, lines)
        shown += len(photo.bibs)
        read += len(sure)
    # A number filling its card that a longer entrant's bib ends or begins with is doubted
    # (the card's edge beside it looks as an arm does): about one in ten goes to staff.
    assert read >= shown - 2, (read, shown)


@needs_reader
def test_an_arm_over_a_bib_never_makes_a_sure_wrong_bib() -> None:
    assert reader is not None
    rng = random.Random(5)
    covered = Conditions(occluded_share=1.0, occlusion=0.3, blur=0.5)
    entrants = sorted(BIBS, key=len)[-40:]  # four digits: a hidden one leaves another's bib
    for _ in range(4):
        photo = draw_photo(rng, rng.sample(entrants, 2), covered)
        lines = reader.lines(_preview(photo.jpeg), max_aspect=MAX_ASPECT)
        found = sightings(lines, ENTRANTS)
        wrong = {s.bib for s in found if s.confidence >= DEFAULT_MIN_CONFIDENCE} - set(photo.bibs)
        assert not wrong, (photo.bibs, lines)
