"""Kinesis Data Streams → Lambda (``Records[].kinesis``); ``data`` is base64 as Lambda sends it."""

from __future__ import annotations

import base64
import binascii
import datetime
from typing import Any

from bakusoku.events.base import Embedded, EventView, RecordsEvent, parse_json
from bakusoku.events.fields import NUMBER
from bakusoku.utc import to_datetime


class KinesisRecord(EventView):
    """One stream record; ``data`` is the producer's bytes, decoded from base64."""

    __slots__ = ()
    shape = "Kinesis record"

    @property
    def event_id(self) -> str:
        return self._str("eventID")

    @property
    def aws_region(self) -> str:
        return self._str("awsRegion")

    @property
    def event_source_arn(self) -> str:
        return self._str("eventSourceARN")

    @property
    def partition_key(self) -> str:
        return self._str("kinesis", "partitionKey")

    @property
    def sequence_number(self) -> str:
        return self._str("kinesis", "sequenceNumber")

    @property
    def approximate_arrival(self) -> datetime.datetime:
        """``kinesis.approximateArrivalTimestamp``: epoch seconds, with a fraction."""
        return to_datetime(self._required(("kinesis", "approximateArrivalTimestamp"), NUMBER))

    @property
    def data(self) -> bytes:
        text = self._str("kinesis", "data")
        try:
            return base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise self.malformed(f"is not base64: {text[:40]!r}", "kinesis", "data") from None

    def json_data(self) -> Any:
        """``data`` parsed as JSON (EventBridge and most producers put JSON documents)."""
        return self.embedded_data().document

    def embedded_data(self) -> Embedded:
        """``data`` decoded from base64 and parsed as JSON, with the path it was found at."""
        try:
            text = self.data.decode("utf-8")
        except UnicodeDecodeError:
            raise self.malformed("is not UTF-8 text", "kinesis", "data") from None
        decoded = self._path.keys("kinesis", "data").then("@base64d")
        return Embedded(parse_json(text, where=self._where, path=decoded), decoded)


class KinesisEvent(RecordsEvent[KinesisRecord]):
    """Kinesis → Lambda: ``{"Records": [{"eventSource": "aws:kinesis", "kinesis": ...}]}``."""

    __slots__ = ()
    shape = "Kinesis event"
    record_type = KinesisRecord
    source = "aws:kinesis"
