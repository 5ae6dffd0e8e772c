"""The object store as the pipeline and the API use it: one port, the values it returns.

:class:`ObjectStore` is the handful of S3 operations that handlers and the API call. The local
store (``storage.local``, files on disk) and Amazon S3 (``storage.s3``, boto3) implement it and
raise the same errors (``storage.errors``), so callers hold an ``ObjectStore`` and never ask which
one they have. Also here: what a store reports about an object (:class:`ObjectInfo`), the bodies a
put accepts (:data:`ObjectBody`) and how both stores read such a body (:func:`body_chunks`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import BinaryIO, Protocol, TypeAlias

DEFAULT_CONTENT_TYPE = "binary/octet-stream"  # what S3 stores when a PUT names no type
CHUNK_SIZE = 1024 * 1024

Chunk: TypeAlias = bytes | bytearray | memoryview
# An iterator's chunks may share one buffer that is refilled once the next chunk is asked for.
ObjectBody: TypeAlias = bytes | bytearray | memoryview | BinaryIO | Iterable[Chunk]


@dataclass(frozen=True)
class ObjectInfo:
    """What S3's HEAD returns: size, quoted ETag (MD5 hex), type, user metadata, last modified."""

    bucket: str
    key: str
    size: int
    etag: str
    content_type: str
    last_modified: datetime
    metadata: Mapping[str, str] = field(default_factory=dict)

    @property
    def etag_hex(self) -> str:
        """The ETag without quotes, as object-created events carry it."""
        return self.etag.strip('"')


class ObjectStore(Protocol):
    """The object operations of the pipeline's handlers and the API, as S3 defines them.

    Missing objects raise ``ObjectNotFoundError``, missing buckets ``BucketNotFoundError``, a
    refused ``if_none_match`` ``ObjectExistsError``, a body over ``max_size``
    ``EntityTooLargeError`` (which stores nothing) and a store that is unreachable, throttling or
    failing on its side ``StorageUnavailableError`` (the same request may succeed later).
    """

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
    ) -> ObjectInfo:
        """Store ``body`` under ``key``; ``if_none_match`` is S3's ``If-None-Match: *``."""
        ...

    def get_object(self, bucket: str, key: str) -> bytes:
        """The object's bytes."""
        ...

    def read_object(self, bucket: str, key: str) -> tuple[bytes, ObjectInfo]:
        """The object's bytes and the info of those very bytes."""
        ...

    def head_object(self, bucket: str, key: str) -> ObjectInfo:
        """The object's info."""
        ...

    def list_objects(self, bucket: str, prefix: str = "") -> list[ObjectInfo]:
        """The objects whose keys start with ``prefix``, in key order."""
        ...

    def delete_object(self, bucket: str, key: str) -> None:
        """Delete the object; like S3, deleting a missing key is not an error."""
        ...


def body_chunks(body: ObjectBody, size: int = CHUNK_SIZE) -> Iterator[Chunk]:
    """``body`` as chunks of at most ``size`` bytes (an iterator's own chunks pass unchanged)."""
    if isinstance(body, bytes | bytearray | memoryview):
        view = memoryview(body)
        for start in range(0, len(view), size):
            yield bytes(view[start : start + size])
        return
    read = getattr(body, "read", None)
    if callable(read):
        while chunk := read(size):
            yield chunk
        return
    yield from body
