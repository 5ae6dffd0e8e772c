"""The bib-unknown set in each database: what leaves it (a sure reading, a staff tag, "no bib
visible") and what never enters it (other races' and services' photos, photos not ready)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from bakusoku.db.engine import create_db_engine
from bakusoku.db.schema import photos
from bakusoku.races.records import Entry
from bakusoku.races.repository import BibSighting, PhotoBibs, RaceRef, RaceRepository
from bakusoku.races.review import BibReview, UnknownBibError

pytestmark = pytest.mark.integration

PREFIX = "uploads/"


@pytest.fixture
def engine(db_url: str) -> Iterator[sa.Engine]:
    engine = create_db_engine(db_url)
    yield engine
    engine.dispose()


def _photo(engine: sa.Engine, race: RaceRef, at: float, status: str = "ready") -> str:
    """A photo row as the pipeline leaves it (the test's stand-in for an upload)."""
    photo_id = str(uuid.uuid4())
    with engine.begin() as conn:
        conn.execute(
            photos.insert().values(
                photo_id=photo_id,
                album=race.album,
                bucket="bakusoku",
                object_key=f"{PREFIX}{race.service}/{race.album}/{photo_id}.jpg",
                status=status,
                created_at=at,
                updated_at=at,
            )
        )
    return photo_id


def test_what_leaves_the_set_and_what_never_enters_it(engine: sa.Engine) -> None:
    races = RaceRepository(engine)
    race = RaceRef("runs", f"marathon-{uuid.uuid4().hex[:8]}")
    races.save_race(race, name="Relay", race_date="2026-10-10", course=None, timezone="UTC")
    races.save_entries(race, [Entry("1432", "A"), Entry("988", "B")])
    sure, doubtful, tagged, dismissed, waiting = (_photo(engine, race, t) for t in range(1, 6))
    _photo(engine, race, 6, status="processing")
    _photo(engine, RaceRef("other", race.album), 7)  # another service's album of the same name
    _photo(engine, RaceRef("runs", race.album + "-b"), 8)  # another album of the service
    bibs = PhotoBibs(engine)
    bibs.record(race, sure, [BibSighting("1432", 0.97, "ocr")])
    bibs.record(race, doubtful, [BibSighting("988", 0.6, "ocr")])
    review = BibReview(engine, PREFIX)
    review.tag(race, tagged, ["988"], "key:staff")
    review.mark_no_bib(race, dismissed, "key:staff")

    first = review.unknown(race, 0.9, cursor=None, limit=1)
    rest = review.unknown(race, 0.9, cursor=first.next_cursor, limit=10)

    assert [p["photo_id"] for p in first.items + rest.items] == [doubtful, waiting]
    assert rest.next_cursor is None
    assert [p["photo_id"] for p in review.unknown(race, 0.5, cursor=None, limit=10).items] == [
        waiting
    ]
    # A tag after "no bib visible" replaces the decision; a re-read keeps the staff tag.
    review.tag(race, dismissed, ["1432"], "key:staff")
    bibs.record(race, dismissed, [])
    assert review.reviewed(race, dismissed).no_bib is False
    assert [(s.bib, s.source) for s in bibs.bibs_of(race, dismissed)] == [("1432", "staff")]


def test_a_tag_not_on_the_entry_list_writes_nothing(engine: sa.Engine) -> None:
    races = RaceRepository(engine)
    race = RaceRef("runs", f"marathon-{uuid.uuid4().hex[:8]}")
    races.save_race(race, name="Relay", race_date="2026-10-10", course=None, timezone="UTC")
    races.save_entries(race, [Entry("988", "B")])
    photo_id = _photo(engine, race, 1)
    review = BibReview(engine, PREFIX)

    with pytest.raises(UnknownBibError, match="2026"):
        review.tag(race, photo_id, ["988", "2026"], "key:staff")

    assert PhotoBibs(engine).bibs_of(race, photo_id) == []
