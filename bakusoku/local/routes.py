"""Delivery routes: the local store's S3 notification re-shaped as the chosen AWS route delivers it."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from bakusoku import utc
from bakusoku.errors import BakusokuError

ACCOUNT = "000000000000"
TOPIC = "bakusoku-object-created"
QUEUE = "bakusoku-object-created"


class RouteError(BakusokuError):
    """The configured trigger route is not one bakusoku knows; the message lists the known ones."""

    code = "config.unknown_route"


def to_eventbridge(notification: Mapping[str, Any]) -> dict[str, Any]:
    """S3 → EventBridge: the "Object Created" event, as in the S3 User Guide's example."""
    record = notification["Records"][0]
    s3 = record["s3"]
    obj = s3["object"]
    detail_object = {"key": obj["key"], "size": obj.get("size"), "etag": obj.get("eTag")}
    if obj.get("versionId"):
        detail_object["version-id"] = obj["versionId"]
    detail_object["sequencer"] = obj.get("sequencer")
    reason = {"ObjectCreated:Post": "PostObject", "ObjectCreated:Copy": "CopyObject"}.get(
        record.get("eventName", ""), "PutObject"
    )
    return {
        "version": "0",
        "id": str(uuid.UUID(bytes=hashlib.sha256(json.dumps(record).encode()).digest()[:16])),
        "detail-type": "Object Created",
        "source": "aws.s3",
        "account": ACCOUNT,
        "time": record["eventTime"][:19] + "Z",  # EventBridge times have no milliseconds
        "region": record["awsRegion"],
        "resources": [f"arn:aws:s3:::{s3['bucket']['name']}"],
        "detail": {
            "version": "0",
            "bucket": {"name": s3["bucket"]["name"]},
            "object": detail_object,
            "request-id": record.get("responseElements", {}).get("x-amz-request-id", ""),
            "requester": ACCOUNT,
            "source-ip-address": record.get("requestParameters", {}).get("sourceIPAddress", ""),
            "reason": reason,
        },
    }


def _sns_message(document: Mapping[str, Any], region: str, subject: str | None) -> dict[str, Any]:
    message: dict[str, Any] = {
        "Type": "Notification",
        "MessageId": str(uuid.uuid4()),
        "TopicArn": f"arn:aws:sns:{region}:{ACCOUNT}:{TOPIC}",
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
                "eventSourceARN": f"arn:aws:sqs:{region}:{ACCOUNT}:{QUEUE}",
                "awsRegion": region,
            }
        ]
    }


def _region(notification: Mapping[str, Any]) -> str:
    return str(notification["Records"][0]["awsRegion"])


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
