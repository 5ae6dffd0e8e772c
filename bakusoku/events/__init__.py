"""Typed readers for AWS event shapes, normalised to one ObjectCreated record."""

from bakusoku.events.base import EventView
from bakusoku.events.errors import EventError, MalformedEventError, UnknownEventError
from bakusoku.events.eventbridge import CloudTrailS3Event, EventBridgeEvent, S3EventBridgeEvent
from bakusoku.events.naming import execution_name
from bakusoku.events.records import ObjectCreated, object_created_records
from bakusoku.events.s3 import S3EventRecord, S3Notification, S3TestEvent
from bakusoku.events.sns import SNSEvent, SNSMessage, SNSRecord
from bakusoku.events.sqs import SQSEvent, SQSRecord

__all__ = [
    "CloudTrailS3Event",
    "EventBridgeEvent",
    "EventError",
    "EventView",
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
    "UnknownEventError",
    "execution_name",
    "object_created_records",
]
