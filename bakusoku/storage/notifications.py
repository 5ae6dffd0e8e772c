"""Object-created events in the exact shape of Amazon S3 event notifications (eventVersion 2.1)."""

from __future__ import annotations

import base64
import os
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote_plus

from bakusoku.arns import s3_bucket_arn
from bakusoku.utc import iso_millis

EVENT_PUT = "ObjectCreated:Put"
EVENT_POST = "ObjectCreated:Post"
DEFAULT_CONFIGURATION_ID = "bakusoku-object-created"
DEFAULT_OWNER_ID = "BAKUSOKULOCALOWNER"


@dataclass(frozen=True)
class KeyFilter:
    """The ``Filter.Key.FilterRules`` of an S3 event notification: which keys send an event.

    As on S3, an empty rule matches every key and a key must match both the prefix and the suffix.
    Storage of renditions under another prefix then costs no event (and no outbox row) at all.
    """

    prefix: str = ""
    suffix: str = ""

    def matches(self, key: str) -> bool:
        return key.startswith(self.prefix) and key.endswith(self.suffix)


@dataclass(frozen=True)
class KeyFilters:
    """Several notification configurations of one bucket: a key sends one event when any of
    their filters matches it (one outbox row, however many rules then route it)."""

    filters: tuple[KeyFilter, ...]

    def matches(self, key: str) -> bool:
        return any(f.matches(key) for f in self.filters)


@dataclass(frozen=True)
class RequestContext:
    """Who made the write and how: the parts of an event S3 takes from the request."""

    event_name: str = EVENT_PUT
    principal_id: str = "AWS:BAKUSOKULOCAL"
    source_ip: str = "127.0.0.1"
    request_id: str = ""
    host_id: str = ""


def new_request_id() -> str:
    """An ``x-amz-request-id``: 16 upper-case hex digits, as S3 issues them."""
    return secrets.token_hex(8).upper()


def new_host_id() -> str:
    """An ``x-amz-id-2``: an opaque base64 token naming the host that served the request."""
    return base64.b64encode(os.urandom(48)).decode("ascii")


class Sequencer:
    """Issues S3-style ``sequencer`` values: upper-case hex that only grows.

    Built from the wall clock in nanoseconds so values keep growing across restarts and processes
    (S3 only promises order for one key), and bumped by one when the clock repeats or steps back.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last = 0

    def next(self) -> str:
        with self._lock:
            self._last = max(self._last + 1, time.time_ns())
            return f"{self._last:018X}"


def encode_event_key(key: str) -> str:
    """The object key as S3 writes it in events: URL-encoded, spaces as ``+``, slashes kept."""
    return quote_plus(key, safe="/")


def object_created_event(
    *,
    bucket: str,
    key: str,
    size: int,
    etag: str,
    sequencer: str,
    region: str,
    event_time: datetime,
    context: RequestContext | None = None,
    configuration_id: str = DEFAULT_CONFIGURATION_ID,
    owner_id: str = DEFAULT_OWNER_ID,
    version_id: str | None = None,
) -> dict[str, Any]:
    """One object-created record in a ``{"Records": [...]}`` envelope, as S3 delivers it.

    ``etag`` may be given with or without quotes; events carry it bare. ``versionId`` appears only
    for versioned buckets, as on S3.
    """
    context = context or RequestContext()
    obj: dict[str, Any] = {
        "key": encode_event_key(key),
        "size": size,
        "eTag": etag.strip('"'),
    }
    if version_id is not None:
        obj["versionId"] = version_id
    obj["sequencer"] = sequencer
    record = {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": region,
        "eventTime": iso_millis(event_time),
        "eventName": context.event_name,
        "userIdentity": {"principalId": context.principal_id},
        "requestParameters": {"sourceIPAddress": context.source_ip},
        "responseElements": {
            "x-amz-request-id": context.request_id or new_request_id(),
            "x-amz-id-2": context.host_id or new_host_id(),
        },
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": configuration_id,
            "bucket": {
                "name": bucket,
                "ownerIdentity": {"principalId": owner_id},
                "arn": s3_bucket_arn(bucket),
            },
            "object": obj,
        },
    }
    return {"Records": [record]}
