"""The rules that turn lines of text read in a photo into bibs: shape, entry list, confidence."""

from __future__ import annotations

import pytest

from bakusoku.imaging.text import TextLine
from bakusoku.races import bibs
from bakusoku.races.bibs import Entrants, bib_text, confidence_of, confident, sightings
from bakusoku.races.repository import BibSighting

ENTRANTS = Entrants({"1432", "143", "988", "A-12", "7"})


NOT_SEEN = (False, False)
BOTH = (True, True)
BEFORE = (True, False)  # the card is seen going on before the line's start only
AFTER = (False, True)


def _line(text: str, confidence: float = 0.99, goes_on: tuple[bool, bool] = NOT_SEEN) -> TextLine:
    return TextLine(text, confidence, (10, 20, 110, 60), goes_on)


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


def test_a_reading_no_longer_entrant_holds_counts_whatever_stands_against_its_ends() -> None:
    # An arm beside the number, or the card's edge beside a number filling it: 1432 is the
    # only entrant it can be.
    (found,) = sightings([_line("1432", 0.999, NOT_SEEN)], ENTRANTS)
    assert found.confidence == pytest.approx(0.999)


@pytest.mark.parametrize(
    ("goes_on", "sure"), [(BOTH, True), (AFTER, True), (BEFORE, False), (NOT_SEEN, False)]
)
def test_a_reading_that_begins_a_longer_entrants_bib_needs_the_card_seen_after_it(
    goes_on: tuple[bool, bool], sure: bool
) -> None:
    (found,) = sightings([_line("143", 0.999, goes_on)], ENTRANTS)  # 1432 runs too
    assert (found.confidence >= bibs.DEFAULT_MIN_CONFIDENCE) is sure
    assert found.confidence == pytest.approx(0.999 if sure else 0.999 * bibs.CUT_OFF_FACTOR)


@pytest.mark.parametrize(
    ("goes_on", "sure"), [(BOTH, True), (BEFORE, True), (AFTER, False), (NOT_SEEN, False)]
)
def test_a_reading_that_ends_a_longer_entrants_bib_needs_the_card_seen_before_it(
    goes_on: tuple[bool, bool], sure: bool
) -> None:
    entrants = Entrants({"1854", "854"})  # an arm over the 1 leaves 854
    (found,) = sightings([_line("854", 0.999, goes_on)], entrants)
    assert (found.confidence >= bibs.DEFAULT_MIN_CONFIDENCE) is sure


@pytest.mark.parametrize(("goes_on", "sure"), [(BOTH, True), (BEFORE, False), (AFTER, False)])
def test_a_reading_inside_longer_bibs_on_both_sides_needs_the_card_seen_at_both_ends(
    goes_on: tuple[bool, bool], sure: bool
) -> None:
    entrants = Entrants({"1854", "854", "8541"})
    (found,) = sightings([_line("854", 0.999, goes_on)], entrants)
    assert (found.confidence >= bibs.DEFAULT_MIN_CONFIDENCE) is sure


def test_entrants_know_on_which_side_a_longer_bib_goes_on() -> None:
    entrants = Entrants({"1854", "854", "85", "A-12", "12", "8541"})
    assert entrants.longer_sides({"1854", "854", "85", "12", "18", "541", "9"}) == {
        "854": (True, True),
        "85": (False, True),  # 854 and 8541 begin with it; none ends with it
        "12": (True, False),
        "18": (False, True),
        "541": (True, False),
    }


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
