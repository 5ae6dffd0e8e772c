"""Which bibs a photo shows: from lines of text read in it to sightings with a confidence.

The engine (:mod:`bakusoku.imaging.text`) gives lines of text; these rules, in order, make them
sightings (each exists because without it ``bench/bibs.py`` sent photos to strangers):

- **A bib is one whole line.** The line's text, without spaces, must look like a bib (1-16
  letters, digits or ``-``, as entry lists give them; letters upper-cased). A clock ``3:57:21``,
  a banner ``SHONAN MARATHON 2026`` or a name is not a bib.
- **A number not on the entry list is not a bib** (validation against the race's entries): the
  year on the banner, a bib of another race, a misread digit that makes no entrant's number.
- **Confidence is the least sure character's probability**, not the mean: one doubtful digit
  is a doubtful bib.
- **A reading that could be two entrants' bibs is doubtful.** An arm across a bib hides the
  digits at one end, and what is left is often another entrant's number (``854`` when ``1854``
  runs, ``184`` when ``1849`` does). A reading that ends a longer entrant's bib counts only when
  the card is seen going on before it (:attr:`TextLine.goes_on`), one that begins a longer bib
  only when the card is seen going on after it; otherwise its confidence is scaled by
  :data:`CUT_OFF_FACTOR`, below the default threshold. A reading no longer entrant's bib begins or
  ends is the only entrant it can be, whatever stands against its ends (a number filling its
  card, an arm beside it). An arm with a busy edge leaves no plain strip: the card is not seen.
- **Short numbers need more.** A one- or two-digit reading is also what remains of a longer
  number behind a hand; it needs :data:`SHORT_MARGIN` more.
- **One sighting per bib and photo**, the most confident.

Sightings under :data:`RECORD_FLOOR` are dropped; those between it and the race's threshold
(``bib_min_confidence``, default :data:`DEFAULT_MIN_CONFIDENCE`) are kept with their confidence
but the photo still counts as "bib unknown" for staff to review.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

from bakusoku.imaging.text import TextLine
from bakusoku.races.records import BIB
from bakusoku.races.repository import BibSighting, RaceRef, RaceRepository

# The confidence at which a reading counts as the photo's bib (bench/bibs.py: at 0.9, wrong
# readings are under 1 % of those kept on the synthetic set).
DEFAULT_MIN_CONFIDENCE = 0.9
# Readings under this are not recorded at all (they are noise, not a hint for staff).
RECORD_FLOOR = 0.5
CUT_OFF_FACTOR = 0.6
SHORT_MARGIN = 0.05
# A bib line is short: up to 6 characters in a box no longer than this times its height.
MAX_ASPECT = 5.0
SOURCE_OCR = "ocr"
SOURCE_STAFF = "staff"


class EntryList(Protocol):
    """What the rules ask of a race's entry list (``RaceRepository`` answers for one race)."""

    def known(self, bibs: set[str]) -> set[str]:
        """Which of ``bibs`` are entrants' bibs."""
        ...

    def longer_sides(self, bibs: set[str]) -> dict[str, tuple[bool, bool]]:
        """For each of ``bibs`` a longer entrant's bib ends or begins with, whether one does with
        more before it (``1854`` for ``854``) and with more after it (``8541``)."""
        ...


class Entrants:
    """An entry list held in memory (the benchmark's, a test's)."""

    def __init__(self, bibs: Iterable[str]) -> None:
        self._bibs = set(bibs)

    def known(self, bibs: set[str]) -> set[str]:
        return bibs & self._bibs

    def longer_sides(self, bibs: set[str]) -> dict[str, tuple[bool, bool]]:
        sides = {}
        for bib in bibs:
            longer = [e for e in self._bibs if len(e) > len(bib)]
            before = any(e.endswith(bib) for e in longer)
            after = any(e.startswith(bib) for e in longer)
            if before or after:
                sides[bib] = (before, after)
        return sides


class RaceEntries:
    """A race's entry list in the database."""

    def __init__(self, races: RaceRepository, race: RaceRef) -> None:
        self._races = races
        self._race = race

    def known(self, bibs: set[str]) -> set[str]:
        return self._races.known_bibs(self._race, bibs)

    def longer_sides(self, bibs: set[str]) -> dict[str, tuple[bool, bool]]:
        return self._races.longer_sides(self._race, bibs)


def bib_text(text: str) -> str | None:
    """The bib a line of text spells, or ``None`` if it is not bib-shaped."""
    candidate = "".join(text.split()).upper()
    return candidate if BIB.match(candidate) else None


def confidence_of(
    reading: TextLine, bib: str, *, longer: tuple[bool, bool] = (False, False)
) -> float:
    """The reading's confidence after the rules: a part of a longer entrant's number that may go
    on unseen (``longer``: a longer bib has more before it, after it) and short numbers count
    less."""
    confidence = reading.confidence
    if any(more and not seen for more, seen in zip(longer, reading.goes_on, strict=True)):
        confidence *= CUT_OFF_FACTOR
    if len(bib) <= 2:
        confidence -= SHORT_MARGIN
    return max(0.0, min(1.0, confidence))


def sightings(
    readings: Iterable[TextLine],
    entries: EntryList,
    *,
    scale: float = 1.0,
    source: str = SOURCE_OCR,
) -> list[BibSighting]:
    """The bibs of the entry list the readings show, one per bib at its best confidence.

    ``entries`` answers which bibs are on the race's entry list and which a longer one begins or
    ends with (a query each for the photo, only when something bib-shaped was read); ``scale`` maps the
    readings' boxes to the original photo's pixels.
    """
    shaped = [(bib, r) for r in readings if (bib := bib_text(r.text)) is not None]
    if not shaped:
        return []
    candidates = {bib for bib, _ in shaped}
    on_list = entries.known(candidates)
    longer = entries.longer_sides(on_list) if on_list else {}
    best: dict[str, tuple[float, tuple[int, int, int, int]]] = {}
    for bib, reading in shaped:
        if bib not in on_list:
            continue
        confidence = confidence_of(reading, bib, longer=longer.get(bib, (False, False)))
        if confidence < RECORD_FLOOR:
            continue
        if bib not in best or confidence > best[bib][0]:
            best[bib] = (confidence, reading.box)
    return sorted(
        (
            BibSighting(bib, round(confidence, 4), source, _scaled(box, scale))
            for bib, (confidence, box) in best.items()
        ),
        key=lambda s: (-s.confidence, s.bib),
    )


def confident(found: Sequence[BibSighting], min_confidence: float) -> list[str]:
    """The bibs the photo shows at ``min_confidence`` or more (staff tags always count)."""
    return [s.bib for s in found if s.source == SOURCE_STAFF or s.confidence >= min_confidence]


def _scaled(box: tuple[int, int, int, int], scale: float) -> tuple[int, int, int, int]:
    left, top, right, bottom = box
    return (round(left * scale), round(top * scale), round(right * scale), round(bottom * scale))
