from pathlib import Path

import pytest

from bakusoku.db.engine import create_db_engine
from bakusoku.db.photos import (
    DUPLICATE,
    READY,
    STATUSES,
    TRANSITIONS,
    InvalidCursorError,
    PhotoNotFoundError,
    PhotoRepository,
    decode_cursor,
    page_of,
)
from tests.schema import create_schema


@pytest.fixture
def repo(tmp_path: Path) -> PhotoRepository:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'test.db'}")
    create_schema(engine)
    return PhotoRepository(engine)


def _pending(repo: PhotoRepository, photo_id: str, album: str = "a") -> None:
    repo.create_pending(
        photo_id=photo_id,
        album=album,
        bucket="b",
        object_key=f"uploads/{album}/{photo_id}.jpg",
        filename="x.jpg",
        content_type="image/jpeg",
        declared_size=10,
    )


def _received(repo: PhotoRepository, photo_id: str, album: str = "a") -> None:
    repo.record_received(
        photo_id=photo_id,
        album=album,
        bucket="b",
        object_key=f"uploads/{album}/{photo_id}.jpg",
        etag="e",
        byte_size=10,
        sha256="s",
        content_type="image/jpeg",
        execution_name="ex",
    )


def test_status_moves_forward_only(repo: PhotoRepository) -> None:
    _pending(repo, "p1")
    assert not repo.mark_ready("p1", {"width": 1})  # not processing yet
    _received(repo, "p1")
    assert repo.get("p1")["status"] == "processing"
    assert repo.mark_ready("p1", {"width": 1, "height": 2})
    _received(repo, "p1")  # a late duplicate never rolls it back
    assert repo.get("p1")["status"] == "ready"
    assert not repo.mark_failed("p1", "image.corrupt", "late failure")
    assert repo.get("p1")["status"] == "ready"


def test_failed_photo_keeps_code_and_reason_and_can_be_redriven(repo: PhotoRepository) -> None:
    _received(repo, "p2")  # no pending row: an object that arrived another way
    assert repo.mark_failed("p2", "image.corrupt", "the JPEG data ends early")
    photo = repo.get("p2")
    assert (photo["status"], photo["error_code"]) == ("failed", "image.corrupt")
    _received(repo, "p2")  # re-drive
    assert repo.get("p2")["status"] == "processing"
    assert repo.get("p2")["error_code"] is None


def test_listing_pages_newest_first_with_filters(repo: PhotoRepository) -> None:
    for index in range(7):
        _pending(repo, f"p{index}", album="race" if index % 2 else "school")
    page = repo.list(album="school", limit=2)
    seen = [p["photo_id"] for p in page.items]
    while page.next_cursor:
        page = repo.list(album="school", limit=2, cursor=page.next_cursor)
        seen += [p["photo_id"] for p in page.items]
    assert seen == ["p6", "p4", "p2", "p0"]
    assert repo.list(statuses=["ready"]).items == []


def test_a_page_has_a_next_cursor_only_when_a_row_is_left_over() -> None:
    rows = [{"created_at": 10.0 - i, "photo_id": f"p{i}"} for i in range(3)]
    assert page_of(rows[:2], 2).next_cursor is None
    page = page_of(rows, 2)
    assert page.items == rows[:2]
    assert page.next_cursor is not None
    assert decode_cursor(page.next_cursor) == (9.0, "p1")


def test_unknown_photo_and_bad_cursor_are_typed_errors(repo: PhotoRepository) -> None:
    with pytest.raises(PhotoNotFoundError, match="'nope'"):
        repo.get("nope")
    with pytest.raises(InvalidCursorError):
        repo.list(cursor="not-a-cursor")


def test_ready_and_duplicate_are_final_and_every_rule_names_known_statuses() -> None:
    assert not [t.name for t in TRANSITIONS if {READY, DUPLICATE} & set(t.allowed_from)]
    for transition in TRANSITIONS:
        assert {transition.to, *transition.allowed_from} <= set(STATUSES), transition.name
