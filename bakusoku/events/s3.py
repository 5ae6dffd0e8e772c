"""S3 event notifications (``Records[].s3``) and the ``s3:TestEvent`` S3 sends on setup."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

from bakusoku.events.base import EventView, RecordsEvent


class S3EventRecord(EventView):
    """One record of an S3 notification; ``object_key`` is decoded, ``raw_key`` is as sent."""

    __slots__ = ()
    shape = "S3 notification record"

    @property
    def event_name(self) -> str:
        return self._str("eventName")

    @property
    def event_source(self) -> str:
        return self._str("eventSource")

    @property
    def event_time(self) -> datetime.datetime:
        """``eventTime``: S3 writes milliseconds (``...:00.123Z``); EventBridge's ``time`` has none."""
        return self._time("eventTime")

    @property
    def aws_region(self) -> str:
        return self._str("awsRegion")

    @property
    def bucket_name(self) -> str:
        return self._name("s3", "bucket", "name")

    @property
    def raw_key(self) -> str:
        return self._name("s3", "object", "key")

    @property
    def object_key(self) -> str:
        # S3 URL-encodes keys in notifications, '+' for spaces: "red flower.jpg" → "red+flower.jpg".
        return self._url_encoded_name("s3", "object", "key")

    @property
    def size(self) -> int | None:
        return self._opt_int("s3", "object", "size")

    @property
    def etag(self) -> str | None:
        """``s3.object.eTag`` (capital T; EventBridge spells it ``etag``), without quotes."""
        return self._opt_str("s3", "object", "eTag")

    @property
    def version_id(self) -> str | None:
        return self._opt_str("s3", "object", "versionId")

    @property
    def sequencer(self) -> str | None:
        """Orders events of one key: compare as hex strings padded to equal length, not as text."""
        return self._opt_hex("s3", "object", "sequencer")

    @property
    def request_id(self) -> str | None:
        """``responseElements.x-amz-request-id``: S3's id of the request that wrote the object."""
        return self._opt_str("responseElements", "x-amz-request-id")

    @property
    def source_ip_address(self) -> str | None:
        """``requestParameters.sourceIPAddress``: the writer's IP address (or an AWS service)."""
        return self._opt_str("requestParameters", "sourceIPAddress")

    @property
    def is_object_created(self) -> bool:
        return self.event_name.startswith("ObjectCreated:")


class S3Notification(RecordsEvent[S3EventRecord]):
    """An S3 event notification: ``{"Records": [{"eventSource": "aws:s3", "s3": ...}]}``."""

    __slots__ = ()
    shape = "S3 notification"
    record_type = S3EventRecord
    source = "aws:s3"


class S3TestEvent(EventView):
    """The message S3 sends once when a notification is configured; it names no object."""

    __slots__ = ()
    shape = "S3 test event"

    @property
    def bucket(self) -> str:
        return self._str("Bucket")

    @property
    def time(self) -> datetime.datetime:
        return self._time("Time")

    @property
    def request_id(self) -> str | None:
        return self._opt_str("RequestId")

    @staticmethod
    def matches(event: Mapping[str, Any]) -> bool:
        return event.get("Event") == "s3:TestEvent"
