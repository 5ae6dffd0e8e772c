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
from bakusoku.events.fields import NUMBER, OBJECT, FieldType
from bakusoku.utc import to_datetime

# The data type descriptors of DynamoDB's AttributeValue.
_TYPES = ("S", "N", "B", "SS", "NS", "BS", "M", "L", "NULL", "BOOL")
# Any JSON object: deserialize() says what is wrong with one that is not an AttributeValue.
_ATTRIBUTE_VALUE = FieldType("an AttributeValue object", OBJECT.convert)


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
        """``dynamodb.ApproximateCreationDateTime``: epoch seconds, when the stream sets it."""
        seconds = self._field(("dynamodb", "ApproximateCreationDateTime"), NUMBER, required=False)
        return None if seconds is None else to_datetime(seconds)

    @property
    def keys(self) -> dict[str, Any]:
        return self._image("Keys", required=True) or {}

    @property
    def new_image(self) -> dict[str, Any] | None:
        return self._image("NewImage")

    @property
    def old_image(self) -> dict[str, Any] | None:
        return self._image("OldImage")

    @property
    def has_new_image(self) -> bool:
        return self._opt_mapping("dynamodb", "NewImage") is not None

    def new_image_attribute(self, name: str) -> Any:
        """One attribute of ``NewImage``, decoded; None when absent.

        Decodes that attribute alone, so an attribute nobody reads cannot reject the record.
        """
        value = self._field(("dynamodb", "NewImage", name), _ATTRIBUTE_VALUE, required=False)
        if value is None:
            return None
        location = f"{self._where}: {self._path.keys('dynamodb', 'NewImage', name)}"
        return deserialize(value, where=location)

    def _image(self, name: str, *, required: bool = False) -> dict[str, Any] | None:
        image = self._field(("dynamodb", name), OBJECT, required=required)
        if image is None:
            return None
        return deserialize_image(image, where=f"{self._where}: {self._path.keys('dynamodb', name)}")


class DynamoDBStreamEvent(RecordsEvent[DynamoDBRecord]):
    """DynamoDB Streams → Lambda: ``{"Records": [{"eventSource": "aws:dynamodb", ...}]}``."""

    __slots__ = ()
    shape = "DynamoDB Streams event"
    record_type = DynamoDBRecord
    source = "aws:dynamodb"
