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
- **A line cut off is doubtful.** A line whose ends are not framed by plain, alike strips
  (something stands against one end: an arm across the bib) may be a part of a longer number,
  and a part of an entrant's number is often another entrant's: its confidence is scaled by
  :data:`CUT_OFF_FACTOR`, below the default threshold.
- **Short numbers need more.** A one- or two-digit reading is also what remains of a longer
  number behind a hand; it needs :data:`SHORT_MARGIN` more.
- **One sighting per bib and photo**, the most confident.

Sightings under :data:`RECORD_FLOOR` are dropped; those between it and the race's threshold
(``bib_min_confidence``, default :data:`DEFAULT_MIN_CONFIDENCE`) are kept with their confidence
but the photo still counts as "bib unknown" for staff to review.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from bakusoku.imaging.text import TextLine
from bakusoku.races.records import BIB
from bakusoku.races.repository import BibSighting

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


def bib_text(text: str) -> str | None:
    """The bib a line of text spells, or ``None`` if it is not bib-shaped."""
    candidate = "".join(text.split()).upper()
    return candidate if BIB.match(candidate) else None


def confidence_of(reading: TextLine, bib: str) -> float:
    """The reading's confidence after the rules: cut-off lines and short numbers count less."""
    confidence = reading.confidence
    if not reading.framed:
        confidence *= CUT_OFF_FACTOR
    if len(bib) <= 2:
        confidence -= SHORT_MARGIN
    return max(0.0, min(1.0, confidence))


def sightings(
    readings: Iterable[TextLine],
    known: Callable[[set[str]], set[str]],
    *,
    scale: float = 1.0,
    source: str = SOURCE_OCR,
) -> list[BibSighting]:
    """The bibs of the entry list the readings show, one per bib at its best confidence.

    ``known`` answers which of the given bibs are on the race's entry list (one query for the
    photo); ``scale`` maps the readings' boxes to the original photo's pixels.
    """
    best: dict[str, tuple[float, tuple[int, int, int, int]]] = {}
    for reading in readings:
        bib = bib_text(reading.text)
        if bib is None:
            continue
        confidence = confidence_of(reading, bib)
        if confidence < RECORD_FLOOR:
            continue
        if bib not in best or confidence > best[bib][0]:
            best[bib] = (confidence, reading.box)
    on_list = known(set(best)) if best else set()
    return sorted(
        (
            BibSighting(bib, round(confidence, 4), source, _scaled(box, scale))
            for bib, (confidence, box) in best.items()
            if bib in on_list
        ),
        key=lambda s: (-s.confidence, s.bib),
    )


def confident(found: Sequence[BibSighting], min_confidence: float) -> list[str]:
    """The bibs the photo shows at ``min_confidence`` or more (staff tags always count)."""
    return [s.bib for s in found if s.source == SOURCE_STAFF or s.confidence >= min_confidence]


def _scaled(box: tuple[int, int, int, int], scale: float) -> tuple[int, int, int, int]:
    left, top, right, bottom = box
    return (round(left * scale), round(top * scale), round(right * scale), round(bottom * scale))
