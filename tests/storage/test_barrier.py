"""The store's group commit: each wait is covered by a syncfs that began after it, concurrent
waits share one, and a failed syncfs fails exactly the waits it covered."""

from __future__ import annotations

import errno
import threading
import time
from pathlib import Path

import pytest

from bakusoku.storage.barrier import FileSystemBarrier, file_system_barrier
from bakusoku.storage.local import LocalObjectStore


class RecordingSyncFs:
    """Stands in for ``syncfs``: records when each call began and ended, taking ``seconds``."""

    def __init__(self, seconds: float = 0.05, fail_calls: frozenset[int] = frozenset()) -> None:
        self.seconds = seconds
        self.fail_calls = fail_calls
        self.calls: list[tuple[float, float]] = []
        self._lock = threading.Lock()

    def __call__(self, fd: int) -> None:
        began = time.monotonic()
        time.sleep(self.seconds)
        with self._lock:
            self.calls.append((began, time.monotonic()))
            number = len(self.calls)
        if number in self.fail_calls:
            raise OSError(errno.EIO, "syncfs failed: Input/output error")


def _wait_in_threads(barrier: FileSystemBarrier, count: int) -> list[tuple[float, float]]:
    spans: list[tuple[float, float]] = []
    lock = threading.Lock()

    def wait() -> None:
        asked = time.monotonic()
        barrier.wait()
        with lock:
            spans.append((asked, time.monotonic()))

    threads = [threading.Thread(target=wait) for _ in range(count)]
    for thread in threads:
        thread.start()
        time.sleep(0.005)
    for thread in threads:
        thread.join(10)
    return spans


def test_every_wait_is_covered_by_a_syncfs_that_began_after_it(tmp_path: Path) -> None:
    syncfs = RecordingSyncFs()
    barrier = FileSystemBarrier(tmp_path, syncfs)
    spans = _wait_in_threads(barrier, 20)
    assert len(spans) == 20
    for asked, returned in spans:
        assert any(asked <= began and ended <= returned for began, ended in syncfs.calls)


def test_concurrent_waits_share_syncfs_calls(tmp_path: Path) -> None:
    syncfs = RecordingSyncFs(seconds=0.1)
    barrier = FileSystemBarrier(tmp_path, syncfs)
    _wait_in_threads(barrier, 20)  # asked over ~0.1 s: one call in flight, one for the rest
    assert 1 <= len(syncfs.calls) <= 3


def test_a_failed_syncfs_fails_the_waits_it_covered_and_not_later_ones(tmp_path: Path) -> None:
    barrier = FileSystemBarrier(tmp_path, RecordingSyncFs(seconds=0.01, fail_calls=frozenset({1})))
    with pytest.raises(OSError, match="Input/output error"):
        barrier.wait()
    barrier.wait()  # the next syncfs succeeds


def test_a_store_whose_barrier_fails_keeps_nothing_and_records_no_event(tmp_path: Path) -> None:
    events: list[dict[str, object]] = []
    failing = FileSystemBarrier(tmp_path, RecordingSyncFs(seconds=0, fail_calls=frozenset({1})))
    store = LocalObjectStore(tmp_path / "objects", events.append, barrier=failing)
    with pytest.raises(OSError):
        store.put_object("photos", "uploads/a.jpg", b"jpeg bytes", content_type="image/jpeg")
    assert not store.object_path("photos", "uploads/a.jpg").exists()
    assert events == []
    store.put_object("photos", "uploads/a.jpg", b"jpeg bytes", content_type="image/jpeg")
    assert store.get_object("photos", "uploads/a.jpg") == b"jpeg bytes"
    assert len(events) == 1


def test_the_real_syncfs_makes_a_store_write_durable(tmp_path: Path) -> None:
    barrier = file_system_barrier(tmp_path / "objects")
    if barrier is None:
        pytest.skip("no syncfs on this platform")
    store = LocalObjectStore(tmp_path / "objects", barrier=barrier)
    info = store.put_object("photos", "uploads/b.jpg", b"x" * 100_000, content_type="image/jpeg")
    assert store.head_object("photos", "uploads/b.jpg").etag == info.etag
