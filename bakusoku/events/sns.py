"""SNS: the Lambda envelope (``Records[].Sns``) and the notification JSON SNS delivers to SQS."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

from bakusoku.events.base import Embedded, EventView, RecordsEvent


class SNSMessage(EventView):
    """Fields common to SNS's Lambda record ``Sns`` and its notification JSON (raw delivery off)."""

    __slots__ = ()
    shape = "SNS message"

    @property
    def message(self) -> str:
        return self._str("Message")

    @property
    def subject(self) -> str | None:
        return self._opt_str("Subject")

    @property
    def message_id(self) -> str:
        return self._str("MessageId")

    @property
    def topic_arn(self) -> str:
        return self._str("TopicArn")

    @property
    def type(self) -> str:
        return self._str("Type")

    @property
    def timestamp(self) -> datetime.datetime:
        return self._time("Timestamp")

    def json_message(self) -> Any:
        """``Message`` parsed as JSON (S3 and EventBridge publish JSON documents)."""
        return self.embedded_message().document

    def embedded_message(self) -> Embedded:
        """``Message`` parsed as JSON, with the path it was found at."""
        return self._embedded_json("Message")

    @staticmethod
    def matches(event: Mapping[str, Any]) -> bool:
        """True for SNS's notification JSON, as found in an SQS body with raw delivery off."""
        return event.get("Type") == "Notification" and "Message" in event and "TopicArn" in event


class SNSConfirmation(EventView):
    """SNS's ``SubscriptionConfirmation`` or ``UnsubscribeConfirmation``, as found in an SQS body
    (a subscription of a queue in another account must be confirmed before anything flows)."""

    __slots__ = ()
    shape = "SNS confirmation"

    @property
    def type(self) -> str:
        return self._str("Type")

    @property
    def topic_arn(self) -> str:
        return self._str("TopicArn")

    @staticmethod
    def matches(event: Mapping[str, Any]) -> bool:
        return (
            event.get("Type") in ("SubscriptionConfirmation", "UnsubscribeConfirmation")
            and "TopicArn" in event
            and "Token" in event
        )


class SNSRecord(EventView):
    """One record of the SNS → Lambda envelope."""

    __slots__ = ()
    shape = "SNS record"

    @property
    def event_subscription_arn(self) -> str | None:
        return self._opt_str("EventSubscriptionArn")

    @property
    def sns(self) -> SNSMessage:
        return SNSMessage(self._mapping("Sns"), where=self._where, path=self._path.key("Sns"))


class SNSEvent(RecordsEvent[SNSRecord]):
    """SNS → Lambda: ``{"Records": [{"EventSource": "aws:sns", "Sns": {...}}]}``."""

    __slots__ = ()
    shape = "SNS event"
    record_type = SNSRecord
    source_field = "EventSource"
    source = "aws:sns"
