"""Typed readers for AWS event shapes, normalised to one ObjectCreated record.

Readers are strict about what the pipeline needs (bucket, key, the event's name, ETag and
sequencer) and lenient about the rest: unknown fields are ignored, integers written as floats
read as integers, and a field nothing needs is never read into a refusal. A refusal names the
field by its jq path (``.Records[0].body | fromjson | .Records[0].s3.object.key``).
"""

from bakusoku.events.apigateway import APIGatewayHttpEvent, APIGatewayRestEvent
from bakusoku.events.base import EventView
from bakusoku.events.cloudwatch import CloudWatchAlarm
from bakusoku.events.dynamodb import (
    DynamoDBRecord,
    DynamoDBStreamEvent,
    deserialize,
    deserialize_image,
)
from bakusoku.events.errors import (
    EventError,
    MalformedEventError,
    UnconfirmedSubscriptionError,
    UnknownEventError,
)
from bakusoku.events.eventbridge import (
    CloudTrailS3Event,
    EventBridgeEvent,
    ExecutionStatusChange,
    S3EventBridgeEvent,
    ScheduledEvent,
)
from bakusoku.events.kinesis import KinesisEvent, KinesisRecord
from bakusoku.events.naming import execution_name
from bakusoku.events.paths import JsonPath
from bakusoku.events.records import ObjectCreated, object_created_records, parse_object_created
from bakusoku.events.s3 import S3EventRecord, S3Notification, S3TestEvent
from bakusoku.events.sns import SNSEvent, SNSMessage, SNSRecord
from bakusoku.events.sqs import SQSEvent, SQSRecord

__all__ = [
    "APIGatewayHttpEvent",
    "APIGatewayRestEvent",
    "CloudTrailS3Event",
    "CloudWatchAlarm",
    "DynamoDBRecord",
    "DynamoDBStreamEvent",
    "EventBridgeEvent",
    "EventError",
    "EventView",
    "ExecutionStatusChange",
    "JsonPath",
    "KinesisEvent",
    "KinesisRecord",
    "MalformedEventError",
    "ObjectCreated",
    "S3EventBridgeEvent",
    "S3EventRecord",
    "S3Notification",
    "S3TestEvent",
    "SNSEvent",
    "SNSMessage",
    "SNSRecord",
    "SQSEvent",
    "SQSRecord",
    "ScheduledEvent",
    "UnconfirmedSubscriptionError",
    "UnknownEventError",
    "deserialize",
    "deserialize_image",
    "execution_name",
    "object_created_records",
    "parse_object_created",
]
