"""The rules that turn lines of text read in a photo into bibs: shape, entry list, confidence."""

from __future__ import annotations

import pytest

from bakusoku.imaging.text import CLOSED, CUT, OPEN, TextLine
from bakusoku.races import bibs
from bakusoku.races.bibs import Entrants, bib_text, confidence_of, confident, sightings
from bakusoku.races.repository import BibSighting

ENTRANTS = Entrants({"1432", "143", "988", "A-12", "7"})


def _line(text: str, confidence: float = 0.99, ends: str = OPEN) -> TextLine:
    return TextLine(text, confidence, (10, 20, 110, 60), ends)


class Asked(Entrants):
    """An entry list that remembers what it was asked."""

    def __init__(self, bibs: set[str]) -> None:
        super().__init__(bibs)
        self.asked: list[set[str]] = []

    def known(self, bibs: set[str]) -> set[str]:
        self.asked.append(set(bibs))
        return super().known(bibs)


@pytest.mark.parametrize(
    ("text", "bib"),
    [
        ("1432", "1432"),
        (" 14 32 ", "1432"),
        ("a-12", "A-12"),
        ("3:57:21", None),
        ("SHONAN MARATHON 2026!", None),
        ("", None),
        ("-12", None),
    ],
)
def test_a_bib_is_one_whole_bib_shaped_line(text: str, bib: str | None) -> None:
    assert bib_text(text) == bib


def test_a_number_not_on_the_entry_list_is_not_a_bib() -> None:
    found = sightings([_line("1432"), _line("2026"), _line("SHONAN")], ENTRANTS)
    assert [s.bib for s in found] == ["1432"]


def test_the_entry_list_is_asked_once_per_photo() -> None:
    entries = Asked({"1432", "988"})
    sightings([_line("1432"), _line("988"), _line("1432", 0.7)], entries)
    assert entries.asked == [{"1432", "988"}]


def test_nothing_bib_shaped_asks_nothing() -> None:
    entries = Asked({"1432"})
    assert sightings([_line("3:57:21")], entries) == []
    assert entries.asked == []


def test_a_cut_off_line_is_doubtful_below_the_default_threshold() -> None:
    whole = confidence_of(_line("1432", 0.999), "1432")
    cut = confidence_of(_line("1432", 0.999, ends=CUT), "1432")
    assert whole >= bibs.DEFAULT_MIN_CONFIDENCE
    assert cut < bibs.DEFAULT_MIN_CONFIDENCE
    assert cut == pytest.approx(0.999 * bibs.CUT_OFF_FACTOR)


@pytest.mark.parametrize(("ends", "sure"), [(CLOSED, True), (OPEN, False), (CUT, False)])
def test_a_part_of_a_longer_entrants_bib_needs_closed_ends(ends: str, sure: bool) -> None:
    (found,) = sightings([_line("143", 0.999, ends)], ENTRANTS)  # 1432 runs too
    assert (found.confidence >= bibs.DEFAULT_MIN_CONFIDENCE) is sure
    (alone,) = sightings([_line("988", 0.999, OPEN)], ENTRANTS)  # no longer bib holds 988
    assert alone.confidence >= bibs.DEFAULT_MIN_CONFIDENCE


def test_entrants_know_which_bibs_are_parts_of_longer_ones() -> None:
    entrants = Entrants({"1854", "854", "85", "A-12", "12"})
    assert entrants.part_of_longer({"1854", "854", "85", "12", "18"}) == {"854", "85", "12", "18"}


def test_short_numbers_need_more_confidence() -> None:
    assert confidence_of(_line("7", 0.93), "7") == pytest.approx(0.93 - bibs.SHORT_MARGIN)
    assert confidence_of(_line("988", 0.93), "988") == pytest.approx(0.93)


def test_one_sighting_per_bib_at_its_best_confidence_most_confident_first() -> None:
    found = sightings([_line("988", 0.8), _line("988", 0.97), _line("1432", 0.99)], ENTRANTS)
    assert [(s.bib, s.confidence) for s in found] == [("1432", 0.99), ("988", 0.97)]
    assert all(s.source == bibs.SOURCE_OCR for s in found)


def test_readings_under_the_floor_are_not_recorded() -> None:
    found = sightings([_line("988", bibs.RECORD_FLOOR - 0.01)], ENTRANTS)
    assert found == []


def test_boxes_are_given_in_the_original_photos_pixels() -> None:
    (found,) = sightings([_line("988")], ENTRANTS, scale=2.5)
    assert found.box == (25, 50, 275, 150)


def test_confident_bibs_at_the_threshold_and_every_staff_tag() -> None:
    found = [
        BibSighting("1432", 0.95, "ocr"),
        BibSighting("988", 0.6, "ocr"),
        BibSighting("7", 1.0, "staff"),
    ]
    assert confident(found, 0.9) == ["1432", "7"]
    assert confident(found, 0.99) == ["7"]
