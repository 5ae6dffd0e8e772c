"""A deployed stack's dead letters: the events a declared function failed, invoked again.

Each declared function with schedules or object prefixes has its queue
``{service}-{stage}-{function}-dlq`` (``sam.declared_dead_letter_resources``). Two kinds of message
land there: Lambda's invocation record, when the function failed its tries (the event is its
``requestPayload``), and the event itself, when EventBridge could not invoke the function.
:func:`redrive` invokes the function's ``live`` alias asynchronously with each event, as the rule
would, and deletes a message only once Lambda has accepted its event (202); a message Lambda
refuses, or whose body is not an event, stays in the queue for the next try. What
``bakusoku functions redrive --stage`` runs; under ``bakusoku up`` the same command redrives the
local dead letters (``db.invocations``).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from bakusoku.config import ConfigError
from bakusoku.deploy.canary import ALIAS
from bakusoku.deploy.sam import asynchronous_rules, dead_letter_queue_name
from bakusoku.deploy.stages import StageConfig

log = logging.getLogger("bakusoku.deploy.dead_letters")

BATCH = 10  # SQS's most messages per receive
VISIBILITY_SECONDS = 120  # a message being redriven is hidden from a second redrive this long


@dataclass(frozen=True)
class Redriven:
    """What one redrive of a queue did: events Lambda accepted, messages left in the queue."""

    invoked: int
    kept: int


@dataclass(frozen=True)
class DeadLetterQueue:
    function: str  # the declared function's name in the configuration
    function_name: str  # its Lambda function, e.g. enphoto-prod-slow-queries
    queue_name: str  # e.g. enphoto-prod-slow-queries-dlq


def dead_letter_queues(stage: StageConfig, function: str | None = None) -> list[DeadLetterQueue]:
    """The queues of ``stage``'s declared functions invoked asynchronously (of ``function``
    alone, when given); ConfigError when ``function`` has none."""
    found = [
        DeadLetterQueue(
            f.name, stage.resource_name(f.name), stage.resource_name(dead_letter_queue_name(f.name))
        )
        for f in stage.functions.values()
        if f.declaration is not None and asynchronous_rules(f.declaration)
    ]
    if function is None:
        return found
    named = [q for q in found if q.function == function]
    if not named:
        raise ConfigError(
            f"function {function!r} of {stage.stack_name} has no dead-letter queue: only a declared "
            "function with schedules or object prefixes has one (docs/functions.md); its queues: "
            + (", ".join(q.function for q in found) or "none")
        )
    return named


def event_of(body: str) -> dict[str, Any] | None:
    """The event a dead-letter message holds: a Lambda invocation record's ``requestPayload``, or
    the message itself (EventBridge's dead letter is the event); None when it holds neither."""
    try:
        message = json.loads(body)
    except ValueError:
        return None
    if not isinstance(message, dict):
        return None
    if "requestContext" in message and "requestPayload" in message:
        payload = message["requestPayload"]
        return payload if isinstance(payload, dict) else None
    return message


def redrive(
    sqs: Any, lambda_client: Any, queue_url: str, function_name: str, *, limit: int = 1000
) -> Redriven:
    """Invoke ``function_name``'s ``live`` alias asynchronously with each dead letter of
    ``queue_url`` (up to ``limit``), deleting each message once its event is accepted."""
    invoked = kept = 0
    while invoked + kept < limit:
        received = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=min(BATCH, limit - invoked - kept),
            VisibilityTimeout=VISIBILITY_SECONDS,
            WaitTimeSeconds=0,
        ).get("Messages", [])
        if not received:
            break
        for message in received:
            if _invoke(lambda_client, function_name, message):
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
                invoked += 1
            else:
                kept += 1
    return Redriven(invoked, kept)


def _invoke(lambda_client: Any, function_name: str, message: dict[str, Any]) -> bool:
    event = event_of(message.get("Body", ""))
    if event is None:
        log.warning(
            "message %s of %s's dead-letter queue holds no event; it is kept",
            message.get("MessageId"),
            function_name,
        )
        return False
    try:
        answer = lambda_client.invoke(
            FunctionName=function_name,
            Qualifier=ALIAS,
            InvocationType="Event",
            Payload=json.dumps(event).encode(),
        )
    except Exception as exc:  # refused (throttled, missing): the message stays for a next try
        log.warning(
            "%s:%s refused the event of message %s (%s); it is kept",
            function_name,
            ALIAS,
            message.get("MessageId"),
            exc,
        )
        return False
    return int(answer.get("StatusCode", 0)) == 202
