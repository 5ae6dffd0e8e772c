"""What ``bakusoku up`` prints for a person: banner, photo lines, summary (no servers: unit)."""

from __future__ import annotations

import dataclasses
import re
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bakusoku.config import Settings
from bakusoku.domain.keys import upload_key
from bakusoku.events import parse_object_created
from bakusoku.local.console import PhotoConsole, banner_lines
from bakusoku.local.routes import to_eventbridge
from bakusoku.storage.notifications import object_created_event
from bakusoku.workflow.engine import ExecutionDescription

PREFIX = "uploads/"
STARTED = datetime(2026, 11, 23, 20, 15, tzinfo=UTC)
READY_ID = "0b5c2a0e-4a51-4a39-9d4e-6a2f0d3c1e01"
FAILED_ID = "0b5c2a0e-4a51-4a39-9d4e-6a2f0d3c1e02"
DUPLICATE_ID = "0b5c2a0e-4a51-4a39-9d4e-6a2f0d3c1e03"
PHOTOS: dict[str, dict[str, Any]] = {
    READY_ID: {"filename": "IMG_0001.jpg", "status": "ready"},
    FAILED_ID: {
        "filename": "notes.jpg",
        "status": "failed",
        "error_code": "image.unsupported_format",
        "error_message": "The file is not a photo we accept.",
    },
    DUPLICATE_ID: {
        "filename": "IMG_0001 copy.jpg",
        "status": "duplicate",
        "duplicate_of": READY_ID,
    },
}
TIME = r"\d\d:\d\d:\d\d"


def upload_event(photo_id: str, size: int = 5 * 1024 * 1024) -> dict[str, Any]:
    key = upload_key(PREFIX, "sports-day", photo_id, "image/jpeg", service="demo")
    notification = object_created_event(
        bucket="bakusoku",
        key=key,
        size=size,
        etag="0123456789abcdef0123456789abcdef",
        sequencer="0055AED6DCD90281E5",
        region="us-east-1",
        event_time=STARTED,
    )
    return to_eventbridge(notification)


def ended(photo_id: str, seconds: float, status: str = "SUCCEEDED") -> ExecutionDescription:
    return ExecutionDescription(
        name=f"{photo_id}-run",
        execution_arn="arn:aws:states:us-east-1:123456789012:execution:photo-pipeline:x",
        state_machine_arn="arn:aws:states:us-east-1:123456789012:stateMachine:photo-pipeline",
        state_machine_name="photo-pipeline",
        status=status,
        input=upload_event(photo_id),
        output=None,
        error=None,
        cause=None,
        start_date=STARTED,
        stop_date=STARTED + timedelta(seconds=seconds),
    )


def console() -> tuple[PhotoConsole, list[str]]:
    lines: list[str] = []
    return PhotoConsole(PHOTOS.get, PREFIX, lines.append), lines


def test_a_received_upload_is_one_line_with_its_file_name_size_album_and_photo_id() -> None:
    printer, lines = console()
    (record,) = parse_object_created(upload_event(READY_ID))
    printer.received(record)
    assert len(lines) == 1
    assert re.fullmatch(
        rf"{TIME} received  IMG_0001\.jpg \(5\.0 MiB\) into sports-day, photo {READY_ID}", lines[0]
    ), lines


def test_each_ended_photo_is_one_line_ready_failed_with_its_code_or_duplicate() -> None:
    printer, lines = console()
    printer.ended(ended(READY_ID, 1.24))
    printer.ended(ended(FAILED_ID, 0.31, status="FAILED"))
    printer.ended(ended(DUPLICATE_ID, 0.08))
    assert [line[9:] for line in lines] == [
        "ready     IMG_0001.jpg in 1.2 s",
        "failed    notes.jpg in 310 ms: image.unsupported_format "
        "(The file is not a photo we accept.)",
        f"duplicate IMG_0001 copy.jpg in 80 ms: same bytes as photo {READY_ID}",
    ]


def test_an_execution_that_ended_without_a_final_photo_counts_as_failed_with_its_error() -> None:
    lookup = {READY_ID: {"filename": "IMG_0001.jpg", "status": "processing"}}
    lines: list[str] = []
    printer = PhotoConsole(lookup.get, PREFIX, lines.append)
    aborted = ended(READY_ID, 2.0, status="ABORTED")
    printer.ended(aborted)
    assert lines[0][9:] == "failed    IMG_0001.jpg in 2.0 s: ABORTED"
    assert printer.counts["failed"] == 1


def test_an_execution_whose_input_is_no_upload_prints_nothing() -> None:
    printer, lines = console()
    description = ended(READY_ID, 1.0)
    printer.ended(dataclasses.replace(description, input={"hello": "world"}))
    assert lines == [] and printer.summary().startswith("photos this run: 0 received")


def test_the_summary_counts_this_run_and_gives_the_median_time_to_ready() -> None:
    printer, _ = console()
    for photo_id in (READY_ID, FAILED_ID, DUPLICATE_ID):
        (record,) = parse_object_created(upload_event(photo_id))
        printer.received(record)
    for seconds in (1.0, 3.0, 2.0):
        printer.ended(ended(READY_ID, seconds))
    printer.ended(ended(FAILED_ID, 0.5, status="FAILED"))
    assert printer.summary() == (
        "photos this run: 3 received, 3 ready, 1 failed, 0 duplicate; p50 to ready 2.0 s"
    )


def test_the_banner_says_where_everything_is_and_hides_a_database_password() -> None:
    settings = Settings(
        data_dir=Path("/srv/bakusoku"),
        port=9000,
        workers=3,
        database_url="postgresql://bakusoku:s3cret-pw@db.internal:5432/bakusoku",
    )
    lines = banner_lines(settings, "1.2.3")
    assert lines[0] == "bakusoku 1.2.3 is up"
    assert (
        "  web app:      http://127.0.0.1:9000/  (upload page: http://127.0.0.1:9000/upload)"
        in lines
    )
    assert "  object store: http://127.0.0.1:9001/bakusoku" in lines
    assert "  database:     postgresql://bakusoku:***@db.internal:5432/bakusoku" in lines
    assert "  workers:      3" in lines
    assert lines[-1] == "Press Ctrl-C to stop."
    assert not any("s3cret-pw" in line for line in lines)
    assert not any(line.startswith(("  faces:", "  bibs:")) for line in lines)  # extras here


def test_the_banner_says_when_the_face_index_or_the_bib_reader_lacks_its_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "numpy", None)  # as without the faces and bibs extras
    monkeypatch.setitem(sys.modules, "onnxruntime", None)

    lines = banner_lines(Settings(), "1.2.3")

    assert lines[-3:] == [
        "  faces:        not indexed: face_index is 'embedded' but numpy is not installed:"
        " install the 'faces' extra (pip install 'bakusoku[faces]'), or set face_index to off",
        "  bibs:         not read: bib_reader is 'embedded' but the text engine is not installed:"
        " install the 'bibs' extra (pip install 'bakusoku[bibs]'), or set bib_reader to"
        " rekognition or off",
        "Press Ctrl-C to stop.",
    ]
    off = banner_lines(Settings(face_index="off", bib_reader="off"), "1.2.3")
    assert not any(line.startswith(("  faces:", "  bibs:")) for line in off)
