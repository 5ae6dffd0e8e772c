"""Delivery routes: the local store's S3 notification re-shaped as the chosen AWS route delivers it."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from bakusoku import arns, utc
from bakusoku.errors import BakusokuError
from bakusoku.events.s3 import S3EventRecord, S3Notification

ACCOUNT = "000000000000"
TOPIC = "bakusoku-object-created"
QUEUE = "bakusoku-object-created"


class RouteError(BakusokuError):
    """The configured trigger route is not one bakusoku knows; the message lists the known ones."""

    code = "config.unknown_route"


def to_eventbridge(notification: Mapping[str, Any]) -> dict[str, Any]:
    """S3 → EventBridge: the "Object Created" event, as in the S3 User Guide's example."""
    record = _first_record(notification)
    detail_object: dict[str, Any] = {
        "key": record.raw_key,  # URL-encoded, as in the notification
        "size": record.size,
        "etag": record.etag,
    }
    if record.version_id:
        detail_object["version-id"] = record.version_id
    detail_object["sequencer"] = record.sequencer
    reason = {"ObjectCreated:Post": "PostObject", "ObjectCreated:Copy": "CopyObject"}.get(
        record.event_name, "PutObject"
    )
    return {
        "version": "0",
        # The same notification always becomes the same event (a redelivery keeps its id).
        "id": str(
            uuid.UUID(bytes=hashlib.sha256(json.dumps(dict(record.raw)).encode()).digest()[:16])
        ),
        "detail-type": "Object Created",
        "source": "aws.s3",
        "account": ACCOUNT,
        "time": utc.iso_seconds(record.event_time),  # EventBridge times have no milliseconds
        "region": record.aws_region,
        "resources": [arns.s3_bucket_arn(record.bucket_name)],
        "detail": {
            "version": "0",
            "bucket": {"name": record.bucket_name},
            "object": detail_object,
            "request-id": record.request_id or "",
            "requester": ACCOUNT,
            "source-ip-address": record.source_ip_address or "",
            "reason": reason,
        },
    }


def _first_record(notification: Mapping[str, Any]) -> S3EventRecord:
    """The one record of a notification the local store wrote (it writes one per object)."""
    return S3Notification(notification, where="store notification").records[0]


def _sns_message(document: Mapping[str, Any], region: str, subject: str | None) -> dict[str, Any]:
    message: dict[str, Any] = {
        "Type": "Notification",
        "MessageId": str(uuid.uuid4()),
        "TopicArn": arns.arn("sns", region, ACCOUNT, TOPIC),
        "Message": json.dumps(document),
        "Timestamp": utc.iso_millis(utc.now()),
        "SignatureVersion": "1",
        "Signature": "",
        "SigningCertURL": "",
        "UnsubscribeURL": "",
    }
    if subject is not None:
        message["Subject"] = subject
    return message


def _sns_envelope(document: Mapping[str, Any], region: str, subject: str | None) -> dict[str, Any]:
    sns = _sns_message(document, region, subject)
    sns["MessageAttributes"] = {}
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": f"{sns['TopicArn']}:{uuid.uuid4()}",
                "Sns": sns,
            }
        ]
    }


def _sqs_envelope(body: str, region: str) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": str(uuid.uuid4()),
                "receiptHandle": uuid.uuid4().hex,
                "body": body,
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": "0",
                    "SenderId": ACCOUNT,
                    "ApproximateFirstReceiveTimestamp": "0",
                },
                "messageAttributes": {},
                "md5OfBody": hashlib.md5(body.encode()).hexdigest(),
                "eventSource": "aws:sqs",
                "eventSourceARN": arns.arn("sqs", region, ACCOUNT, QUEUE),
                "awsRegion": region,
            }
        ]
    }


def _region(notification: Mapping[str, Any]) -> str:
    return _first_record(notification).aws_region


_S3_SUBJECT = "Amazon S3 Notification"

ROUTES: dict[str, Callable[[Mapping[str, Any]], dict[str, Any]]] = {
    "eventbridge": to_eventbridge,
    "s3": lambda n: dict(n),
    "s3-sqs": lambda n: _sqs_envelope(json.dumps(n), _region(n)),
    "s3-sns": lambda n: _sns_envelope(n, _region(n), _S3_SUBJECT),
    "s3-sns-sqs": lambda n: _sqs_envelope(
        json.dumps(_sns_message(n, _region(n), _S3_SUBJECT)), _region(n)
    ),
    "s3-sns-sqs-raw": lambda n: _sqs_envelope(json.dumps(n), _region(n)),
    "eventbridge-sns-sqs": lambda n: _sqs_envelope(
        json.dumps(_sns_message(to_eventbridge(n), _region(n), None)), _region(n)
    ),
}


def check_route(route: str) -> str:
    """``route`` itself when known; RouteError listing the known routes otherwise."""
    if route not in ROUTES:
        raise RouteError(
            f"trigger route {route!r} is unknown; set trigger_route to one of "
            f"{', '.join(sorted(ROUTES))}"
        )
    return route


def route_event(route: str, notification: Mapping[str, Any]) -> dict[str, Any]:
    """The event the pipeline receives when the upload's notification takes ``route``."""
    return ROUTES[check_route(route)](notification)
