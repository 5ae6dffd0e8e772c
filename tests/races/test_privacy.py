"""Which face wears a bib (unit: no I/O)."""

from __future__ import annotations

from bakusoku.races.privacy import runner_face
from bakusoku.races.repository import BibSighting


def test_the_face_above_the_number_is_the_runners() -> None:
    bib = BibSighting("1234", 0.97, "ocr", (400, 600, 520, 680))
    faces = [
        ("far-left", (40.0, 200.0, 140.0, 320.0)),  # another runner, beside
        ("wearer", (410.0, 300.0, 510.0, 420.0)),
        ("behind", (430.0, 100.0, 490.0, 170.0)),  # further up: a runner behind
        ("below", (420.0, 700.0, 500.0, 800.0)),  # under the number: not a face that wears it
    ]

    assert runner_face(bib, faces) == "wearer"


def test_no_box_or_no_face_above_means_no_face() -> None:
    assert runner_face(BibSighting("1", 0.99, "staff"), [("a", (0.0, 0.0, 10.0, 10.0))]) is None
    bib = BibSighting("1", 0.99, "ocr", (400, 600, 520, 680))
    assert runner_face(bib, [("beside", (0.0, 300.0, 100.0, 400.0))]) is None
    assert runner_face(None, []) is None
