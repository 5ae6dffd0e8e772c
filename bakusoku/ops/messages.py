"""Alerts, one description for every backend: which execution ends are alerted, and what an alert
says about them (Slack Block Kit with a plain-text fallback, or the generic webhook's JSON).
A declared function's event that failed every try is told as a :class:`DeadLetter` under
``bakusoku up``; on AWS its queue's alarm says the same through the notifier.

The embedded deployment (``ops.alerts``) and the AWS notifier (``aws.notifier``) both turn an ended
execution into a :class:`FailedExecution` with :func:`failed_execution` and render it here; the
deploy templates read :data:`ALERTED_STATUSES` for the EventBridge rule that feeds the notifier.
On AWS the stack's CloudWatch alarms reach the same channel: the notifier reads their SNS
notifications into an :class:`AlarmChange` and posts :func:`slack_alarm`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from bakusoku.domain.catalogue import CATALOGUE, FALLBACK_CODE, failure_code
from bakusoku.ops.history import photo_of
from bakusoku.ops.timeline import Timeline
from bakusoku.utc import iso_seconds
from bakusoku.workflow.engine import ExecutionDescription

MAX_CAUSE = 1500
# FAILED and TIMED_OUT leave a photo that never became ready. ABORTED does too: only a person ends
# an execution that way (StopExecution; shutting down never does), and the photo then stays
# "processing" until someone re-drives it. All three are alerted, on both backends alike.
ALERTED_STATUSES: tuple[str, ...] = ("FAILED", "TIMED_OUT", "ABORTED")
_ENDED = {"FAILED": "failed", "TIMED_OUT": "timed out", "ABORTED": "was aborted"}


@dataclass(frozen=True)
class FailedExecution:
    """What an alert says about one execution that ended in one of the alerted statuses.

    Its :meth:`to_payload` is what the embedded outbox keeps and the generic webhook receives.
    """

    service: str
    stage: str
    execution: str  # the execution's name
    execution_arn: str
    status: str
    error_code: str | None  # None: the execution ended without an error name
    error: str | None
    cause: str
    photo_id: str | None
    album: str | None
    failed_state: str | None  # None: the history does not say (or was not readable)
    attempts: int
    redrive_count: int
    link: str
    at: float  # when the execution ended, epoch seconds

    def to_payload(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> FailedExecution:
        """Read a payload back, also one queued before ``execution_arn`` was recorded."""
        return cls(**({"execution_arn": ""} | {k: payload[k] for k in _FIELDS if k in payload}))


_FIELDS = tuple(FailedExecution.__dataclass_fields__)


def execution_link(name: str, *, region: str, execution_arn: str, api_url: str | None) -> str:
    """Where an operator opens the execution: the deployment's API when it has a public URL,
    otherwise the Step Functions console (which lists only recent executions, hence the ARN)."""
    if api_url:
        return f"{api_url.rstrip('/')}/v1/executions/{name}"
    return (
        f"https://{region}.console.aws.amazon.com/states/home?region={region}"
        f"#/v2/executions/details/{quote(execution_arn, safe='')}"
    )


def failed_execution(
    description: ExecutionDescription,
    timeline: Timeline | None,
    *,
    service: str,
    stage: str,
    upload_prefix: str,
    link: str,
    redact: Callable[[str], str] | None = None,
) -> FailedExecution:
    """The alert of one ended execution: its photo from the input, its code from the catalogue,
    the state that failed from its history (``timeline``; None when it could not be read)."""
    ref = photo_of(description.input, upload_prefix)
    failed = timeline.failed_state if timeline is not None else None
    cause = description.cause or ""
    ended = description.stop_date
    return FailedExecution(
        service=service,
        stage=stage,
        execution=description.name,
        execution_arn=description.execution_arn,
        status=description.status,
        error_code=failure_code(description.error),
        error=description.error,
        cause=(redact(cause) if redact else cause)[:MAX_CAUSE],
        photo_id=ref.photo_id if ref else None,
        album=ref.album if ref else None,
        failed_state=failed.name if failed else None,
        attempts=len(failed.attempts) if failed else 0,
        redrive_count=description.redrive_count,
        link=link,
        at=ended.timestamp() if ended else datetime.now(UTC).timestamp(),
    )


def _failed_in(alert: FailedExecution) -> str:
    if not alert.failed_state:
        return "-"
    attempts = alert.attempts or 1
    return f"{alert.failed_state} (after {attempts} attempt{'s' if attempts != 1 else ''})"


def slack_failure(alert: FailedExecution) -> dict[str, Any]:
    """One ended execution as a Slack message (Block Kit, with a plain-text fallback)."""
    code = alert.error_code or FALLBACK_CODE
    entry = CATALOGUE.get(code, CATALOGUE[FALLBACK_CODE])
    ended = _ENDED.get(alert.status, alert.status)
    where = f" in {alert.failed_state}" if alert.failed_state else ""
    fields = [
        ("Service", alert.service),
        ("Stage", alert.stage),
        ("Album", alert.album or "-"),
        ("Photo", f"`{alert.photo_id or '-'}`"),
        ("Failed state", _failed_in(alert)),
        ("Error code", f"`{code}`"),
        ("Status", alert.status),
    ]
    return {
        "text": (
            f"[{alert.service}/{alert.stage}] photo {alert.photo_id or '-'} {ended}{where}: {code}"
        ),
        "blocks": [
            _header(f"Photo {ended}: {code}"),
            _fields(fields),
            _section(f"*Cause*\n{alert.cause or alert.error or '-'}"),
            _section(f"*What it means*\n{entry.meaning}\n*What to do*\n{entry.action}"),
            _context(
                f"execution `{alert.execution}` · `{alert.execution_arn}` · {iso_seconds(alert.at)}"
            ),
            _button("Open execution", alert.link),
        ],
    }


def slack_summary(window_start: float, items: list[dict[str, Any]], link: str) -> dict[str, Any]:
    """A burst of failures in one minute, grouped into one Slack message."""
    first = items[0]
    codes = Counter(i.get("error_code") or FALLBACK_CODE for i in items)
    states = Counter(i.get("failed_state") or "?" for i in items)
    listed = "\n".join(
        f"• `{i.get('photo_id') or '-'}` ({i.get('album') or '-'}) {i.get('failed_state') or '?'}:"
        f" `{i.get('error_code') or FALLBACK_CODE}`"
        for i in items[:10]
    )
    more = f"\n…and {len(items) - 10} more" if len(items) > 10 else ""
    by_code = ", ".join(f"`{c}`: {n}" for c, n in codes.most_common())
    by_state = ", ".join(f"{s}: {n}" for s, n in states.most_common())
    return {
        "text": (
            f"[{first['service']}/{first['stage']}] {len(items)} more photos failed in the minute "
            f"from {iso_seconds(window_start)}"
        ),
        "blocks": [
            _header(f"{len(items)} more photos failed"),
            _fields(
                [
                    ("Service", first["service"]),
                    ("Stage", first["stage"]),
                    ("Error codes", by_code),
                    ("Failed states", by_state),
                ]
            ),
            _section(listed + more),
            _button("Open failed executions", link),
        ],
    }


# Slack's Block Kit blocks the messages above and below are made of.


def _header(text: str) -> dict[str, Any]:
    return {"type": "header", "text": {"type": "plain_text", "text": text}}


def _fields(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    return {
        "type": "section",
        "fields": [{"type": "mrkdwn", "text": f"*{k}*\n{v}"} for k, v in pairs],
    }


def _section(markdown: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": markdown}}


def _context(markdown: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": markdown}]}


def _button(label: str, url: str) -> dict[str, Any]:
    return {
        "type": "actions",
        "elements": [{"type": "button", "text": {"type": "plain_text", "text": label}, "url": url}],
    }


def webhook_failure(alert: FailedExecution) -> dict[str, Any]:
    """One ended execution as the generic webhook's JSON (the receiver checks its signature)."""
    return {"type": "execution.failed", **alert.to_payload(), "at": iso_seconds(alert.at)}


def webhook_summary(window_start: float, items: list[dict[str, Any]], link: str) -> dict[str, Any]:
    return {
        "type": "execution.failed.summary",
        "service": items[0]["service"],
        "stage": items[0]["stage"],
        "window_start": iso_seconds(window_start),
        "count": len(items),
        "by_error_code": dict(Counter(i.get("error_code") or FALLBACK_CODE for i in items)),
        "executions": [
            {k: i.get(k) for k in ("execution", "photo_id", "album", "failed_state", "error_code")}
            for i in items
        ],
        "link": link,
    }


# How an alarm's new state reads in the channel (CloudWatch's names: ALARM, OK, INSUFFICIENT_DATA).
_ALARM_STATES = {"ALARM": "firing", "OK": "resolved", "INSUFFICIENT_DATA": "has no data"}


@dataclass(frozen=True)
class AlarmChange:
    """A CloudWatch alarm of the stack that changed state, as the channel is told of it."""

    service: str
    stage: str
    name: str
    state: str  # ALARM, OK or INSUFFICIENT_DATA
    reason: str
    description: str | None  # the alarm's own description: what it watches and what to do
    metric: str | None  # Namespace/MetricName; None for a composite alarm
    link: str
    at: float  # when the state changed, epoch seconds


def alarm_link(name: str, *, region: str) -> str:
    """The alarm in the CloudWatch console."""
    return (
        f"https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}"
        f"#alarmsV2:alarm/{quote(name, safe='')}"
    )


def slack_alarm(change: AlarmChange) -> dict[str, Any]:
    """One alarm's change of state as a Slack message (Block Kit, with a plain-text fallback)."""
    state = _ALARM_STATES.get(change.state, change.state)
    fields = [
        ("Service", change.service),
        ("Stage", change.stage),
        ("State", change.state),
        ("Metric", f"`{change.metric}`" if change.metric else "-"),
    ]
    return {
        "text": f"[{change.service}/{change.stage}] alarm {change.name} {state}: {change.reason}",
        "blocks": [
            _header(f"Alarm {state}"),
            _section(f"*{change.name}*\n{change.description or ''}"),
            _fields(fields),
            _section(f"*Why*\n{change.reason}"),
            _context(iso_seconds(change.at)),
            _button("Open alarm", change.link),
        ],
    }


@dataclass(frozen=True)
class DeadLetter:
    """A declared function's asynchronous event that failed every try (``bakusoku up``): what the
    channel is told, as the function's dead-letter queue alarm tells it on AWS."""

    service: str
    stage: str
    function: str
    source: str  # schedule | object
    key: str  # the invocation key: what `bakusoku functions redrive` takes
    error_type: str
    error_message: str
    attempts: int
    at: float  # when the last try failed, epoch seconds

    def to_payload(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> DeadLetter:
        return cls(**{k: payload[k] for k in cls.__dataclass_fields__})


def slack_dead_letter(letter: DeadLetter) -> dict[str, Any]:
    """One dead letter as a Slack message (Block Kit, with a plain-text fallback)."""
    fields = [
        ("Service", letter.service),
        ("Stage", letter.stage),
        ("Function", f"`{letter.function}`"),
        ("Event", letter.source),
        ("Tries", str(letter.attempts)),
        ("Error", f"`{letter.error_type}`"),
    ]
    redrive = f"bakusoku functions redrive {letter.key}"
    return {
        "text": (
            f"[{letter.service}/{letter.stage}] function {letter.function} failed every try on "
            f"its {letter.source} event: {letter.error_type}"
        ),
        "blocks": [
            _header(f"Function {letter.function}: dead letter"),
            _fields(fields),
            _section(f"*Cause*\n{letter.error_message or '-'}"),
            _section(
                "*What to do*\nFix what the error names, then invoke the event again: "
                f"`{redrive}` (`bakusoku functions failed` lists the others)."
            ),
            _context(f"`{letter.key}` · {iso_seconds(letter.at)}"),
        ],
    }


def webhook_dead_letter(letter: DeadLetter) -> dict[str, Any]:
    """One dead letter as the generic webhook's JSON."""
    return {"type": "function.dead_letter", **letter.to_payload(), "at": iso_seconds(letter.at)}
