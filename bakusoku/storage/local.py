"""The local stand-in for an S3 bucket: objects as files, atomic writes, object-created events.

:class:`LocalObjectStore` implements the :class:`~bakusoku.storage.base.ObjectStore` port and adds
what the local S3 endpoint (``storage.server``) needs: streaming writes, open readers, buckets.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import io
import json
import logging
import os
import threading
import time
from collections.abc import (
    AsyncIterable,
    AsyncIterator,
    Callable,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
)
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio.to_thread

from bakusoku.storage.barrier import FileSystemBarrier
from bakusoku.storage.base import (
    CHUNK_SIZE,
    DEFAULT_CONTENT_TYPE,
    ObjectBody,
    ObjectInfo,
    body_chunks,
)
from bakusoku.storage.direct_write import IOV_MAX, open_new, write_all
from bakusoku.storage.errors import (
    BucketNotFoundError,
    EntityTooLargeError,
    EntityTooSmallError,
    InvalidKeyError,
    ObjectExistsError,
    ObjectNotFoundError,
    S3Error,
    StorageError,
)
from bakusoku.storage.keys import check_bucket, check_key, check_metadata
from bakusoku.storage.notifications import (
    DEFAULT_CONFIGURATION_ID,
    DEFAULT_OWNER_ID,
    KeyFilter,
    KeyFilters,
    RequestContext,
    Sequencer,
    object_created_event,
)
from bakusoku.storage.writeback import start_writeback
from bakusoku.utc import to_datetime

log = logging.getLogger(__name__)

# One per process: stores opened on the same directory still issue growing sequencers per key.
_SEQUENCER = Sequencer()
# Background fdatasync of uploads in progress; small, because each call mostly waits on the disk.
_SYNC_POOL = ThreadPoolExecutor(max_workers=4, thread_name_prefix="bakusoku-store-sync")

EventSink = Callable[[dict[str, Any]], None]
Buffer = bytes | bytearray | memoryview

# Received chunks are hashed and written in batches of about this size, in a worker thread, while
# the next batch arrives from the socket. Measured with 16 clients of 5 MB: 1 MB batches ack
# sooner than 256 KB ones (fewer thread hops under load); the tail after the last byte stays ~2 ms.
WRITE_BATCH = 1024 * 1024
SYNC_EVERY = 1024 * 1024
# Hashing is the CPU-bound part of a write (MD5 releases the GIL): a thread per core, twice over
# so that one waiting on a full page cache does not idle a core.
_WRITE_POOL = ThreadPoolExecutor(
    max_workers=2 * (os.cpu_count() or 1), thread_name_prefix="bakusoku-store-write"
)
_CREATE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
STALE_TEMP_SECONDS = 24 * 3600
_META_DIR = ".meta"  # bucket names cannot start with '.', so these never clash with a bucket
_TMP_DIR = ".tmp"
# A reader that finds an object and its sidecar from different writes retries for about this long
# (the window is one rename) before it rebuilds the sidecar from the file.
_CONSISTENT_READ_ATTEMPTS = 60


class ObjectReader(io.BufferedReader):
    """A read-only binary file of one object, with the ``info`` that matches its bytes."""

    info: ObjectInfo


class PendingObject:
    """An object being written: bytes go to a private temp file until :meth:`commit`.

    Nothing is visible under the key until ``commit`` returns; :meth:`abort` (or leaving a ``with``
    block without committing) removes every trace.
    """

    def __init__(
        self,
        store: LocalObjectStore,
        bucket: str,
        key: str,
        *,
        content_type: str,
        metadata: Mapping[str, str] | None,
        if_none_match: bool,
        max_size: int | None,
        min_size: int,
        context: RequestContext | None,
        content_md5: str | None = None,
    ) -> None:
        self._store = store
        self.bucket = bucket
        self.key = key
        self.content_type = content_type or DEFAULT_CONTENT_TYPE
        self.metadata = check_metadata(metadata)
        self.if_none_match = if_none_match
        self.max_size = max_size
        self.min_size = min_size
        self._expected_md5 = _decode_content_md5(content_md5)
        self.context = context
        self.size = 0
        self._md5 = hashlib.md5(usedforsecurity=False)
        self._tmp = store._new_temp_path("obj")
        # Unbuffered: each chunk goes from the network's buffer to the disk (storage.direct_write)
        # or the page cache in one call, so commit does not pay for the last megabyte's copy
        # after the client has finished.
        fd, self._direct = open_new(self._tmp, _CREATE_FLAGS, 0o644, direct=store.direct_writes)
        self._fd: int | None = fd
        # A batch hashed and written in a worker thread, commit and abort never overlap.
        self._lock = threading.Lock()
        self._done = False
        self._synced = 0
        self._sync: Future[None] | None = None

    def write(self, data: Buffer) -> None:
        """Append ``data``; past ``max_size`` the upload is aborted and EntityTooLarge raised."""
        if self._fd is None:
            raise StorageError(f"The upload of {self.key!r} is already committed or aborted.")
        self.write_many([data])

    def write_many(self, chunks: Sequence[Buffer]) -> None:
        """Append ``chunks`` in order: hash each once, then one ``writev`` (no joined copy).

        Safe to run in a worker thread while the event loop receives the next chunks; after an
        abort it does nothing, so a batch still queued behind the abort cannot recreate the file.
        """
        with self._lock:
            if self._fd is None:
                return
            self.size += sum(len(chunk) for chunk in chunks)
            if self.max_size is not None and self.size > self.max_size:
                self._abort_locked()
                raise EntityTooLargeError(
                    "Your proposed upload exceeds the maximum allowed size",
                    extra={"ProposedSize": str(self.size), "MaxSizeAllowed": str(self.max_size)},
                )
            for chunk in chunks:
                self._md5.update(chunk)
            self._direct = write_all(self._fd, chunks, direct=self._direct)
            if self._store.durable and not self._direct:  # (direct writes leave nothing dirty)
                self._flush_early()

    def _flush_early(self) -> None:
        """Start flushing what has arrived to disk while the rest is still on the wire.

        Then the fsync at commit only waits for the tail: for a 5 MB upload that is the difference
        between acknowledging ~2 ms and ~6 ms after the last byte. On Linux the writer queues the
        new range itself (``storage.writeback``); elsewhere a helper thread runs ``fdatasync``.
        """
        assert self._fd is not None
        if self.size - self._synced < SYNC_EVERY:
            return
        if start_writeback is not None:
            start_writeback(self._fd, self._synced, self.size - self._synced)
            self._synced = self.size
            return
        if self._sync is not None and not self._sync.done():
            return
        self._synced = self.size
        self._sync = _SYNC_POOL.submit(os.fdatasync, self._fd)

    def commit(self) -> ObjectInfo:
        """Make the object visible, emit its event, and return its info; abort on any failure."""
        with self._lock:
            return self._commit_locked()

    def _commit_locked(self) -> ObjectInfo:
        if self._fd is None or self._done:
            raise StorageError(f"The upload of {self.key!r} is already committed or aborted.")
        try:
            if self.size < self.min_size:
                raise EntityTooSmallError(
                    "Your proposed upload is smaller than the minimum allowed size",
                    extra={"ProposedSize": str(self.size), "MinSizeAllowed": str(self.min_size)},
                )
            if self._expected_md5 is not None and self._md5.digest() != self._expected_md5:
                raise S3Error(
                    "The Content-MD5 you specified did not match what we received.",
                    code="BadDigest",
                    status=400,
                    extra={"ExpectedDigest": base64.b64encode(self._expected_md5).decode()},
                )
            self._wait_for_sync()
            # With a barrier, the store's one syncfs covers the bytes (LocalObjectStore._publish).
            if self._store.durable and self._store.barrier is None:
                os.fsync(self._fd)
            stat = os.fstat(self._fd)
            os.close(self._fd)
            self._fd = None
            info = ObjectInfo(
                bucket=self.bucket,
                key=self.key,
                size=self.size,
                etag=f'"{self._md5.hexdigest()}"',
                content_type=self.content_type,
                last_modified=datetime.now(UTC),
                metadata=self.metadata,
            )
            self._store._publish(self._tmp, info, stat, self.if_none_match, self.context)
            self._done = True
            return info
        finally:
            if not self._done:
                self._abort_locked()

    def _wait_for_sync(self) -> None:
        if self._sync is not None:
            with contextlib.suppress(OSError):
                self._sync.result()
            self._sync = None

    def abort(self) -> None:
        """Drop the upload; safe to call more than once (waits for a batch being written)."""
        with self._lock:
            self._abort_locked()

    def _abort_locked(self) -> None:
        self._done = True
        self._wait_for_sync()  # the fd must stay open while a background sync uses it
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._tmp)

    def __enter__(self) -> PendingObject:
        return self

    def __exit__(self, *exc: object) -> None:
        if not self._done:
            self.abort()


class LocalObjectStore:
    """Buckets as directories under ``root``; each object a file ``root/<bucket>/<key>``.

    Each object has a JSON sidecar (ETag, size, type, user metadata, last modified) under
    ``root/.meta``; partial uploads live in ``root/.tmp`` (same file system, so the final rename is
    atomic, and no half-written file ever shows under a bucket or in a listing). After every write
    whose key passes ``event_filter`` (S3's notification key filter; all keys by default), an S3
    object-created event goes to ``event_sink``; if the sink raises, the write is undone and the
    error propagates, so no stored object lacks its event.

    A write to a missing bucket creates it (``auto_create_buckets=False`` makes it S3's 404
    ``NoSuchBucket`` instead); reads from a missing bucket are ``NoSuchBucket``. ``durable=False``
    skips fsync (tests, benchmarks); the atomicity guarantees stay. ``direct_writes=True`` writes
    uploads past the page cache where the file system allows it (``storage.direct_write``);
    a ``barrier`` (``storage.barrier``) makes concurrent durable writes share one ``syncfs``
    instead of fsyncing each file and directory.
    """

    def __init__(
        self,
        root: Path,
        event_sink: EventSink | None = None,
        region: str = "us-east-1",
        *,
        buckets: Iterable[str] = (),
        durable: bool = True,
        direct_writes: bool = False,
        barrier: FileSystemBarrier | None = None,
        auto_create_buckets: bool = True,
        configuration_id: str = DEFAULT_CONFIGURATION_ID,
        owner_id: str = DEFAULT_OWNER_ID,
        event_filter: KeyFilter | KeyFilters | None = None,
    ) -> None:
        self.root = Path(root)
        self.event_sink = event_sink
        self.event_filter: KeyFilter | KeyFilters = event_filter or KeyFilter()
        self.region = region
        self.durable = durable
        self.direct_writes = direct_writes
        self.auto_create_buckets = auto_create_buckets
        self.configuration_id = configuration_id
        self.owner_id = owner_id
        self._tmp_dir = self.root / _TMP_DIR
        self._tmp_dir.mkdir(parents=True, exist_ok=True)
        (self.root / _META_DIR).mkdir(exist_ok=True)
        self.barrier = barrier if durable else None
        self._remove_stale_temps()
        for bucket in buckets:
            self.create_bucket(bucket)
        for entry in os.scandir(self.root):  # buckets made before this version, too
            if entry.is_dir() and not entry.name.startswith("."):
                self._make_sidecar_dirs(entry.name)

    # ---- buckets -------------------------------------------------------------------------------

    def create_bucket(self, bucket: str) -> None:
        """Create ``bucket`` if it does not exist yet."""
        (self.root / check_bucket(bucket)).mkdir(exist_ok=True)
        self._make_sidecar_dirs(bucket)

    def _make_sidecar_dirs(self, bucket: str) -> None:
        """The bucket's 256 sidecar directories, made once: made on demand, each of a fresh
        store's first few hundred uploads paid for a mkdir (about 0.5 ms of its CPU, measured)."""
        meta = self.root / _META_DIR / bucket
        if (meta / "ff").is_dir():  # made in order: the last one means all are (one stat at start)
            return
        meta.mkdir(parents=True, exist_ok=True)
        for prefix in range(256):
            (meta / f"{prefix:02x}").mkdir(exist_ok=True)

    def bucket_exists(self, bucket: str) -> bool:
        return (self.root / check_bucket(bucket)).is_dir()

    def _bucket_dir(self, bucket: str) -> Path:
        path = self.root / check_bucket(bucket)
        if not path.is_dir():
            raise BucketNotFoundError(
                f"The specified bucket does not exist: {bucket!r}. Create it with"
                " LocalObjectStore.create_bucket or list it in buckets=.",
                extra={"BucketName": bucket},
            )
        return path

    # ---- paths ---------------------------------------------------------------------------------

    def object_path(self, bucket: str, key: str) -> Path:
        """Where the object's bytes live (whether or not it exists); the key is validated."""
        return self._bucket_dir(bucket) / check_key(key)

    def _meta_path(self, bucket: str, key: str) -> Path:
        # Named by hash: no length limit, and keys 'a' and 'a/b' never collide in the sidecar tree.
        digest = hashlib.sha256(key.encode("utf-8")).hexdigest()
        return self.root / _META_DIR / bucket / digest[:2] / f"{digest}.json"

    def _new_temp_path(self, kind: str) -> Path:
        return self._tmp_dir / f"{kind}-{os.getpid()}-{time.time_ns()}-{os.urandom(6).hex()}"

    # ---- writes --------------------------------------------------------------------------------

    def begin_put(
        self,
        bucket: str,
        key: str,
        *,
        content_type: str,
        metadata: Mapping[str, str] | None = None,
        if_none_match: bool = False,
        max_size: int | None = None,
        min_size: int = 0,
        context: RequestContext | None = None,
        content_md5: str | None = None,
    ) -> PendingObject:
        """Start a streaming write; feed it with ``write`` and finish with ``commit``.

        ``content_md5`` (base64, as in S3's ``Content-MD5`` header) makes commit refuse a body
        with another digest (400 ``BadDigest``).
        """
        if self.auto_create_buckets and not self.bucket_exists(bucket):
            self.create_bucket(bucket)  # (a stat per upload, not a failing mkdir and a stat)
        path = self.object_path(bucket, key)
        if if_none_match and path.exists():
            raise self._exists_error(bucket, key)
        return PendingObject(
            self,
            bucket,
            key,
            content_type=content_type,
            metadata=metadata,
            if_none_match=if_none_match,
            max_size=max_size,
            min_size=min_size,
            context=context,
            content_md5=content_md5,
        )

    def put_object(
        self,
        bucket: str,
        key: str,
        body: ObjectBody,
        *,
        content_type: str,
        metadata: Mapping[str, str] | None = None,
        if_none_match: bool = False,
        max_size: int | None = None,
        context: RequestContext | None = None,
        content_md5: str | None = None,
    ) -> ObjectInfo:
        """Store ``body`` (bytes, a binary file or an iterator of chunks) under ``key``.

        ``if_none_match=True`` is S3's ``If-None-Match: *``: raise :class:`ObjectExistsError` if the
        key exists (race-free: of two concurrent writers exactly one wins). Bodies over ``max_size``
        raise :class:`EntityTooLargeError` and store nothing. Memory stays bounded for any size.
        """
        with self.begin_put(
            bucket,
            key,
            content_type=content_type,
            metadata=metadata,
            if_none_match=if_none_match,
            max_size=max_size,
            context=context,
            content_md5=content_md5,
        ) as pending:
            for chunk in body_chunks(body):
                pending.write(chunk)
            return pending.commit()

    async def put_stream(
        self,
        bucket: str,
        key: str,
        chunks: AsyncIterable[Buffer],
        *,
        content_type: str,
        metadata: Mapping[str, str] | None = None,
        if_none_match: bool = False,
        max_size: int | None = None,
        context: RequestContext | None = None,
        content_md5: str | None = None,
        release: Callable[[Buffer], None] | None = None,
    ) -> ObjectInfo:
        """:meth:`put_object` for an async stream; fsync and the event sink run in a worker thread.

        If the stream fails (e.g. the client disconnects), nothing is left behind. ``release``
        gets each chunk back once it is hashed and written (so its buffer can be filled again);
        after a failure, chunks still being written are not given back.
        """
        pending = self.begin_put(
            bucket,
            key,
            content_type=content_type,
            metadata=metadata,
            if_none_match=if_none_match,
            max_size=max_size,
            context=context,
            content_md5=content_md5,
        )
        with pending:
            writer = _PipelinedWriter(pending, release)
            try:
                async for batch in _batches(chunks, WRITE_BATCH):
                    await writer.write(batch)
                await writer.drain()
            finally:
                writer.discard()
            return await anyio.to_thread.run_sync(pending.commit)

    def _publish(
        self,
        tmp: Path,
        info: ObjectInfo,
        stat: os.stat_result,
        if_none_match: bool,
        context: RequestContext | None,
    ) -> None:
        """Move a finished temp file under its key with its sidecar, then emit the event."""
        target = self.object_path(info.bucket, info.key)
        meta_path = self._meta_path(info.bucket, info.key)
        meta_tmp = self._new_temp_path("meta")
        identity = (stat.st_ino, stat.st_size, stat.st_mtime_ns)
        self._write_json(meta_tmp, _meta_record(info, identity))
        try:
            if if_none_match:
                # Linking is the race-free claim on the key (it fails if the key exists); the
                # sidecar follows, and readers wait out that one-rename window.
                self._place(target, info, lambda: os.link(tmp, target))
                _replace_creating_parent(meta_tmp, meta_path)
                os.unlink(tmp)
            else:
                # Sidecar first: a reader never finds the new object without its sidecar.
                _replace_creating_parent(meta_tmp, meta_path)
                self._place(target, info, lambda: os.replace(tmp, target))
        except BaseException:
            self._undo(target, meta_path, identity)
            raise
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(meta_tmp)
        if self.durable:
            self._make_durable(target, meta_path, identity)
        if self.event_sink is None or not self.event_filter.matches(info.key):
            return
        event = object_created_event(
            bucket=info.bucket,
            key=info.key,
            size=info.size,
            etag=info.etag,
            sequencer=_SEQUENCER.next(),
            region=self.region,
            event_time=info.last_modified,
            context=context,
            configuration_id=self.configuration_id,
            owner_id=self.owner_id,
        )
        try:
            self.event_sink(event)
        except BaseException:
            self._undo(target, meta_path, identity)
            raise

    def _make_durable(self, target: Path, meta_path: Path, identity: tuple[int, int, int]) -> None:
        """Put the object's bytes, its sidecar and both renames on disk, or undo them: with the
        store's barrier (one syncfs shared by concurrent uploads), else an fsync of each
        directory (the files were fsynced as they were written)."""
        try:
            if self.barrier is not None:
                self.barrier.wait()
            else:
                _fsync_dir(target.parent)
                _fsync_dir(meta_path.parent)
        except BaseException:
            self._undo(target, meta_path, identity)
            raise

    def _place(self, target: Path, info: ObjectInfo, move: Callable[[], None]) -> None:
        """Run ``move`` into ``target``'s directory, creating it (again, if a delete pruned it).

        The move is tried first: the directory usually exists, and a failing ``mkdir`` per upload
        costs more than the rare retry.
        """
        for attempt in range(3):
            try:
                if attempt:
                    target.parent.mkdir(parents=True, exist_ok=True)
                move()
                return
            except FileExistsError:
                if target.is_dir():
                    raise self._conflict_error(info.key) from None
                if target.exists() or target.is_symlink():
                    raise self._exists_error(info.bucket, info.key) from None
                raise self._conflict_error(info.key) from None
            except (NotADirectoryError, IsADirectoryError):
                raise self._conflict_error(info.key) from None
            except FileNotFoundError:
                if attempt == 2:
                    raise

    def _undo(self, target: Path, meta_path: Path, identity: tuple[int, int, int]) -> None:
        with contextlib.suppress(FileNotFoundError, NotADirectoryError):
            if _identity(os.stat(target)) == identity:
                os.unlink(target)
        meta = self._read_json(meta_path)
        if meta is not None and tuple(meta.get("identity", ())) == identity:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(meta_path)
        self._prune_dirs(target.parent)

    def _write_json(self, path: Path, record: dict[str, Any]) -> None:
        data = json.dumps(record, separators=(",", ":")).encode("utf-8")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            os.write(fd, data)
            if self.durable and self.barrier is None:
                os.fsync(fd)
        finally:
            os.close(fd)

    @staticmethod
    def _read_json(path: Path) -> dict[str, Any] | None:
        try:
            with open(path, "rb") as f:
                record = json.loads(f.read())
        except (FileNotFoundError, NotADirectoryError, ValueError):
            return None
        return record if isinstance(record, dict) else None

    def _exists_error(self, bucket: str, key: str) -> ObjectExistsError:
        return ObjectExistsError(
            "At least one of the pre-conditions you specified did not hold: the object"
            f" {bucket}/{key} already exists and If-None-Match: * forbids overwriting it.",
            extra={"Condition": "If-None-Match"},
        )

    @staticmethod
    def _conflict_error(key: str) -> InvalidKeyError:
        return InvalidKeyError(
            f"The key {key!r} clashes with another key in the local store: a key cannot also be a"
            " 'directory' prefix of other keys (e.g. 'a' and 'a/b'), because keys are file paths"
            " here. Choose keys that are not prefixes of each other."
        )

    # ---- reads ---------------------------------------------------------------------------------

    def head_object(self, bucket: str, key: str) -> ObjectInfo:
        """The object's info, or :class:`ObjectNotFoundError`."""
        info, fd = self._open_consistent(bucket, key)
        os.close(fd)
        return info

    def open_object(self, bucket: str, key: str) -> ObjectReader:
        """A binary file of the object (``info`` matches these very bytes); close it after use."""
        info, fd = self._open_consistent(bucket, key)
        reader = ObjectReader(io.FileIO(fd, "rb"), buffer_size=CHUNK_SIZE)
        reader.info = info
        return reader

    def get_object(self, bucket: str, key: str) -> bytes:
        """The object's bytes, or :class:`ObjectNotFoundError`."""
        with self.open_object(bucket, key) as reader:
            return reader.read()

    def read_object(self, bucket: str, key: str) -> tuple[bytes, ObjectInfo]:
        """The object's bytes and the info of those very bytes (no second lookup)."""
        with self.open_object(bucket, key) as reader:
            return reader.read(), reader.info

    def list_objects(self, bucket: str, prefix: str = "") -> list[ObjectInfo]:
        """Objects whose keys start with ``prefix``, in S3's order (UTF-8 byte order of keys)."""
        bucket_dir = self._bucket_dir(bucket)
        start = bucket_dir / prefix.rpartition("/")[0] if "/" in prefix else bucket_dir
        keys = sorted(
            (k for k in self._walk_keys(bucket_dir, start) if k.startswith(prefix)),
            key=lambda k: k.encode("utf-8"),
        )
        found = []
        for key in keys:
            with contextlib.suppress(ObjectNotFoundError, InvalidKeyError):
                found.append(self.head_object(bucket, key))
        return found

    @staticmethod
    def _walk_keys(bucket_dir: Path, start: Path) -> Iterator[str]:
        if not start.is_dir():
            return
        for dirpath, _dirnames, filenames in os.walk(start):
            rel = Path(dirpath).relative_to(bucket_dir).as_posix()
            for name in filenames:
                yield name if rel == "." else f"{rel}/{name}"

    def _open_consistent(self, bucket: str, key: str) -> tuple[ObjectInfo, int]:
        """Open the object and return it with the sidecar written by the same write.

        A concurrent write swaps the object and its sidecar with two renames; a reader that sees
        one without the other retries. A sidecar that stays missing (a crash between the renames)
        is rebuilt from the file.
        """
        path = self.object_path(bucket, key)
        meta_path = self._meta_path(bucket, key)
        for attempt in range(_CONSISTENT_READ_ATTEMPTS):
            try:
                fd = os.open(path, os.O_RDONLY)
            except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
                raise self._not_found(bucket, key) from None
            stat = os.fstat(fd)
            if not _is_regular(stat):
                os.close(fd)
                raise self._not_found(bucket, key)
            meta = self._read_json(meta_path)
            if meta is not None and tuple(meta.get("identity", ())) == _identity(stat):
                return _info_from_meta(bucket, key, meta), fd
            if attempt == _CONSISTENT_READ_ATTEMPTS - 1:
                return self._rebuild_meta(bucket, key, fd, stat), fd
            os.close(fd)
            time.sleep(0.0005 * min(attempt + 1, 8))
        raise AssertionError("unreachable")

    def _rebuild_meta(self, bucket: str, key: str, fd: int, stat: os.stat_result) -> ObjectInfo:
        log.warning("rebuilding the missing metadata of %s/%s from its bytes", bucket, key)
        md5 = hashlib.md5(usedforsecurity=False)
        offset = 0
        while chunk := os.pread(fd, CHUNK_SIZE, offset):
            md5.update(chunk)
            offset += len(chunk)
        info = ObjectInfo(
            bucket=bucket,
            key=key,
            size=stat.st_size,
            etag=f'"{md5.hexdigest()}"',
            content_type=DEFAULT_CONTENT_TYPE,
            last_modified=to_datetime(stat.st_mtime),
        )
        meta_path = self._meta_path(bucket, key)
        meta_tmp = self._new_temp_path("meta")
        self._write_json(meta_tmp, _meta_record(info, _identity(stat)))
        meta_path.parent.mkdir(parents=True, exist_ok=True)
        os.replace(meta_tmp, meta_path)
        return info

    @staticmethod
    def _not_found(bucket: str, key: str) -> ObjectNotFoundError:
        return ObjectNotFoundError(
            f"The specified key does not exist: {bucket}/{key}.", extra={"Key": key}
        )

    # ---- deletes -------------------------------------------------------------------------------

    def delete_object(self, bucket: str, key: str) -> None:
        """Delete the object if it exists; like S3, deleting a missing key is not an error."""
        path = self.object_path(bucket, key)
        try:
            if not _is_regular(os.lstat(path)):
                return
            os.unlink(path)
        except (FileNotFoundError, NotADirectoryError):
            return
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._meta_path(bucket, key))
        self._prune_dirs(path.parent)

    def _prune_dirs(self, directory: Path) -> None:
        """Remove empty directories left by deleted keys, up to the bucket directory."""
        bucket_depth = len(self.root.parts) + 1
        while len(directory.parts) > bucket_depth:
            try:
                directory.rmdir()
            except OSError:
                return
            directory = directory.parent

    def _remove_stale_temps(self) -> None:
        cutoff = time.time() - STALE_TEMP_SECONDS
        for entry in os.scandir(self._tmp_dir):
            with contextlib.suppress(OSError):
                if entry.stat().st_mtime < cutoff:
                    os.unlink(entry.path)


def _decode_content_md5(value: str | None) -> bytes | None:
    if value is None:
        return None
    try:
        digest = base64.b64decode(value, validate=True)
    except ValueError:
        digest = b""
    if len(digest) != 16:
        raise S3Error(
            f"The Content-MD5 you specified is not valid: {value!r}; send the base64 of the"
            " body's 16-byte MD5 digest.",
            code="InvalidDigest",
            status=400,
        )
    return digest


def _identity(stat: os.stat_result) -> tuple[int, int, int]:
    # Inode, size and mtime survive rename and link, so they tie a sidecar to one write's file.
    return (stat.st_ino, stat.st_size, stat.st_mtime_ns)


def _is_regular(stat: os.stat_result) -> bool:
    return (stat.st_mode & 0o170000) == 0o100000


def _meta_record(info: ObjectInfo, identity: tuple[int, int, int]) -> dict[str, Any]:
    return {
        "key": info.key,
        "size": info.size,
        "etag": info.etag,
        "content_type": info.content_type,
        "metadata": dict(info.metadata),
        "last_modified": info.last_modified.isoformat(),
        "identity": list(identity),
    }


def _info_from_meta(bucket: str, key: str, meta: Mapping[str, Any]) -> ObjectInfo:
    return ObjectInfo(
        bucket=bucket,
        key=key,
        size=int(meta["size"]),
        etag=str(meta["etag"]),
        content_type=str(meta["content_type"]),
        last_modified=datetime.fromisoformat(meta["last_modified"]),
        metadata=dict(meta.get("metadata") or {}),
    )


def _replace_creating_parent(source: Path, target: Path) -> None:
    """``os.replace``, creating ``target``'s directory first only when it is missing."""
    try:
        os.replace(source, target)
    except FileNotFoundError:
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(source, target)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


async def _batches(chunks: AsyncIterable[Buffer], size: int) -> AsyncIterator[list[Buffer]]:
    """``chunks`` grouped into lists of at least ``size`` bytes (the last may be smaller)."""
    batch: list[Buffer] = []
    pending = 0
    async for chunk in chunks:
        batch.append(chunk)
        pending += len(chunk)
        if pending >= size or len(batch) >= IOV_MAX:
            yield batch
            batch, pending = [], 0
    if batch:
        yield batch


class _PipelinedWriter:
    """Writes one batch of an upload in a worker thread while the event loop receives the next.

    At most one batch is in flight, so batches land in order and memory stays bounded.
    """

    def __init__(
        self, pending: PendingObject, release: Callable[[Buffer], None] | None = None
    ) -> None:
        self._pending = pending
        self._release = release
        self._running: asyncio.Future[None] | None = None
        self._batch: list[Buffer] = []

    async def write(self, batch: list[Buffer]) -> None:
        await self.drain()
        loop = asyncio.get_running_loop()
        self._batch = batch
        self._running = loop.run_in_executor(_WRITE_POOL, self._pending.write_many, batch)

    async def drain(self) -> None:
        running, self._running = self._running, None
        if running is not None:
            await running
            batch, self._batch = self._batch, []
            if self._release is not None:
                for chunk in batch:
                    self._release(chunk)

    def discard(self) -> None:
        """After a failure: the batch still in flight ends on its own; its outcome is moot."""
        running, self._running = self._running, None
        if running is not None:
            running.add_done_callback(_ignore_outcome)


def _ignore_outcome(future: asyncio.Future[None]) -> None:
    if not future.cancelled():
        future.exception()
