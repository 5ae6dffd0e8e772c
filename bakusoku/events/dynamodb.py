"""DynamoDB Streams → Lambda (``Records[].dynamodb``), with typed attribute values decoded."""

from __future__ import annotations

import base64
import binascii
import datetime
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from bakusoku.events.base import EventView, RecordsEvent
from bakusoku.events.errors import MalformedEventError
from bakusoku.utc import to_datetime

# The data type descriptors of DynamoDB's AttributeValue.
_TYPES = ("S", "N", "B", "SS", "NS", "BS", "M", "L", "NULL", "BOOL")


def deserialize(value: Any, *, where: str = "attribute") -> Any:
    """One AttributeValue (``{"N": "101"}``) as a Python value, as boto3's TypeDeserializer does.

    ``N`` and ``NS`` become Decimal (DynamoDB numbers have 38 digits), ``B`` and ``BS`` bytes,
    ``SS``/``NS``/``BS`` sets, ``M`` dict, ``L`` list, ``NULL`` None.
    """
    if not isinstance(value, Mapping) or len(value) != 1:
        raise MalformedEventError(
            f"{where}: expected an AttributeValue with exactly one type key "
            f"({', '.join(_TYPES)}), got {value!r}"
        )
    ((kind, inner),) = value.items()
    try:
        if kind == "S" and isinstance(inner, str):
            return inner
        if kind == "N" and isinstance(inner, str):
            return Decimal(inner)
        if kind == "B" and isinstance(inner, str):
            return base64.b64decode(inner, validate=True)
        if kind == "BOOL" and isinstance(inner, bool):
            return inner
        if kind == "NULL" and inner is True:
            return None
        if kind == "SS" and isinstance(inner, list):
            return {str(item) for item in inner}
        if kind == "NS" and isinstance(inner, list):
            return {Decimal(item) for item in inner}
        if kind == "BS" and isinstance(inner, list):
            return {base64.b64decode(item, validate=True) for item in inner}
        if kind == "L" and isinstance(inner, list):
            return [deserialize(item, where=f"{where}[{i}]") for i, item in enumerate(inner)]
        if kind == "M" and isinstance(inner, Mapping):
            return deserialize_image(inner, where=where)
    except (InvalidOperation, binascii.Error, TypeError, ValueError):
        pass
    raise MalformedEventError(
        f"{where}: {kind!r} value {inner!r} is not a valid DynamoDB AttributeValue; "
        f"type keys are {', '.join(_TYPES)}"
    )


def deserialize_image(image: Mapping[str, Any], *, where: str = "image") -> dict[str, Any]:
    """A whole item (``NewImage``, ``OldImage``, ``Keys``) as a plain dict."""
    return {name: deserialize(value, where=f"{where}.{name}") for name, value in image.items()}


class DynamoDBRecord(EventView):
    """One change of a DynamoDB Streams batch; images come back decoded."""

    __slots__ = ()
    shape = "DynamoDB Streams record"

    @property
    def event_name(self) -> str:
        """``INSERT``, ``MODIFY`` or ``REMOVE``."""
        return self._str("eventName")

    @property
    def event_id(self) -> str:
        return self._str("eventID")

    @property
    def aws_region(self) -> str:
        return self._str("awsRegion")

    @property
    def event_source_arn(self) -> str | None:
        return self._opt_str("eventSourceARN")

    @property
    def sequence_number(self) -> str:
        return self._str("dynamodb", "SequenceNumber")

    @property
    def stream_view_type(self) -> str | None:
        return self._opt_str("dynamodb", "StreamViewType")

    @property
    def approximate_creation_time(self) -> datetime.datetime | None:
        value = self._data.get("dynamodb", {}).get("ApproximateCreationDateTime")
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise MalformedEventError(
                f"{self._where}: dynamodb.ApproximateCreationDateTime must be epoch seconds"
            )
        return to_datetime(value)

    @property
    def keys(self) -> dict[str, Any]:
        return deserialize_image(self._mapping("dynamodb", "Keys"), where=f"{self._where} Keys")

    @property
    def new_image(self) -> dict[str, Any] | None:
        image = self._data.get("dynamodb", {}).get("NewImage")
        return None if image is None else deserialize_image(image, where=f"{self._where} NewImage")

    @property
    def old_image(self) -> dict[str, Any] | None:
        image = self._data.get("dynamodb", {}).get("OldImage")
        return None if image is None else deserialize_image(image, where=f"{self._where} OldImage")


class DynamoDBStreamEvent(RecordsEvent[DynamoDBRecord]):
    """DynamoDB Streams → Lambda: ``{"Records": [{"eventSource": "aws:dynamodb", ...}]}``."""

    __slots__ = ()
    shape = "DynamoDB Streams event"
    record_type = DynamoDBRecord
    source = "aws:dynamodb"
