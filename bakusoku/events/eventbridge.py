"""EventBridge events: the envelope, S3 "Object Created", S3 calls recorded by CloudTrail, and
Step Functions' execution status changes."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

from bakusoku.events.base import EventView
from bakusoku.utc import from_epoch_millis

S3_SOURCE = "aws.s3"
CLOUDTRAIL_DETAIL_TYPE = "AWS API Call via CloudTrail"
# S3 API calls that leave a new object behind, as CloudTrail names them.
OBJECT_CREATING_CALLS = frozenset(
    {"PutObject", "PostObject", "CopyObject", "CompleteMultipartUpload"}
)
STATES_SOURCE = "aws.states"
EXECUTION_STATUS_CHANGE = "Step Functions Execution Status Change"


class EventBridgeEvent(EventView):
    """The EventBridge envelope: id, detail-type, source, account, time, region, detail."""

    __slots__ = ()
    shape = "EventBridge event"

    @property
    def id(self) -> str:
        return self._str("id")

    @property
    def detail_type(self) -> str:
        return self._str("detail-type")

    @property
    def source(self) -> str:
        return self._str("source")

    @property
    def account(self) -> str:
        return self._str("account")

    @property
    def time(self) -> datetime.datetime:
        return self._time("time")

    @property
    def region(self) -> str:
        return self._str("region")

    @property
    def resources(self) -> list[str]:
        return [str(r) for r in self._list("resources")]

    @property
    def detail(self) -> Mapping[str, Any]:
        return self._mapping("detail")

    @staticmethod
    def matches(event: Mapping[str, Any]) -> bool:
        return "detail-type" in event and "source" in event and "detail" in event


class S3EventBridgeEvent(EventBridgeEvent):
    """An S3 event sent to EventBridge ("Object Created", "Object Deleted"...)."""

    __slots__ = ()
    shape = "S3 EventBridge event"

    @property
    def bucket_name(self) -> str:
        return self._name("detail", "bucket", "name")

    @property
    def raw_key(self) -> str:
        return self._name("detail", "object", "key")

    @property
    def object_key(self) -> str:
        # S3 encodes keys in its EventBridge events as in its notifications ('+' for a space);
        # AWS's own Powertools decodes both the same way.
        return self._url_encoded_name("detail", "object", "key")

    @property
    def size(self) -> int | None:
        return self._opt_int("detail", "object", "size")

    @property
    def etag(self) -> str | None:
        return self._opt_str("detail", "object", "etag")

    @property
    def version_id(self) -> str | None:
        return self._opt_str("detail", "object", "version-id")

    @property
    def sequencer(self) -> str | None:
        return self._opt_hex("detail", "object", "sequencer")

    @property
    def reason(self) -> str | None:
        return self._opt_str("detail", "reason")

    @property
    def request_id(self) -> str | None:
        return self._opt_str("detail", "request-id")

    @property
    def is_object_created(self) -> bool:
        return self.detail_type == "Object Created"

    @staticmethod
    def matches(event: Mapping[str, Any]) -> bool:
        # S3's source and a detail say what the event is even with its detail-type gone: read, it
        # is refused for the missing field, by its path, as for any other needed field.
        return (
            event.get("source") == S3_SOURCE
            and "detail" in event
            and event.get("detail-type") != CLOUDTRAIL_DETAIL_TYPE
        )


class CloudTrailS3Event(EventBridgeEvent):
    """An S3 API call recorded by CloudTrail, delivered by EventBridge; the key is raw.

    CloudTrail records the request, not the stored object: there is no ETag or sequencer, and the
    size is the bytes received (``additionalEventData.bytesTransferredIn``).
    """

    __slots__ = ()
    shape = "CloudTrail S3 event"

    @property
    def event_name(self) -> str:
        return self._str("detail", "eventName")

    @property
    def event_source(self) -> str:
        return self._str("detail", "eventSource")

    @property
    def event_time(self) -> datetime.datetime:
        return self._time("detail", "eventTime")

    @property
    def aws_region(self) -> str:
        return self._str("detail", "awsRegion")

    @property
    def bucket_name(self) -> str:
        return self._name("detail", "requestParameters", "bucketName")

    @property
    def object_key(self) -> str:
        # CloudTrail records the request parameters as sent: the key is not URL-encoded.
        return self._name("detail", "requestParameters", "key")

    @property
    def request_id(self) -> str | None:
        return self._opt_str("detail", "requestID")

    @property
    def error_code(self) -> str | None:
        """Set when the call failed: CloudTrail records refused calls too."""
        return self._opt_str("detail", "errorCode")

    @property
    def size(self) -> int | None:
        return self._opt_int("detail", "additionalEventData", "bytesTransferredIn")

    @property
    def version_id(self) -> str | None:
        return self._opt_str("detail", "responseElements", "x-amz-version-id")

    @property
    def is_object_created(self) -> bool:
        return self.event_name in OBJECT_CREATING_CALLS and self.error_code is None

    @staticmethod
    def matches(event: Mapping[str, Any]) -> bool:
        detail = event.get("detail")
        return (
            event.get("detail-type") == CLOUDTRAIL_DETAIL_TYPE
            and isinstance(detail, Mapping)
            and detail.get("eventSource") == "s3.amazonaws.com"
        )


class ScheduledEvent(EventBridgeEvent):
    """The event an EventBridge schedule rule sends (``rate(...)`` or ``cron(...)``): no detail.

    ``resources`` holds the rule's ARN; ``time`` is when the schedule fired.
    """

    __slots__ = ()
    shape = "EventBridge scheduled event"

    @property
    def rule_arn(self) -> str | None:
        resources = self.resources
        return resources[0] if resources else None

    @staticmethod
    def matches(event: Mapping[str, Any]) -> bool:
        return event.get("detail-type") == "Scheduled Event" and event.get("source") in (
            "aws.events",
            "aws.scheduler",
        )


class ExecutionStatusChange(EventBridgeEvent):
    """Step Functions' "Execution Status Change" event: one execution started, ended or redriven.

    AWS quirks this view absorbs:

    - ``startDate`` and ``stopDate`` are epoch *milliseconds* (JSON numbers), unlike the envelope's
      ISO-8601 ``time``; ``stopDate`` is null while the execution runs.
    - ``input`` and ``output`` are JSON documents serialised *as strings*, or null. When the
      escaped input and output together pass 248 KB, Step Functions leaves the input out
      (``inputDetails.included`` is false) and likewise the output; DescribeExecution has them.
    - ``error`` and ``cause`` are null, or absent (the Developer Guide's own FAILED example has
      neither), unless the execution failed, timed out or was stopped with them.
    - ``redriveCount`` (with ``redriveDate`` and ``redriveStatus``) came with redrive in 2023: older
      events, and replays of archived ones, lack it, which means no redrive.
    - Only Standard workflows send these events, best effort: a consumer must bear duplicates.
    """

    __slots__ = ()
    shape = "Step Functions execution status change event"

    @property
    def execution_arn(self) -> str:
        return self._str("detail", "executionArn")

    @property
    def state_machine_arn(self) -> str:
        return self._str("detail", "stateMachineArn")

    @property
    def name(self) -> str:
        return self._str("detail", "name")

    @property
    def status(self) -> str:
        """RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED or PENDING_REDRIVE."""
        return self._str("detail", "status")

    @property
    def start_date(self) -> datetime.datetime:
        return from_epoch_millis(self._int("detail", "startDate"))

    @property
    def stop_date(self) -> datetime.datetime | None:
        millis = self._opt_int("detail", "stopDate")
        return None if millis is None else from_epoch_millis(millis)

    @property
    def input_included(self) -> bool:
        """False when Step Functions left the input out for its size (``inputDetails``)."""
        return self._opt_bool("detail", "inputDetails", "included") is not False

    @property
    def input(self) -> Any:
        """The execution's input, parsed; None when the event does not carry it."""
        if self._opt_str("detail", "input") is None or not self.input_included:
            return None
        return self._embedded_json("detail", "input").document

    @property
    def error(self) -> str | None:
        return self._opt_str("detail", "error")

    @property
    def cause(self) -> str | None:
        return self._opt_str("detail", "cause")

    @property
    def redrive_count(self) -> int:
        return self._opt_int("detail", "redriveCount") or 0

    @staticmethod
    def matches(event: Mapping[str, Any]) -> bool:
        return (
            EventBridgeEvent.matches(event)
            and event.get("source") == STATES_SOURCE
            and event.get("detail-type") == EXECUTION_STATUS_CHANGE
        )
