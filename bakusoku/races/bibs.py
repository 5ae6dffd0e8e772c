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
- **A line cut off is doubtful.** A line with something plain against one end, unlike the other
  end (an arm across the bib), may be a part of a longer number, and a part of an entrant's
  number is often another entrant's: its confidence is scaled by :data:`CUT_OFF_FACTOR`, below
  the default threshold.
- **A part of a longer entrant's number needs closed ends.** A reading that begins or ends
  another entrant's bib (``854`` when ``1854`` runs) counts only when the card is seen going on
  at both ends (``closed``); otherwise it is scaled by :data:`CUT_OFF_FACTOR` too. An arm with a
  busy edge over the ``1`` leaves no plain strip to see, and this is what catches it.
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

from bakusoku.imaging.text import CLOSED, CUT, TextLine
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

    def part_of_longer(self, bibs: set[str]) -> set[str]:
        """Which of ``bibs`` begin or end a longer entrant's bib."""
        ...


class Entrants:
    """An entry list held in memory (the benchmark's, a test's)."""

    def __init__(self, bibs: Iterable[str]) -> None:
        self._bibs = set(bibs)

    def known(self, bibs: set[str]) -> set[str]:
        return bibs & self._bibs

    def part_of_longer(self, bibs: set[str]) -> set[str]:
        return {
            b
            for b in bibs
            if any(len(e) > len(b) and (e.startswith(b) or e.endswith(b)) for e in self._bibs)
        }


class RaceEntries:
    """A race's entry list in the database."""

    def __init__(self, races: RaceRepository, race: RaceRef) -> None:
        self._races = races
        self._race = race

    def known(self, bibs: set[str]) -> set[str]:
        return self._races.known_bibs(self._race, bibs)

    def part_of_longer(self, bibs: set[str]) -> set[str]:
        return self._races.longer_bibs(self._race, bibs)


def bib_text(text: str) -> str | None:
    """The bib a line of text spells, or ``None`` if it is not bib-shaped."""
    candidate = "".join(text.split()).upper()
    return candidate if BIB.match(candidate) else None


def confidence_of(reading: TextLine, bib: str, *, part_of_longer: bool = False) -> float:
    """The reading's confidence after the rules: cut-off lines, parts of a longer entrant's
    number without closed ends, and short numbers count less."""
    confidence = reading.confidence
    if reading.ends == CUT or (part_of_longer and reading.ends != CLOSED):
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

    ``entries`` answers which bibs are on the race's entry list and which are a part of a longer
    one (a query each for the photo, only when something bib-shaped was read); ``scale`` maps the
    readings' boxes to the original photo's pixels.
    """
    shaped = [(bib, r) for r in readings if (bib := bib_text(r.text)) is not None]
    if not shaped:
        return []
    candidates = {bib for bib, _ in shaped}
    on_list = entries.known(candidates)
    longer = entries.part_of_longer(on_list) if on_list else set()
    best: dict[str, tuple[float, tuple[int, int, int, int]]] = {}
    for bib, reading in shaped:
        if bib not in on_list:
            continue
        confidence = confidence_of(reading, bib, part_of_longer=bib in longer)
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
