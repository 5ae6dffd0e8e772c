"""The local object store: atomic, consistent, race-free writes with one event per stored object."""

from __future__ import annotations

import base64
import hashlib
import io
import os
import threading
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from bakusoku.storage.errors import (
    BucketNotFoundError,
    EntityTooLargeError,
    InvalidBucketNameError,
    InvalidKeyError,
    ObjectExistsError,
    ObjectNotFoundError,
    S3Error,
)
from bakusoku.storage.local import LocalObjectStore
from bakusoku.storage.notifications import KeyFilter

BUCKET = "photos"


@pytest.fixture
def events() -> list[dict[str, Any]]:
    return []


@pytest.fixture
def store(tmp_path: Path, events: list[dict[str, Any]]) -> LocalObjectStore:
    return LocalObjectStore(tmp_path / "objects", events.append, "eu-west-1", buckets=[BUCKET])


def _visible_files(store: LocalObjectStore) -> list[str]:
    root = store.root
    return sorted(
        str(p.relative_to(root))
        for p in root.rglob("*")
        if p.is_file() and p.relative_to(root).parts[0] != ".meta"
    )


def test_put_then_read_back_everything(
    store: LocalObjectStore, events: list[dict[str, Any]]
) -> None:
    data = b"jpeg bytes"
    info = store.put_object(
        BUCKET,
        "uploads/a b.jpg",
        data,
        content_type="image/jpeg",
        metadata={"X-Amz-Meta-Photo-Id": "p1"},
    )

    assert info.etag == f'"{hashlib.md5(data).hexdigest()}"'
    assert info.size == len(data)
    assert store.get_object(BUCKET, "uploads/a b.jpg") == data
    assert store.head_object(BUCKET, "uploads/a b.jpg") == info
    assert info.metadata == {"photo-id": "p1"}
    with store.open_object(BUCKET, "uploads/a b.jpg") as reader:
        assert reader.info == info
        assert reader.read(4) == b"jpeg"
    assert store.object_path(BUCKET, "uploads/a b.jpg").read_bytes() == data
    (event,) = events
    record = event["Records"][0]
    assert record["awsRegion"] == "eu-west-1"
    assert record["s3"]["object"] == {
        "key": "uploads/a+b.jpg",
        "size": len(data),
        "eTag": info.etag_hex,
        "sequencer": record["s3"]["object"]["sequencer"],
    }


def test_bodies_can_be_files_and_iterators(store: LocalObjectStore) -> None:
    store.put_object(BUCKET, "f", io.BytesIO(b"from file"), content_type="text/plain")
    store.put_object(BUCKET, "i", iter([b"from ", b"iterator"]), content_type="text/plain")
    assert store.get_object(BUCKET, "f") == b"from file"
    assert store.get_object(BUCKET, "i") == b"from iterator"


def test_twenty_megabyte_stream_uses_bounded_memory(store: LocalObjectStore) -> None:
    chunk = os.urandom(256 * 1024)
    count = 80  # 20 MiB

    def body() -> Iterator[bytes]:
        for _ in range(count):
            yield chunk

    tracemalloc.start()
    try:
        info = store.put_object(BUCKET, "big.bin", body(), content_type="image/jpeg")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert info.size == len(chunk) * count
    assert peak < 4 * 1024 * 1024, peak


def test_sequencers_grow_per_key(store: LocalObjectStore, events: list[dict[str, Any]]) -> None:
    for i in range(3):
        store.put_object(BUCKET, "same.jpg", f"v{i}".encode(), content_type="image/jpeg")
    sequencers = [e["Records"][0]["s3"]["object"]["sequencer"] for e in events]
    assert sequencers == sorted(sequencers) and len(set(sequencers)) == 3


def test_key_filter_sends_events_only_for_matching_keys(tmp_path: Path) -> None:
    events: list[dict[str, Any]] = []
    store = LocalObjectStore(
        tmp_path,
        event_sink=events.append,
        durable=False,
        event_filter=KeyFilter(prefix="uploads/", suffix=".jpg"),
    )
    store.put_object(BUCKET, "uploads/a/1.jpg", b"x", content_type="image/jpeg")
    store.put_object(BUCKET, "renditions/a/1/thumb.jpg", b"x", content_type="image/jpeg")
    store.put_object(BUCKET, "uploads/a/2.png", b"x", content_type="image/png")
    keys = [e["Records"][0]["s3"]["object"]["key"] for e in events]
    assert keys == ["uploads/a/1.jpg"]
    assert store.head_object(BUCKET, "renditions/a/1/thumb.jpg").size == 1  # stored all the same


def test_list_objects_by_prefix_in_s3_order(store: LocalObjectStore) -> None:
    for key in ["b/2.jpg", "a/1.jpg", "a/10.jpg", "a/2.jpg", "ab.jpg"]:
        store.put_object(BUCKET, key, b"x", content_type="image/jpeg")
    assert [o.key for o in store.list_objects(BUCKET)] == [
        "a/1.jpg",
        "a/10.jpg",
        "a/2.jpg",
        "ab.jpg",
        "b/2.jpg",
    ]
    assert [o.key for o in store.list_objects(BUCKET, "a/")] == ["a/1.jpg", "a/10.jpg", "a/2.jpg"]
    assert [o.key for o in store.list_objects(BUCKET, "a")] == [
        "a/1.jpg",
        "a/10.jpg",
        "a/2.jpg",
        "ab.jpg",
    ]
    assert store.list_objects(BUCKET, "zzz/") == []


def test_delete_is_idempotent_and_prunes_directories(store: LocalObjectStore) -> None:
    store.put_object(BUCKET, "deep/er/x.jpg", b"x", content_type="image/jpeg")
    store.delete_object(BUCKET, "deep/er/x.jpg")
    store.delete_object(BUCKET, "deep/er/x.jpg")
    with pytest.raises(ObjectNotFoundError) as exc:
        store.head_object(BUCKET, "deep/er/x.jpg")
    assert (exc.value.code, exc.value.status) == ("NoSuchKey", 404)
    assert not (store.root / BUCKET / "deep").exists()
    store.put_object(BUCKET, "deep", b"now a file", content_type="text/plain")


@pytest.mark.parametrize(
    "key",
    ["../escape", "a/../../b", "/abs/path", "a//b", "a/./b", "trailing/", "nul\x00byte", "", "."],
)
def test_unsafe_keys_are_refused(store: LocalObjectStore, key: str) -> None:
    with pytest.raises(InvalidKeyError):
        store.put_object(BUCKET, key, b"x", content_type="text/plain")
    assert _visible_files(store) == []


def test_key_over_1024_bytes_is_refused(store: LocalObjectStore) -> None:
    key = "/".join(["d" * 200] * 6)
    with pytest.raises(InvalidKeyError) as exc:
        store.put_object(BUCKET, key, b"x", content_type="text/plain")
    assert exc.value.code == "KeyTooLongError"


def test_key_that_is_also_a_prefix_is_refused_with_a_clear_error(store: LocalObjectStore) -> None:
    store.put_object(BUCKET, "a/b", b"x", content_type="text/plain")
    with pytest.raises(InvalidKeyError, match="prefix"):
        store.put_object(BUCKET, "a", b"y", content_type="text/plain")
    with pytest.raises(InvalidKeyError, match="prefix"):
        store.put_object(BUCKET, "a/b/c", b"y", content_type="text/plain")
    assert store.get_object(BUCKET, "a/b") == b"x"


def test_buckets_are_checked(tmp_path: Path) -> None:
    strict = LocalObjectStore(tmp_path, auto_create_buckets=False)
    with pytest.raises(BucketNotFoundError):
        strict.put_object("missing", "k", b"x", content_type="text/plain")
    with pytest.raises(BucketNotFoundError):
        strict.get_object("missing", "k")
    with pytest.raises(InvalidBucketNameError):
        strict.create_bucket("Bad_Bucket")
    relaxed = LocalObjectStore(tmp_path)
    relaxed.put_object("created", "k", b"x", content_type="text/plain")
    assert relaxed.bucket_exists("created")


def test_if_none_match_refuses_an_existing_key(
    store: LocalObjectStore, events: list[dict[str, Any]]
) -> None:
    store.put_object(BUCKET, "k", b"first", content_type="text/plain", if_none_match=True)
    with pytest.raises(ObjectExistsError) as exc:
        store.put_object(BUCKET, "k", b"second", content_type="text/plain", if_none_match=True)
    assert (exc.value.code, exc.value.status) == ("PreconditionFailed", 412)
    assert store.get_object(BUCKET, "k") == b"first"
    assert len(events) == 1


def test_concurrent_conditional_creates_have_exactly_one_winner(
    store: LocalObjectStore, events: list[dict[str, Any]]
) -> None:
    def put(key: str, i: int, barrier: threading.Barrier, winners: list[int]) -> None:
        pending = store.begin_put(BUCKET, key, content_type="text/plain", if_none_match=True)
        pending.write(f"writer {i}".encode())
        barrier.wait()
        try:
            pending.commit()
            winners.append(i)
        except ObjectExistsError:
            pass

    for round_ in range(20):
        key = f"race/{round_}"
        winners: list[int] = []
        barrier = threading.Barrier(8)
        threads = [threading.Thread(target=put, args=(key, i, barrier, winners)) for i in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(winners) == 1
        assert store.get_object(BUCKET, key) == f"writer {winners[0]}".encode()
    assert len(events) == 20
    assert list((store.root / ".tmp").iterdir()) == []


def test_oversize_body_stores_nothing(
    store: LocalObjectStore, events: list[dict[str, Any]]
) -> None:
    with pytest.raises(EntityTooLargeError) as exc:
        store.put_object(BUCKET, "k", b"x" * 11, content_type="text/plain", max_size=10)
    assert (exc.value.code, exc.value.status) == ("EntityTooLarge", 400)
    assert _visible_files(store) == []
    assert events == []


def test_failed_stream_leaves_nothing(store: LocalObjectStore) -> None:
    def body() -> Iterator[bytes]:
        yield b"partial"
        raise ConnectionError("client went away")

    with pytest.raises(ConnectionError):
        store.put_object(BUCKET, "k", body(), content_type="text/plain")
    assert _visible_files(store) == []


def test_sink_failure_undoes_the_write(tmp_path: Path) -> None:
    def broken_sink(event: dict[str, Any]) -> None:
        raise RuntimeError("event bus unavailable")

    store = LocalObjectStore(tmp_path, broken_sink, buckets=[BUCKET])
    with pytest.raises(RuntimeError, match="event bus unavailable"):
        store.put_object(BUCKET, "a/k.jpg", b"x", content_type="image/jpeg", if_none_match=True)
    with pytest.raises(ObjectNotFoundError):
        store.head_object(BUCKET, "a/k.jpg")
    assert _visible_files(store) == []
    # The key is free again, so the client's retry can succeed once the sink is back.
    store.event_sink = None
    store.put_object(BUCKET, "a/k.jpg", b"x", content_type="image/jpeg", if_none_match=True)


def test_readers_never_see_mixed_writes(store: LocalObjectStore) -> None:
    """Each read's ETag matches its bytes while a writer keeps replacing the object."""
    bodies = [os.urandom(50_000 + i) for i in range(5)]
    store.put_object(BUCKET, "hot.jpg", bodies[0], content_type="image/jpeg")
    stop = threading.Event()
    mismatches: list[str] = []

    def writer() -> None:
        i = 0
        while not stop.is_set():
            i += 1
            store.put_object(BUCKET, "hot.jpg", bodies[i % 5], content_type="image/jpeg")

    def reader() -> None:
        for _ in range(300):
            with store.open_object(BUCKET, "hot.jpg") as handle:
                data = handle.read()
                if handle.info.etag_hex != hashlib.md5(data).hexdigest():
                    mismatches.append(handle.info.etag)
                if handle.info.size != len(data):
                    mismatches.append(f"size {handle.info.size} != {len(data)}")

    threads = [threading.Thread(target=writer)] + [
        threading.Thread(target=reader) for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads[1:]:
        thread.join()
    stop.set()
    threads[0].join()
    assert mismatches == []


def test_lost_sidecar_is_rebuilt_from_the_bytes(store: LocalObjectStore) -> None:
    data = b"orphan bytes"
    store.put_object(BUCKET, "k.bin", data, content_type="application/x-thing")
    for sidecar in (store.root / ".meta").rglob("*.json"):
        sidecar.unlink()
    info = store.head_object(BUCKET, "k.bin")
    assert info.etag_hex == hashlib.md5(data).hexdigest()
    assert info.size == len(data)


def test_metadata_rules(store: LocalObjectStore) -> None:
    with pytest.raises(S3Error) as exc:
        store.put_object(BUCKET, "k", b"x", content_type="t", metadata={"a": "é"})
    assert exc.value.code == "InvalidArgument"
    with pytest.raises(S3Error) as exc:
        store.put_object(BUCKET, "k", b"x", content_type="t", metadata={"a": "v" * 3000})
    assert exc.value.code == "MetadataTooLarge"


def test_put_stream_from_an_async_iterator(store: LocalObjectStore) -> None:
    async def chunks() -> Any:
        for part in (b"as", b"ync"):
            yield part

    async def main() -> None:
        info = await store.put_stream(BUCKET, "async.txt", chunks(), content_type="text/plain")
        assert info.size == 5

    anyio.run(main)
    assert store.get_object(BUCKET, "async.txt") == b"async"


def test_content_md5_is_checked(store: LocalObjectStore, events: list[dict[str, Any]]) -> None:
    good = base64.b64encode(hashlib.md5(b"abc").digest()).decode()
    with store.begin_put(BUCKET, "md5", content_type="t", content_md5=good) as pending:
        pending.write(b"abc")
        pending.commit()
    with store.begin_put(BUCKET, "md5-bad", content_type="t", content_md5=good) as pending:
        pending.write(b"abd")
        with pytest.raises(S3Error) as exc:
            pending.commit()
    assert (exc.value.code, exc.value.status) == ("BadDigest", 400)
    with pytest.raises(S3Error) as exc:
        store.begin_put(BUCKET, "md5-bad", content_type="t", content_md5="not base64")
    assert exc.value.code == "InvalidDigest"
    assert [o.key for o in store.list_objects(BUCKET)] == ["md5"]
    assert len(events) == 1
