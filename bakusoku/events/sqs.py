"""SQS → Lambda envelope (``Records[].body``), including bodies that are SNS notifications."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bakusoku.events.base import Embedded, EventView, RecordsEvent
from bakusoku.events.errors import MalformedEventError
from bakusoku.events.sns import SNSMessage


class SQSRecord(EventView):
    """One message of an SQS batch; ``body`` is the text sent, often JSON."""

    __slots__ = ()
    shape = "SQS record"

    @property
    def message_id(self) -> str:
        return self._str("messageId")

    @property
    def body(self) -> str:
        return self._str("body")

    @property
    def event_source_arn(self) -> str:
        return self._str("eventSourceARN")

    @property
    def aws_region(self) -> str:
        return self._str("awsRegion")

    @property
    def attributes(self) -> Mapping[str, Any]:
        return self._mapping("attributes")

    @property
    def approximate_receive_count(self) -> int:
        """How often this message was received: above 1 means a redelivery."""
        text = self._str("attributes", "ApproximateReceiveCount")
        if not text.isdigit():  # SQS writes the count as text: "1"
            raise self.malformed(
                f"is {text!r}, expected a count", "attributes", "ApproximateReceiveCount"
            )
        return int(text)

    def json_body(self) -> Any:
        return self.embedded_body().document

    def embedded_body(self) -> Embedded:
        """``body`` parsed as JSON, with the path it was found at."""
        return self._embedded_json("body")

    def sns_notification(self) -> SNSMessage | None:
        """The SNS notification when the queue is subscribed to a topic with raw delivery off.

        With raw message delivery on, the body is the published message itself and this is None.
        """
        try:
            body = self.embedded_body()
        except MalformedEventError:
            return None
        if isinstance(body.document, Mapping) and SNSMessage.matches(body.document):
            return SNSMessage(body.document, where=self._where, path=body.path)
        return None


class SQSEvent(RecordsEvent[SQSRecord]):
    """SQS → Lambda: ``{"Records": [{"eventSource": "aws:sqs", "body": "..."}]}``."""

    __slots__ = ()
    shape = "SQS event"
    record_type = SQSRecord
    source = "aws:sqs"
