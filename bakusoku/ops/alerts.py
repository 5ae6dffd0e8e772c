"""Failure alerts: one message per failed execution, per-minute summaries of bursts, durable delivery.

A declared function's dead letter (``record_dead_letter``) is one message of its own, never grouped.

An execution that ends in one of ``messages.ALERTED_STATUSES`` is written to the ``alert_outbox``
table once per channel (its unique key is the execution and its re-drive count, so a second report of
the same end adds nothing). Past ``burst_threshold`` failures in one minute, further failures of that minute are kept
as ``grouped`` and one summary is sent when the minute is over. A background dispatcher (the
outboxes' one, ``db.dispatch``) posts due rows with a short timeout and retries failures with
exponential back-off; the pipeline only ever pays for one small insert. Webhook URLs and secrets
never reach a log line.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
import sqlalchemy as sa

from bakusoku import utc
from bakusoku.config import ConfigError, Settings
from bakusoku.db.dispatch import OutboxDispatcher, RetryPolicy
from bakusoku.db.schema import alert_outbox
from bakusoku.ops import messages
from bakusoku.ops.errors import AlertDeliveryError
from bakusoku.ops.messages import DeadLetter, FailedExecution
from bakusoku.secrets import secret_string

log = logging.getLogger("bakusoku.ops.alerts")

SLACK = "slack"
WEBHOOK = "webhook"
WINDOW_SECONDS = 60.0
DEAD_LETTER = "dead_letter"  # the kind of a dead letter's row


@dataclass(frozen=True)
class AlertSettings:
    """Where alerts go and how they are grouped; an empty URL turns its channel off."""

    service: str
    stage: str
    api_url: str
    slack_webhook_url: str = ""
    webhook_url: str = ""
    webhook_secret: str = ""
    burst_threshold: int = 5
    timeout_seconds: float = 5.0
    max_attempts: int = 8
    max_backoff_seconds: float = 300.0

    @property
    def channels(self) -> list[str]:
        return [
            c for c, url in ((SLACK, self.slack_webhook_url), (WEBHOOK, self.webhook_url)) if url
        ]


class AlertOutbox:
    """Records alerts durably and delivers them from a background thread."""

    def __init__(
        self, db: sa.Engine, settings: AlertSettings, *, poll_seconds: float = 1.0
    ) -> None:
        self.db = db
        self.settings = settings
        self._lock = threading.Lock()
        self._client = httpx.Client(timeout=settings.timeout_seconds, follow_redirects=False)
        self.on_delivery: Callable[[str, str, bool], None] | None = None  # channel, kind, ok
        self.dispatcher = OutboxDispatcher(  # delivery: db.dispatch
            db,
            alert_outbox,
            self._send,
            name="alert",
            policy=RetryPolicy(
                settings.max_attempts, settings.max_backoff_seconds, 4 * settings.timeout_seconds
            ),
            poll_seconds=poll_seconds,
            on_outcome=self._delivered,
        )

    # ---- recording ------------------------------------------------------------------------------

    def record_failure(self, alert: FailedExecution, *, now: float | None = None) -> int:
        """Queue the alert of one failed execution on every channel; returns rows added."""
        now = time.time() if now is None else now
        window = now - now % WINDOW_SECONDS
        added = 0
        for channel in self.settings.channels:
            key = f"{channel}:{alert.execution}:{alert.redrive_count}"
            with self._lock:
                try:
                    added += self._insert(channel, key, alert, window, now)
                except sa.exc.IntegrityError:
                    continue  # already recorded: a duplicate report of the same end
        if added:
            self.dispatcher.wake()
        return added

    def record_dead_letter(self, letter: DeadLetter, *, now: float | None = None) -> int:
        """Queue the alert of one dead letter on every channel; returns rows added. The same
        failure reported twice adds nothing; the same event failing again after a redrive does."""
        now = time.time() if now is None else now
        added = 0
        for channel in self.settings.channels:
            try:
                with self.db.begin() as conn:
                    conn.execute(
                        alert_outbox.insert().values(
                            dedupe_key=_dead_letter_key(channel, letter),
                            channel=channel,
                            kind=DEAD_LETTER,
                            window_start=now - now % WINDOW_SECONDS,
                            payload=letter.to_payload(),
                            status="pending",
                            attempts=0,
                            next_attempt_at=now,
                            created_at=now,
                        )
                    )
                added += 1
            except sa.exc.IntegrityError:
                continue
        if added:
            self.dispatcher.wake()
        return added

    def _insert(
        self, channel: str, key: str, alert: FailedExecution, window: float, now: float
    ) -> int:
        with self.db.begin() as conn:
            seen = conn.execute(
                sa.select(sa.func.count())
                .select_from(alert_outbox)
                .where(
                    alert_outbox.c.channel == channel,
                    alert_outbox.c.window_start == window,
                    alert_outbox.c.kind.in_(("failure", "grouped")),
                )
            ).scalar_one()
            grouped = seen >= self.settings.burst_threshold
            conn.execute(
                alert_outbox.insert().values(
                    dedupe_key=key,
                    channel=channel,
                    kind="grouped" if grouped else "failure",
                    execution_name=alert.execution,
                    window_start=window,
                    payload=alert.to_payload(),
                    status="grouped" if grouped else "pending",
                    attempts=0,
                    next_attempt_at=now,
                    created_at=now,
                )
            )
        if grouped:
            self._ensure_summary(channel, window, now)
        return 1

    def _ensure_summary(self, channel: str, window: float, now: float) -> None:
        try:
            with self.db.begin() as conn:
                conn.execute(
                    alert_outbox.insert().values(
                        dedupe_key=f"{channel}:summary:{int(window)}",
                        channel=channel,
                        kind="summary",
                        window_start=window,
                        payload={},
                        status="pending",
                        attempts=0,
                        next_attempt_at=window + WINDOW_SECONDS,
                        created_at=now,
                    )
                )
        except sa.exc.IntegrityError:
            pass  # this minute's summary is already queued

    # ---- delivery -------------------------------------------------------------------------------

    def start(self) -> None:
        if self.settings.channels:
            self.dispatcher.start()

    def stop(self, timeout: float = 5.0) -> None:
        self.dispatcher.stop(timeout)
        self._client.close()

    def deliver_due(self, now: float | None = None) -> int:
        """Send every alert that is due; returns how many were delivered."""
        return self.dispatcher.deliver_due(now)

    def _send(self, row: Any) -> None:
        self._post(row.channel, self._body(row))

    def _delivered(self, row: Any, ok: bool) -> None:
        if self.on_delivery is not None:
            self.on_delivery(row.channel, row.kind, ok)

    def _body(self, row: Any) -> dict[str, Any]:
        if row.kind == DEAD_LETTER:
            letter = DeadLetter.from_payload(row.payload)
            return (
                messages.slack_dead_letter(letter)
                if row.channel == SLACK
                else messages.webhook_dead_letter(letter)
            )
        if row.kind != "summary":
            alert = FailedExecution.from_payload(row.payload)
            return (
                messages.slack_failure(alert)
                if row.channel == SLACK
                else messages.webhook_failure(alert)
            )
        with self.db.connect() as conn:
            items = [
                dict(r.payload)
                for r in conn.execute(
                    sa.select(alert_outbox.c.payload)
                    .where(
                        alert_outbox.c.channel == row.channel,
                        alert_outbox.c.window_start == row.window_start,
                        alert_outbox.c.kind == "grouped",
                    )
                    .order_by(alert_outbox.c.id)
                )
            ]
        since = quote(utc.iso_seconds(row.window_start), safe="")
        link = f"{self.settings.api_url}/v1/executions?status=FAILED&since={since}"
        if row.channel == SLACK:
            return messages.slack_summary(row.window_start, items, link)
        return messages.webhook_summary(row.window_start, items, link)

    def _post(self, channel: str, body: dict[str, Any]) -> None:
        if channel == SLACK:
            post_message(self._client, self.settings.slack_webhook_url, body, channel=SLACK)
        else:
            post_message(
                self._client,
                self.settings.webhook_url,
                body,
                channel=WEBHOOK,
                secret=self.settings.webhook_secret,
            )

    def counts(self) -> dict[str, int]:
        """Rows by status (pending, delivered, grouped, failed)."""
        return self.dispatcher.counts()


def _dead_letter_key(channel: str, letter: DeadLetter) -> str:
    # The invocation key can be long (bucket, object key): a digest keeps the column's bound.
    failure = f"{letter.key}\0{letter.at:.3f}".encode()
    return f"{channel}:dead-letter:{hashlib.sha256(failure).hexdigest()}"


def post_message(
    client: httpx.Client, url: str, body: dict[str, Any], *, channel: str, secret: str = ""
) -> None:
    """POST one message to a webhook: the one delivery of alerts and reports alike.

    The generic webhook's body is signed with ``secret``; AlertDeliveryError says what went
    wrong without the URL (it is a secret).
    """
    data = json.dumps(body, separators=(",", ":")).encode()
    headers = {"Content-Type": "application/json"}
    if secret:
        headers.update(sign(data, secret))
    try:
        response = client.post(url, content=data, headers=headers)
    except httpx.HTTPError as exc:  # its message may hold the URL: name the kind only
        raise AlertDeliveryError(f"{type(exc).__name__} reaching the {channel} webhook") from None
    if response.status_code >= 300:
        raise AlertDeliveryError(f"the {channel} webhook answered HTTP {response.status_code}")


def slack_webhook_url(settings: Settings) -> str:
    """The Slack webhook: ``slack_webhook_url`` (bakusoku up), else the secret that
    ``slack_webhook_secret_arn`` names (AWS), holding the URL itself or JSON ``{"url": ...}``."""
    if settings.slack_webhook_url:
        return settings.slack_webhook_url
    if not settings.slack_webhook_secret_arn:
        raise ConfigError(
            "no Slack webhook: set slack_webhook_url (BAKUSOKU_SLACK_WEBHOOK_URL), or on AWS "
            "slack_webhook_secret_arn, which the template sets"
        )
    return webhook_url_from_secret(settings.slack_webhook_secret_arn, settings.region)


@functools.cache
def webhook_url_from_secret(secret_arn: str, region: str) -> str:
    """The webhook URL kept in a secret (read once per process, as Lambda keeps it warm)."""
    text = secret_string(secret_arn, region).strip()
    if text.startswith("{"):
        text = str(json.loads(text).get("url", ""))
    if not text.startswith("https://"):
        raise ConfigError(f"the secret {secret_arn} must hold the webhook's https:// URL")
    return text


def sign(body: bytes, secret: str, timestamp: int | None = None) -> dict[str, str]:
    """Headers of a signed webhook request: HMAC-SHA256 over ``"{timestamp}.{body}"``."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return {"X-Bakusoku-Timestamp": stamp, "X-Bakusoku-Signature": f"sha256={digest}"}


def verify(
    body: bytes, secret: str, timestamp: str, signature: str, tolerance: float = 300
) -> bool:
    """Check a signed webhook request as a receiver would (rejects stale timestamps)."""
    try:
        if abs(time.time() - int(timestamp)) > tolerance:
            return False
    except ValueError:
        return False
    expected = sign(body, secret, int(timestamp))["X-Bakusoku-Signature"]
    return hmac.compare_digest(expected, signature)
