"""parse_object_created: every route an S3 upload can take to a handler, read as ObjectCreated."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bakusoku.events.apigateway import APIGatewayHttpEvent, APIGatewayRestEvent
from bakusoku.events.base import parse_json, parse_time
from bakusoku.events.dynamodb import DynamoDBRecord, DynamoDBStreamEvent
from bakusoku.events.errors import MalformedEventError, UnknownEventError
from bakusoku.events.eventbridge import CloudTrailS3Event, S3EventBridgeEvent, ScheduledEvent
from bakusoku.events.kinesis import KinesisEvent
from bakusoku.events.s3 import S3Notification, S3TestEvent
from bakusoku.events.sns import SNSEvent, SNSMessage
from bakusoku.events.sqs import SQSEvent

# How deep envelopes may nest (S3 → EventBridge → SNS → SQS is three); guards against loops.
_MAX_DEPTH = 6


@dataclass(frozen=True)
class ObjectCreated:
    """One new object, whatever route its event took.

    ``key`` is the real object key (decoded); ``size``, ``etag`` and ``sequencer`` are None when
    the route does not carry them (CloudTrail has no ETag or sequencer). ``source_shape`` is the
    route, outermost envelope first: ``"s3"``, ``"eventbridge"``, ``"cloudtrail"``,
    ``"sqs/sns/s3"``.
    """

    bucket: str
    key: str
    size: int | None
    etag: str | None
    sequencer: str | None
    event_time: datetime.datetime
    region: str
    source_shape: str
    version_id: str | None = None


def parse_object_created(event: Mapping[str, Any]) -> list[ObjectCreated]:
    """Every object-created record in ``event``, whatever route it took to the handler.

    Reads S3 notifications, S3 EventBridge events, CloudTrail S3 calls, and those inside SNS,
    SQS (raw delivery on or off), Kinesis ``data``, API Gateway REST/HTTP API bodies; DynamoDB
    Streams items that record an object (string attributes ``bucket`` and ``key``). Known events
    that create nothing (``s3:TestEvent``, "Object Deleted", a failed PutObject call, a
    scheduled event, a DynamoDB ``REMOVE``) give no records. An unknown shape raises
    UnknownEventError, a known one with a missing or mistyped field MalformedEventError; both
    messages say what was seen and what was expected.
    """
    return _read(event, route=(), depth=0)


# The name the pipeline's handlers were first written against.
object_created_records = parse_object_created


def _read(event: Any, *, route: tuple[str, ...], depth: int) -> list[ObjectCreated]:
    where = "/".join(route) or "event"
    if depth > _MAX_DEPTH:
        raise UnknownEventError(f"{where}: envelopes nested more than {_MAX_DEPTH} deep")
    if not isinstance(event, Mapping):
        raise UnknownEventError(
            f"{where}: expected a JSON object, got {type(event).__name__} {_preview(event)}"
        )
    if S3Notification.matches(event):
        return _from_s3(S3Notification(event, where=where), route)
    if S3TestEvent.matches(event):
        return []
    if CloudTrailS3Event.matches(event):
        return _from_cloudtrail(CloudTrailS3Event(event, where=where), route)
    if S3EventBridgeEvent.matches(event):
        return _from_eventbridge(S3EventBridgeEvent(event, where=where), route)
    if SNSEvent.matches(event):
        found: list[ObjectCreated] = []
        for record in SNSEvent(event, where=where).records:
            message = parse_json(record.sns.message, where=f"{where}/sns Message")
            found.extend(_read(message, route=(*route, "sns"), depth=depth + 1))
        return found
    if SNSMessage.matches(event):  # SNS's notification JSON, as in an SQS body (raw delivery off)
        message = parse_json(SNSMessage(event).message, where=f"{where}/sns Message")
        return _read(message, route=(*route, "sns"), depth=depth + 1)
    if SQSEvent.matches(event):
        found = []
        for message_record in SQSEvent(event, where=where).records:
            body = parse_json(message_record.body, where=f"{where}/sqs body")
            found.extend(_read(body, route=(*route, "sqs"), depth=depth + 1))
        return found
    if ScheduledEvent.matches(event):
        return []
    if KinesisEvent.matches(event):
        found = []
        for kinesis_record in KinesisEvent(event, where=where).records:
            data = kinesis_record.json_data()
            found.extend(_read(data, route=(*route, "kinesis"), depth=depth + 1))
        return found
    if DynamoDBStreamEvent.matches(event):
        found = []
        for stream_record in DynamoDBStreamEvent(event, where=where).records:
            found.extend(_from_dynamodb(stream_record, route))
        return found
    if APIGatewayHttpEvent.matches(event):
        body = APIGatewayHttpEvent(event, where=where).json_body()
        return _read(body, route=(*route, "apigateway-http"), depth=depth + 1)
    if APIGatewayRestEvent.matches(event):
        body = APIGatewayRestEvent(event, where=where).json_body()
        return _read(body, route=(*route, "apigateway-rest"), depth=depth + 1)
    raise UnknownEventError(_describe_unknown(event, where))


def _from_dynamodb(record: DynamoDBRecord, route: tuple[str, ...]) -> list[ObjectCreated]:
    """An INSERT or MODIFY whose new image records an object; REMOVE creates nothing."""
    if record.event_name == "REMOVE":
        return []
    image = record.new_image
    if image is None:
        raise MalformedEventError(
            f"{record._where}: {record.event_name} has no NewImage; set the stream's "
            "StreamViewType to NEW_IMAGE or NEW_AND_OLD_IMAGES"
        )
    bucket, key = image.get("bucket"), image.get("key")
    if not isinstance(bucket, str) or not isinstance(key, str):
        raise MalformedEventError(
            f"{record._where}: the new image has attributes {sorted(image)}; an object record "
            "needs string attributes 'bucket' and 'key' (optional: 'size' N, 'etag', "
            "'sequencer', 'versionId', 'eventTime' S)"
        )
    event_time = _image_time(image, record)
    size = image.get("size")
    return [
        ObjectCreated(
            bucket=bucket,
            key=key,
            size=int(size) if size is not None else None,
            etag=_opt_text(image, "etag"),
            sequencer=_opt_text(image, "sequencer"),
            event_time=event_time,
            region=record.aws_region,
            source_shape="/".join((*route, "dynamodb")),
            version_id=_opt_text(image, "versionId"),
        )
    ]


def _image_time(image: Mapping[str, Any], record: DynamoDBRecord) -> datetime.datetime:
    text = image.get("eventTime")
    if isinstance(text, str):
        return parse_time(text, where=f"{record._where} NewImage.eventTime")
    approximate = record.approximate_creation_time
    if approximate is None:
        raise MalformedEventError(
            f"{record._where}: no time for the object: add an 'eventTime' attribute (ISO-8601) "
            "or read a stream that sets dynamodb.ApproximateCreationDateTime"
        )
    return approximate


def _opt_text(image: Mapping[str, Any], name: str) -> str | None:
    value = image.get(name)
    return None if value is None else str(value)


def _from_s3(event: S3Notification, route: tuple[str, ...]) -> list[ObjectCreated]:
    shape = "/".join((*route, "s3"))
    return [
        ObjectCreated(
            bucket=record.bucket_name,
            key=record.object_key,
            size=record.size,
            etag=record.etag,
            sequencer=record.sequencer,
            event_time=record.event_time,
            region=record.aws_region,
            source_shape=shape,
            version_id=record.version_id,
        )
        for record in event.records
        if record.is_object_created
    ]


def _from_eventbridge(event: S3EventBridgeEvent, route: tuple[str, ...]) -> list[ObjectCreated]:
    if not event.is_object_created:
        return []
    return [
        ObjectCreated(
            bucket=event.bucket_name,
            key=event.object_key,
            size=event.size,
            etag=event.etag,
            sequencer=event.sequencer,
            event_time=event.time,
            region=event.region,
            source_shape="/".join((*route, "eventbridge")),
            version_id=event.version_id,
        )
    ]


def _from_cloudtrail(event: CloudTrailS3Event, route: tuple[str, ...]) -> list[ObjectCreated]:
    if not event.is_object_created:
        return []
    return [
        ObjectCreated(
            bucket=event.bucket_name,
            key=event.object_key,
            size=event.size,
            etag=None,
            sequencer=None,
            event_time=event.event_time,
            region=event.aws_region,
            source_shape="/".join((*route, "cloudtrail")),
            version_id=event.version_id,
        )
    ]


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
