"""Races in each database: idempotent entry lists and results, corrections, standings, scopes."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from bakusoku.db.engine import create_db_engine
from bakusoku.db.schema import photo_bibs
from bakusoku.races.records import Entry, Result
from bakusoku.races.repository import BibSighting, PhotoBibs, RaceRef, RaceRepository

pytestmark = pytest.mark.integration


@pytest.fixture
def engine(db_url: str) -> Iterator[sa.Engine]:
    engine = create_db_engine(db_url)
    yield engine
    engine.dispose()


def _race(repository: RaceRepository, service: str = "runs") -> RaceRef:
    race = RaceRef(service, f"marathon-{uuid.uuid4().hex[:8]}")
    repository.save_race(
        race, name="湘南マラソン", race_date="2026-12-06", course="Full", timezone="Asia/Tokyo"
    )
    return race


def _finish(bib: str, net: int, gun: int | None = None) -> Result:
    return Result(bib, "finish", net, gun, None)


def test_the_same_rows_again_change_nothing(engine: sa.Engine) -> None:
    repository = RaceRepository(engine)
    race = _race(repository)
    entries = [Entry("1", "A", "A", "M"), Entry("2", "B", "B", "F")]

    first = repository.save_entries(race, entries)
    again = repository.save_entries(race, entries)
    renamed = repository.save_entries(race, [Entry("2", "B2", "B", "F")])

    assert first.counts() == {"created": 2, "updated": 0, "unchanged": 0}
    assert again.counts() == {"created": 0, "updated": 0, "unchanged": 2}
    assert renamed.updated == ["2"]
    assert (repository.entry(race, "2") or {})["name"] == "B2"


def test_a_corrected_result_raises_its_revision(engine: sa.Engine) -> None:
    repository = RaceRepository(engine)
    race = _race(repository)

    repository.save_results(race, [_finish("1", 10_800_000)])
    same = repository.save_results(race, [_finish("1", 10_800_000)])
    corrected = repository.save_results(race, [_finish("1", 10_795_000)])

    assert same.unchanged == 1
    assert corrected.updated == ["1/finish"]
    (stored,) = repository.results_of(race, "1")
    assert (stored["net_ms"], stored["revision"]) == (10_795_000, 2)


def test_standings_place_by_net_time_overall_and_in_category(engine: sa.Engine) -> None:
    repository = RaceRepository(engine)
    race = _race(repository)
    repository.save_entries(
        race,
        [Entry("1", "A", None, "M"), Entry("2", "B", None, "F"), Entry("3", "C", None, "M")],
    )
    repository.save_results(
        race,
        [_finish("1", 3000), _finish("2", 2000), _finish("3", 3000), _finish("9", 1000)],
    )

    standings = repository.standings(race)

    assert [(s.bib, s.place, s.category_place) for s in standings] == [
        ("9", 1, None),
        ("2", 2, 1),
        ("1", 3, 1),
        ("3", 3, 1),
    ]
    assert [s.bib for s in repository.standings(race, category="M")] == ["1", "3"]
    assert repository.known_bibs(race, ["1", "9", "404"]) == {"1"}


def test_another_service_never_sees_a_race_of_the_same_album_name(engine: sa.Engine) -> None:
    repository = RaceRepository(engine)
    ours = _race(repository, "runs")
    theirs = RaceRef("other", ours.album)
    repository.save_entries(ours, [Entry("1", "A")])
    repository.save_results(ours, [_finish("1", 1000)])

    assert repository.race(theirs) is None
    assert repository.entry(theirs, "1") is None
    assert repository.standings(theirs) == []
    created = repository.save_entries(theirs, [Entry("1", "Z")])
    assert created.created == ["1"]
    assert (repository.entry(ours, "1") or {})["name"] == "A"


def test_a_photos_bibs_are_replaced_on_a_re_read_and_staff_tags_kept(engine: sa.Engine) -> None:
    repository = RaceRepository(engine)
    bibs = PhotoBibs(engine)
    race = _race(repository)
    photo = str(uuid.uuid4())

    bibs.record(
        race, photo, [BibSighting("12", 0.91, "ocr", (1, 2, 3, 4)), BibSighting("7", 0.4, "ocr")]
    )
    bibs.record(race, photo, [BibSighting("12", 0.95, "ocr")])
    with engine.begin() as conn:  # staff tagged the runner the reader missed
        conn.execute(
            photo_bibs.insert().values(
                service=race.service, album=race.album, photo_id=photo, bib="88",
                confidence=1.0, source="staff", created_at=0.0,
            )
        )  # fmt: skip
    bibs.record(race, photo, [BibSighting("12", 0.95, "ocr"), BibSighting("88", 0.5, "ocr")])

    assert [(s.bib, s.confidence, s.source) for s in bibs.bibs_of(race, photo)] == [
        ("88", 1.0, "staff"),
        ("12", 0.95, "ocr"),
    ]
    assert bibs.photos_of(race, "12", 0.9) == [photo]
    assert bibs.photos_of(race, "12", 0.99) == []
    assert bibs.photos_of(RaceRef("other", race.album), "12", 0.0) == []
    bibs.forget_photo(race, photo)
    assert bibs.bibs_of(race, photo) == []


def test_the_sides_a_longer_entrants_bib_goes_on_are_found(engine: sa.Engine) -> None:
    repository = RaceRepository(engine)
    race = _race(repository)
    entries = ("1854", "854", "A-12", "7", "8541")
    repository.save_entries(race, [Entry(b, f"runner {b}") for b in entries])
    other = _race(repository, "other")
    repository.save_entries(other, [Entry("12345", "runner")])

    found = repository.longer_sides(race, ["854", "185", "12", "1854", "7", "234", "541"])

    # 234 is only inside another service's 12345; 1854 and 7 are inside no longer bib
    assert found == {
        "854": (True, True),
        "185": (False, True),
        "12": (True, False),
        "541": (True, False),
    }
