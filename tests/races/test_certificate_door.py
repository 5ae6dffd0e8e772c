"""The certificate door: started once both a finish result and a confident photo exist, in either
order; a repeat starts nothing; a correction or a better photo starts a new certificate. The
pure rules without I/O, then the door on each database with a starter that records its calls."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
import sqlalchemy as sa

from bakusoku import arns
from bakusoku.db.engine import create_db_engine
from bakusoku.pipeline.certificate_workflow import EngineStarter
from bakusoku.races.certificate_door import (
    SETTLE_SECONDS,
    CertificateDoor,
    execution_input,
    execution_name,
    finish_revision,
    key_for,
    key_of,
)
from bakusoku.races.certificate_records import FAILED, CertificateKey, Certificates
from bakusoku.races.records import Entry, Result
from bakusoku.races.repository import BibSighting, PhotoBibs, RaceRef, RaceRepository
from bakusoku.workflow.engine import WorkflowEngine
from bakusoku.workflow.invoker import FunctionInvoker
from bakusoku.workflow.model import validate_name

RACE = RaceRef("runs", "shonan-2026")
PHOTO = "0b9a4b0e-6f55-4c39-9b0e-2f1c53a3c001"
GONE = arns.arn("states", "us-east-1", "000000000000", "stateMachine:certificate-gone")


def _result(
    checkpoint: str = "finish", net: int | None = 11_565_000, revision: int = 1
) -> dict[str, Any]:
    return {"checkpoint": checkpoint, "net_ms": net, "gun_ms": None, "revision": revision}


# ---- the rules (no I/O) ----------------------------------------------------------------------


def test_only_a_finish_time_counts() -> None:
    assert finish_revision([]) is None
    assert finish_revision([_result("10k")]) is None
    assert finish_revision([_result(net=None)]) is None
    assert finish_revision([_result("10k"), _result(revision=3)]) == 3


def test_both_inputs_are_needed_and_the_best_photo_is_taken() -> None:
    assert key_for(RACE, "1024", [_result()], []) is None
    assert key_for(RACE, "1024", [], [PHOTO]) is None
    key = key_for(RACE, "1024", [_result(revision=2)], [PHOTO, "other"])
    assert key == CertificateKey(RACE, "1024", 2, PHOTO)


def test_the_execution_name_is_valid_readable_and_unique_per_input() -> None:
    key = CertificateKey(RACE, "ABCDEFGHIJKLMNOP", 12, PHOTO)
    name = execution_name(key)
    validate_name(name)  # Step Functions' rules: at most 80 characters of the allowed ones
    assert name.startswith("cert-ABCDEFGHIJKLMNOP-r12-")
    assert execution_name(key) == name
    others = {
        execution_name(CertificateKey(RACE, key.bib, 13, PHOTO)),
        execution_name(CertificateKey(RACE, key.bib, 12, "another-photo")),
        execution_name(CertificateKey(RaceRef("runs", "other"), key.bib, 12, PHOTO)),
        execution_name(CertificateKey(RaceRef("walks", RACE.album), key.bib, 12, PHOTO)),
    }
    assert name not in others and len(others) == 4


def test_the_input_names_the_certificate() -> None:
    key = CertificateKey(RACE, "77", 4, PHOTO)
    assert key_of(execution_input(key)) == key
    assert key_of({**execution_input(key), "error": {"Error": "X"}}) == key


# ---- the door on each database -----------------------------------------------------------------


class RecordingStarter:
    """Starts nothing: records each start, and refuses a name it saw end (as StartExecution)."""

    def __init__(self) -> None:
        self.started: list[tuple[str, dict[str, Any]]] = []

    def start(self, name: str, input: Mapping[str, Any]) -> bool:
        if any(n == name for n, _ in self.started):
            return False
        self.started.append((name, dict(input)))
        return True

    def redrive(self, name: str) -> bool:
        return False  # nothing here ever ends


@pytest.fixture
def engine(db_url: str) -> Iterator[sa.Engine]:
    engine = create_db_engine(db_url)
    yield engine
    engine.dispose()


def _door(engine: sa.Engine) -> tuple[CertificateDoor, RecordingStarter, RaceRef]:
    races = RaceRepository(engine)
    race = RaceRef("runs", f"marathon-{uuid.uuid4().hex[:8]}")
    races.save_race(race, name="湘南", race_date="2026-12-06", course=None, timezone="Asia/Tokyo")
    races.save_entries(race, [Entry("1024", "山田 太郎", "山田"), Entry("77", "佐藤 花子", "佐藤")])
    starter = RecordingStarter()
    return (
        CertificateDoor(races, PhotoBibs(engine), Certificates(engine), starter, 0.9),
        starter,
        race,
    )


def _see(engine: sa.Engine, race: RaceRef, photo: str, bib: str, confidence: float) -> None:
    PhotoBibs(engine).record(race, photo, [BibSighting(bib, confidence, "ocr")])


def _finish(engine: sa.Engine, race: RaceRef, bib: str, net_ms: int) -> None:
    RaceRepository(engine).save_results(race, [Result(bib, "finish", net_ms, None, None)])


@pytest.mark.integration
def test_results_then_photo_and_photo_then_results_each_start_one(engine: sa.Engine) -> None:
    door, starter, race = _door(engine)
    photo_a, photo_b = str(uuid.uuid4()), str(uuid.uuid4())

    _finish(engine, race, "1024", 11_565_000)
    assert door.after_results(race, ["1024"]) == []  # no photo yet
    _see(engine, race, photo_a, "1024", 0.97)
    (opened,) = door.after_bibs(race, ["1024"])

    _see(engine, race, photo_b, "77", 0.95)
    assert door.after_bibs(race, ["77"]) == []  # no result yet
    _finish(engine, race, "77", 12_000_000)
    (second,) = door.after_results(race, ["77"])

    assert opened.key == CertificateKey(race, "1024", 1, photo_a) and opened.started
    assert second.key == CertificateKey(race, "77", 1, photo_b) and second.started
    assert [name for name, _ in starter.started] == [opened.execution_name, second.execution_name]
    assert starter.started[0][1] == execution_input(opened.key)
    assert Certificates(engine).latest(race, "1024")["status"] == "making"  # type: ignore[index]


@pytest.mark.integration
def test_a_repeat_starts_nothing_and_a_correction_starts_revision_2(engine: sa.Engine) -> None:
    door, starter, race = _door(engine)
    photo = str(uuid.uuid4())
    _finish(engine, race, "1024", 11_565_000)
    _see(engine, race, photo, "1024", 0.99)
    (first,) = door.after_bibs(race, ["1024"])
    Certificates(engine).mark_failed(first.key, first.execution_name, "x", "made elsewhere")

    assert door.after_bibs(race, ["1024"]) == []  # read again
    assert door.after_results(race, ["1024"]) == []  # the same results posted again
    _finish(engine, race, "1024", 11_560_000)  # a timing correction
    (corrected,) = door.after_results(race, ["1024"])

    assert corrected.key.revision == 2 and corrected.started
    assert len(starter.started) == 2
    latest = Certificates(engine).latest(race, "1024")
    assert latest is not None and latest["revision"] == 2 and latest["status"] == "making"
    assert Certificates(engine).find(first.key)["status"] == FAILED  # type: ignore[index]


@pytest.mark.integration
def test_an_unsure_reading_opens_nothing_and_a_start_lost_is_started_again(
    engine: sa.Engine,
) -> None:
    door, starter, race = _door(engine)
    photo = str(uuid.uuid4())
    _finish(engine, race, "1024", 11_565_000)
    _see(engine, race, photo, "1024", 0.6)  # kept for staff, not the runner's photo
    assert door.after_bibs(race, ["1024"]) == []

    _see(engine, race, photo, "1024", 0.95)
    key = CertificateKey(race, "1024", 1, photo)
    Certificates(engine).begin(key, execution_name(key))  # the row, then the process died
    (opened,) = door.after_bibs(race, ["1024"])

    assert opened.started and starter.started[0][0] == execution_name(key)


@pytest.mark.integration
def test_a_failed_start_fails_no_caller_and_the_catch_up_starts_it(engine: sa.Engine) -> None:
    races = RaceRepository(engine)
    race = RaceRef("runs", f"marathon-{uuid.uuid4().hex[:8]}")
    races.save_race(race, name="湘南", race_date="2026-12-06", course=None, timezone="Asia/Tokyo")
    races.save_entries(race, [Entry(b, f"走者 {b}", "走者") for b in ("1", "2", "3", "4", "5")])
    # A starter whose state machine is gone: every start raises StateMachineDoesNotExist.
    gone = EngineStarter(WorkflowEngine(engine, FunctionInvoker({})), GONE)
    broken = CertificateDoor(races, PhotoBibs(engine), Certificates(engine), gone, 0.9)
    photos = {bib: str(uuid.uuid4()) for bib in ("1", "2", "3", "4", "5")}
    for bib in ("1", "2", "3"):
        _finish(engine, race, bib, 11_000_000 + int(bib))
    _see(engine, race, photos["1"], "1", 0.97)  # the door is asked, and fails
    _see(engine, race, photos["2"], "2", 0.97)  # recorded where the door was never asked
    _see(engine, race, photos["3"], "3", 0.6)  # unsure: no certificate
    _see(engine, race, photos["4"], "4", 0.99)  # no finish time: no certificate
    _finish(engine, race, "5", 12_000_000)
    _see(engine, race, photos["5"], "5", 0.99)

    assert broken.after_bibs(race, ["1"]) == []
    row = Certificates(engine).find(CertificateKey(race, "1", 1, photos["1"]))
    assert row is not None and row["status"] == "making"
    door, starter, _ = _door(engine)
    (made,) = door.after_bibs(race, ["5"])  # made already: never started again
    Certificates(engine).mark_failed(made.key, made.execution_name, "x", "made elsewhere")
    begun = row["updated_at"]
    settled = begun + SETTLE_SECONDS + 1

    def waiting(settled_before: float) -> list[str]:
        return [b for r, b in Certificates(engine).waiting(0.9, settled_before) if r == race]

    assert (waiting(begun - 1), waiting(settled)) == (["2"], ["1", "2"])
    soon = door.catch_up(now=begun + 1)  # "1" may still be starting: left alone
    later = door.catch_up(now=settled)  # "1" is started again, "2" too (idempotent by name)

    def started(bib: str) -> tuple[str, dict[str, Any]]:
        key = CertificateKey(race, bib, 1, photos[bib])
        return execution_name(key), execution_input(key)

    # The catch-up covers every race of the database (other tests' too): this race's starts.
    ours = [s for s in starter.started if s[1]["album"] == race.album]
    assert ours == [started("5"), started("2"), started("1")]
    assert soon.failed == later.failed == 0
    assert soon.started >= 1 and later.started >= 1
