"""Photo rows on SQLite, MariaDB and PostgreSQL: forward-only status, upserts, event order."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa

from bakusoku.db.engine import create_db_engine
from bakusoku.db.photos import Failure, PhotoRepository, Received, key_folder
from bakusoku.db.schema import photos
from bakusoku.domain.keys import upload_key


@pytest.fixture
def repo(db_url: str) -> Iterator[PhotoRepository]:
    engine = create_db_engine(db_url, pool_size=8)
    yield PhotoRepository(engine)
    engine.dispose()


def _received(repo: PhotoRepository, photo_id: str, sequencer: str, etag: str = "e1") -> None:
    repo.record_received(
        photo_id=photo_id,
        album="race",
        bucket="b",
        object_key=f"uploads/race/{photo_id}.jpg",
        etag=etag,
        byte_size=10,
        sha256="s" * 64,
        content_type="image/jpeg",
        execution_name=f"ex-{etag}",
        sequencer=sequencer,
    )


def test_status_only_moves_forward(repo: PhotoRepository) -> None:
    photo_id = str(uuid.uuid4())
    repo.create_pending(
        photo_id=photo_id,
        album="race",
        bucket="b",
        object_key=f"uploads/race/{photo_id}.jpg",
        filename="a.jpg",
        content_type="image/jpeg",
        declared_size=10,
    )
    assert not repo.mark_ready(photo_id, {"width": 1})
    _received(repo, photo_id, "0001")
    assert repo.mark_ready(photo_id, {"width": 1, "height": 2, "renditions": {"thumb": {}}})
    _received(repo, photo_id, "0001")  # a duplicate delivery after ready
    assert not repo.mark_failed(photo_id, "image.corrupt", "late")
    photo = repo.get(photo_id)
    assert (photo["status"], photo["width"], photo["renditions"]) == ("ready", 1, {"thumb": {}})


def test_an_older_event_never_rolls_a_newer_one_back(repo: PhotoRepository) -> None:
    photo_id = str(uuid.uuid4())
    _received(repo, photo_id, "0062E1A3C5F0000002", etag="new")
    _received(repo, photo_id, "0062E1A3C5F0000001", etag="old")  # arrives late
    assert repo.get(photo_id)["etag"] == "new"
    _received(repo, photo_id, "62E1A3C5F0000003", etag="newer")  # shorter, still later
    assert repo.get(photo_id)["etag"] == "newer"
    assert repo.get(photo_id)["sequencer"].endswith("62E1A3C5F0000003")


def test_concurrent_deliveries_make_one_row(repo: PhotoRepository) -> None:
    photo_id = str(uuid.uuid4())
    with ThreadPoolExecutor(5) as pool:
        for future in [pool.submit(_received, repo, photo_id, "00AA") for _ in range(5)]:
            future.result()
    with repo._engine.connect() as conn:
        count = conn.execute(
            sa.select(sa.func.count()).where(photos.c.object_key == f"uploads/race/{photo_id}.jpg")
        ).scalar()
    assert count == 1
    assert repo.get(photo_id)["status"] == "processing"


def test_receive_writes_details_and_finds_the_album_s_first_copy_in_one_call(
    repo: PhotoRepository,
) -> None:
    album, sha = f"album-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex * 2

    def receive(photo_id: str, look: bool) -> Received:
        return repo.receive(
            photo_id=photo_id,
            album=album,
            bucket="b",
            object_key=f"uploads/{album}/{photo_id}.jpg",
            etag="e1",
            byte_size=10,
            sha256=sha,
            content_type="image/jpeg",
            execution_name=None,
            details={"width": 4000, "height": 3000, "camera_make": "Canon"},
            look_for_original=look,
        )

    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    got = receive(first, True)
    assert got.original is None
    assert (got.photo["status"], got.photo["width"], got.photo["camera_make"]) == (
        "processing",
        4000,
        "Canon",
    )
    assert repo.mark_ready(first, {"renditions": {}})
    again = receive(second, True)
    assert again.original is not None and again.original["photo_id"] == first
    assert receive(second, False).original is None  # only looked up when asked


def test_a_redrive_moves_only_a_failed_photo_once_and_can_be_undone(
    repo: PhotoRepository,
) -> None:
    photo_id = str(uuid.uuid4())
    _received(repo, photo_id, "0001")
    assert repo.redrive_failed(photo_id, "ex-redrive-1") is None  # processing: nothing to redo
    assert repo.mark_failed(photo_id, "image.corrupt", "the JPEG data ends early")
    failure = repo.redrive_failed(photo_id, "ex-redrive-1")
    assert failure == Failure("ex-e1", "image.corrupt", "the JPEG data ends early")
    photo = repo.get(photo_id)
    assert (photo["status"], photo["execution_name"], photo["error_code"]) == (
        "processing",
        "ex-redrive-1",
        None,
    )
    assert repo.redrive_failed(photo_id, "ex-redrive-1") is None  # a concurrent re-drive
    assert not repo.undo_redrive(photo_id, "ex-redrive-2", failure)  # another execution's
    assert repo.get(photo_id)["status"] == "processing"
    assert repo.undo_redrive(photo_id, "ex-redrive-1", failure)
    photo = repo.get(photo_id)
    assert Failure(photo["execution_name"], photo["error_code"], photo["error_message"]) == failure
    assert photo["status"] == "failed"


def test_a_ready_photo_is_never_redriven(repo: PhotoRepository) -> None:
    photo_id = str(uuid.uuid4())
    _received(repo, photo_id, "0001")
    assert repo.mark_ready(photo_id, {"renditions": {}})
    assert repo.redrive_failed(photo_id, "ex-redrive-1") is None
    assert not repo.undo_redrive(photo_id, "ex-e1", Failure("ex-e1", "image.corrupt", "late"))
    assert repo.get(photo_id)["status"] == "ready"


def test_the_upload_s_trace_parent_is_kept_without_a_status_change(repo: PhotoRepository) -> None:
    photo_id = str(uuid.uuid4())
    _received(repo, photo_id, "0001")
    traceparent = f"00-{uuid.uuid4().hex}-{uuid.uuid4().hex[:16]}-01"
    repo.record_trace_parent(photo_id, traceparent)
    photo = repo.get(photo_id)
    assert (photo["trace_parent"], photo["status"]) == (traceparent, "processing")


def test_a_photo_repeats_only_photos_of_its_own_service_and_album(repo: PhotoRepository) -> None:
    """Same album name, same bytes: another service's (or another album's) photo is never the
    original, so no derived fact relates two tenants."""
    sha, album = uuid.uuid4().hex * 2, f"shared-{uuid.uuid4().hex[:6]}"

    def receive(service: str | None, album_name: str = album) -> str:
        photo_id = str(uuid.uuid4())
        key = upload_key("uploads/", album_name, photo_id, "image/jpeg", service=service)
        got = repo.receive(
            photo_id=photo_id,
            album=album_name,
            bucket="b",
            object_key=key,
            etag="e1",
            byte_size=10,
            sha256=sha,
            content_type="image/jpeg",
            execution_name=None,
            look_for_original=True,
        )
        assert got.original is None, (service, album_name, got.original)
        assert repo.mark_ready(photo_id, {"renditions": {}})
        return photo_id

    a_photo = receive("school-a")
    for other in (receive("school-b"), receive("school-a", album + "x"), receive(None)):
        assert repo.find_original(other) is None
    again = str(uuid.uuid4())
    repo.record_received(
        photo_id=again,
        album=album,
        bucket="b",
        object_key=upload_key("uploads/", album, again, "image/jpeg", service="school-a"),
        etag="e1",
        byte_size=10,
        sha256=sha,
        content_type="image/jpeg",
        execution_name=None,
    )
    original = repo.find_original(again)
    assert original is not None and original["photo_id"] == a_photo
    assert repo.mark_duplicate(again, a_photo)
    assert repo.duplicates_of(repo.get(a_photo)) == [again]
    # a duplicate pointing across services (written before duplicates were scoped) is not named
    stray = receive("school-c")
    with repo._engine.begin() as conn:
        conn.execute(photos.update().where(photos.c.photo_id == stray).values(duplicate_of=a_photo))
    assert repo.duplicates_of(repo.get(a_photo)) == [again]


def test_a_key_s_folder_is_its_service_and_album() -> None:
    key = upload_key("uploads/", "sports", str(uuid.uuid4()), "image/png", service="school-a")
    assert key_folder(key) == "uploads/school-a/sports/"
    assert key_folder("uploads/sports/x.jpg") == "uploads/sports/"
    assert key_folder("top-level.jpg") == ""
