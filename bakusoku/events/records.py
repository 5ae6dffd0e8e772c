"""parse_object_created: every route an S3 upload can take to a handler, read as ObjectCreated."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from bakusoku.events.apigateway import APIGatewayHttpEvent, APIGatewayRestEvent
from bakusoku.events.base import Embedded, parse_time, wrong_type
from bakusoku.events.dynamodb import DynamoDBRecord, DynamoDBStreamEvent
from bakusoku.events.errors import (
    MalformedEventError,
    UnconfirmedSubscriptionError,
    UnknownEventError,
)
from bakusoku.events.eventbridge import CloudTrailS3Event, S3EventBridgeEvent, ScheduledEvent
from bakusoku.events.fields import HEX, INTEGER, TEXT, FieldType
from bakusoku.events.kinesis import KinesisEvent
from bakusoku.events.paths import ROOT, JsonPath
from bakusoku.events.s3 import S3EventRecord, S3Notification, S3TestEvent
from bakusoku.events.sns import SNSConfirmation, SNSEvent, SNSMessage
from bakusoku.events.sqs import SQSEvent

# How deep envelopes may nest (S3 → EventBridge → SNS → SQS is three); guards against loops.
_MAX_DEPTH = 6

T = TypeVar("T")


@dataclass(frozen=True)
class ObjectCreated:
    """One new object, whatever route its event took.

    ``key`` is the real object key (decoded). ``source_shape`` is the route, outermost envelope
    first: ``"s3"``, ``"eventbridge"``, ``"cloudtrail"``, ``"sqs/sns/s3"``.

    What the pipeline needs is read strictly: ``bucket``, ``key`` and the event's name (which
    decides that an object was created); ``etag`` (it names the execution, so that a redelivered
    event finds the execution already started) and ``sequencer`` (it orders events of one key
    on the photo row), each None when the route does not carry it (CloudTrail has neither) but
    refused when present with another type. What only informs is read leniently: ``size``,
    ``event_time``, ``region`` and ``version_id`` are None when missing or malformed, so that no
    event is refused over them.
    """

    bucket: str
    key: str
    size: int | None
    etag: str | None
    sequencer: str | None
    event_time: datetime.datetime | None
    region: str | None
    source_shape: str
    version_id: str | None = None


def parse_object_created(event: Mapping[str, Any]) -> list[ObjectCreated]:
    """Every object-created record in ``event``, whatever route it took to the handler.

    Reads S3 notifications, S3 EventBridge events, CloudTrail S3 calls, and those inside SNS,
    SQS (raw delivery on or off), Kinesis ``data``, API Gateway REST/HTTP API bodies; DynamoDB
    Streams items that record an object (string attributes ``bucket`` and ``key``). Known events
    that create nothing (``s3:TestEvent``, "Object Deleted", a failed PutObject call, a
    scheduled event, a DynamoDB ``REMOVE``) give no records. Unknown extra fields are ignored,
    and integers written as floats (``5242880.0``) read as integers. An unknown shape raises
    UnknownEventError, a known one with a needed field missing or mistyped MalformedEventError;
    both messages say what was seen and where, as a jq path
    (``.Records[0].body | fromjson | .Records[0].s3.object.key``).
    """
    return _read(event, route=(), path=ROOT, depth=0)


# The name the pipeline's handlers were first written against.
object_created_records = parse_object_created


def _read(event: Any, *, route: tuple[str, ...], path: JsonPath, depth: int) -> list[ObjectCreated]:
    where = "/".join(route) or "event"
    at = where if path.is_root else f"{where} at {path}"
    if depth > _MAX_DEPTH:
        raise UnknownEventError(f"{at}: envelopes nested more than {_MAX_DEPTH} deep")
    if not isinstance(event, Mapping):
        raise UnknownEventError(
            f"{at}: expected a JSON object, got {type(event).__name__} {_preview(event)}"
        )
    if S3Notification.matches(event):
        return _from_s3(S3Notification(event, where=where, path=path), route)
    if S3TestEvent.matches(event):
        return []
    if CloudTrailS3Event.matches(event):
        return _from_cloudtrail(CloudTrailS3Event(event, where=where, path=path), route)
    if S3EventBridgeEvent.matches(event):
        return _from_eventbridge(S3EventBridgeEvent(event, where=where, path=path), route)
    if SNSEvent.matches(event):
        messages = (
            r.sns.embedded_message() for r in SNSEvent(event, where=where, path=path).records
        )
        return _read_all(messages, route=(*route, "sns"), depth=depth)
    if SNSMessage.matches(event):  # SNS's notification JSON, as in an SQS body (raw delivery off)
        message = SNSMessage(event, where=where, path=path).embedded_message()
        return _read_all((message,), route=(*route, "sns"), depth=depth)
    if SNSConfirmation.matches(event):
        return _confirmation(SNSConfirmation(event, where=where, path=path), at)
    if SQSEvent.matches(event):
        bodies = (r.embedded_body() for r in SQSEvent(event, where=where, path=path).records)
        return _read_all(bodies, route=(*route, "sqs"), depth=depth)
    if ScheduledEvent.matches(event):
        return []
    if KinesisEvent.matches(event):
        data = (r.embedded_data() for r in KinesisEvent(event, where=where, path=path).records)
        return _read_all(data, route=(*route, "kinesis"), depth=depth)
    if DynamoDBStreamEvent.matches(event):
        found: list[ObjectCreated] = []
        for stream_record in DynamoDBStreamEvent(event, where=where, path=path).records:
            found.extend(_from_dynamodb(stream_record, route))
        return found
    if APIGatewayHttpEvent.matches(event):
        body = APIGatewayHttpEvent(event, where=where, path=path).embedded_body()
        return _read_all((body,), route=(*route, "apigateway-http"), depth=depth)
    if APIGatewayRestEvent.matches(event):
        body = APIGatewayRestEvent(event, where=where, path=path).embedded_body()
        return _read_all((body,), route=(*route, "apigateway-rest"), depth=depth)
    raise UnknownEventError(_describe_unknown(event, at))


def _confirmation(message: SNSConfirmation, at: str) -> list[ObjectCreated]:
    """An unsubscribe was asked for: nothing to read. A subscription waiting to be confirmed
    is refused, so that the message ends in the queue's dead letters and its alarm: until
    someone confirms it, no upload's event reaches the queue and no photo is processed."""
    if message.type == "UnsubscribeConfirmation":
        return []
    topic = message.topic_arn
    raise UnconfirmedSubscriptionError(
        f"{at}: SNS asks to confirm this queue's subscription to {topic}; no object event "
        "arrives until it is confirmed: open the message's SubscribeURL, or run aws sns "
        f"confirm-subscription --topic-arn {topic} --token with the message's Token"
    )


def _read_all(
    documents: Iterable[Embedded], *, route: tuple[str, ...], depth: int
) -> list[ObjectCreated]:
    """The records of the documents an envelope carries, read one envelope deeper, in order."""
    found: list[ObjectCreated] = []
    for embedded in documents:
        found.extend(_read(embedded.document, route=route, path=embedded.path, depth=depth + 1))
    return found


def _unneeded(read: Callable[[], T]) -> T | None:
    """A field the pipeline can do without: its value, or None when it is missing or malformed.

    Such a field only informs (logs, traces), so refusing the upload's event over it would lose
    a photo for nothing.
    """
    try:
        return read()
    except MalformedEventError:
        return None


def _from_s3(event: S3Notification, route: tuple[str, ...]) -> list[ObjectCreated]:
    shape = "/".join((*route, "s3"))
    return [_from_s3_record(record, shape) for record in event.records if record.is_object_created]


def _from_s3_record(record: S3EventRecord, shape: str) -> ObjectCreated:
    return _notified(record, shape, lambda: record.event_time, lambda: record.aws_region)


def _from_eventbridge(event: S3EventBridgeEvent, route: tuple[str, ...]) -> list[ObjectCreated]:
    if not event.is_object_created:
        return []
    shape = "/".join((*route, "eventbridge"))
    return [_notified(event, shape, lambda: event.time, lambda: event.region)]


def _from_cloudtrail(event: CloudTrailS3Event, route: tuple[str, ...]) -> list[ObjectCreated]:
    if not event.is_object_created:
        return []
    shape = "/".join((*route, "cloudtrail"))
    return [_notified(event, shape, lambda: event.event_time, lambda: event.aws_region)]


def _notified(
    source: S3EventRecord | S3EventBridgeEvent | CloudTrailS3Event,
    shape: str,
    event_time: Callable[[], datetime.datetime],
    region: Callable[[], str],
) -> ObjectCreated:
    """The ObjectCreated of an event S3 sent: directly, through EventBridge, or as CloudTrail.

    CloudTrail records neither the ETag nor the sequencer. The event's time and region go by
    other names on each route, hence the two readers.
    """
    return ObjectCreated(
        bucket=source.bucket_name,
        key=source.object_key,
        size=_unneeded(lambda: source.size),
        etag=None if isinstance(source, CloudTrailS3Event) else source.etag,
        sequencer=None if isinstance(source, CloudTrailS3Event) else source.sequencer,
        event_time=_unneeded(event_time),
        region=_unneeded(region),
        source_shape=shape,
        version_id=_unneeded(lambda: source.version_id),
    )


def _from_dynamodb(record: DynamoDBRecord, route: tuple[str, ...]) -> list[ObjectCreated]:
    """An INSERT or MODIFY whose new image records an object; REMOVE creates nothing."""
    if record.event_name == "REMOVE":
        return []
    if not record.has_new_image:
        raise record.malformed(
            f"is missing from the {record.event_name} record; set the stream's StreamViewType "
            "to NEW_IMAGE or NEW_AND_OLD_IMAGES",
            "dynamodb",
            "NewImage",
        )
    bucket = record.new_image_attribute("bucket")
    key = record.new_image_attribute("key")
    if not isinstance(bucket, str) or not bucket or not isinstance(key, str) or not key:
        raise record.malformed(
            f"has attributes {sorted(record.raw['dynamodb']['NewImage'])}; an object record "
            "needs string attributes 'bucket' and 'key' (optional: 'etag' S, 'sequencer' S "
            "of hex digits; read when valid: 'size' N, 'versionId' S, 'eventTime' S)",
            "dynamodb",
            "NewImage",
        )
    return [
        ObjectCreated(
            bucket=bucket,
            key=key,
            size=_unneeded(lambda: _image_value(record, "size", INTEGER)),
            etag=_image_value(record, "etag", TEXT),
            sequencer=_image_value(record, "sequencer", HEX),
            event_time=_unneeded(lambda: _image_time(record)),
            region=_unneeded(lambda: record.aws_region),
            source_shape="/".join((*route, "dynamodb")),
            version_id=_unneeded(lambda: _image_value(record, "versionId", TEXT)),
        )
    ]


def _image_value(record: DynamoDBRecord, name: str, kind: FieldType[T]) -> T | None:
    """The ``NewImage`` attribute ``name`` as ``kind``; None when absent."""
    value = record.new_image_attribute(name)
    if value is None:
        return None
    converted = kind.convert(value)
    if converted is None:
        raise record.malformed(wrong_type(value, kind), "dynamodb", "NewImage", name)
    return converted


def _image_time(record: DynamoDBRecord) -> datetime.datetime | None:
    """The image's ``eventTime`` (ISO-8601), else when the stream recorded the change."""
    text = _image_value(record, "eventTime", TEXT)
    if text is None:
        return record.approximate_creation_time
    path = record.json_path.keys("dynamodb", "NewImage", "eventTime")
    return parse_time(text, where=record.where, path=path)


def _describe_unknown(event: Mapping[str, Any], where: str) -> str:
    keys = sorted(str(k) for k in event)[:12]
    hints = []
    for name in ("source", "detail-type", "eventSource", "EventSource", "Type", "Event"):
        if name in event:
            hints.append(f"{name}={event[name]!r}")
    records = event.get("Records")
    if isinstance(records, list) and records and isinstance(records[0], Mapping):
        first = records[0]
        source = first.get("eventSource", first.get("EventSource"))
        hints.append(f"Records[0].eventSource={source!r}")
    seen = f"keys {keys}" + (f" ({', '.join(hints)})" if hints else "")
    return (
        f"{where}: unrecognised event shape with {seen}; expected an S3 notification "
        "(Records[].s3), an S3 EventBridge event (source 'aws.s3'), a CloudTrail S3 call "
        "(detail-type 'AWS API Call via CloudTrail'), a scheduled event, an item of a DynamoDB "
        "stream, or one of those inside SNS, SQS, Kinesis data or an API Gateway request body"
    )


def _preview(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
