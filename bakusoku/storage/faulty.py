"""An object store that obeys a chaos experiment's store faults: ``store.fail`` and ``store.slow``.

It wraps the store the pipeline's functions use. A failing call raises what Amazon S3's
``503 SlowDown`` raises through the S3 store (``StorageUnavailableError``), so the Retry rules and
the failure code (``storage.unavailable``) are the ones a real outage meets; a slow call waits first.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from bakusoku.faults import FaultControl
from bakusoku.storage.base import ObjectBody, ObjectInfo, ObjectStore
from bakusoku.storage.errors import StorageUnavailableError


class FaultyObjectStore:
    """``store`` (an ``ObjectStore``), with the store faults of ``faults`` in force on each call."""

    def __init__(self, store: ObjectStore, faults: FaultControl) -> None:
        self._store = store
        self._faults = faults

    def _obey(self, operation: str) -> None:
        slow = self._faults.hit("store.slow")
        if slow is not None:
            time.sleep(slow.latency_ms / 1000)
        if self._faults.hit("store.fail") is not None:
            raise StorageUnavailableError(
                f"the object store refused {operation} (503 SlowDown): a fault injected "
                "(store.fail); the call is retried",
                reason="SlowDown",
                status=503,
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
    ) -> ObjectInfo:
        self._obey("PutObject")
        return self._store.put_object(
            bucket,
            key,
            body,
            content_type=content_type,
            metadata=metadata,
            if_none_match=if_none_match,
            max_size=max_size,
        )

    def get_object(self, bucket: str, key: str) -> bytes:
        self._obey("GetObject")
        return self._store.get_object(bucket, key)

    def read_object(self, bucket: str, key: str) -> tuple[bytes, ObjectInfo]:
        self._obey("GetObject")
        return self._store.read_object(bucket, key)

    def head_object(self, bucket: str, key: str) -> ObjectInfo:
        self._obey("HeadObject")
        return self._store.head_object(bucket, key)

    def list_objects(self, bucket: str, prefix: str = "") -> list[ObjectInfo]:
        self._obey("ListObjectsV2")
        return self._store.list_objects(bucket, prefix)

    def delete_object(self, bucket: str, key: str) -> None:
        self._obey("DeleteObject")
        self._store.delete_object(bucket, key)
