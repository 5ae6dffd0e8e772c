"""Telling runners: ``notify_ready`` writes the outbox, a background dispatcher delivers it.

What the pipeline calls (the bib reader when it records sightings, the certificate workflow when a
certificate is made) is :meth:`NotificationOutbox.notify_ready`: one small insert per subscription,
never a network call, so a channel that is down or slow never holds the pipeline up.

Batching: photos of a bib are announced once per window (``batch_seconds``, 5 minutes): the first
new photo of a window queues one row per subscription, due when the window ends; every further
photo of that window finds the row there (its unique ``dedupe_key`` is subscription, kind, race,
bib and window) and adds nothing. A certificate is announced once per revision.

Delivery follows the alerts' outbox: due rows are claimed (another process may share the
database), sent with a short timeout, and retried with exponential back-off; each row keeps one
retry key (LINE's ``X-Line-Retry-Key``, the e-mail's Message-ID, the push message's Topic), so a
retry after a timeout that did deliver is not a second message. The link in each message is
signed, expires, and opens this runner's photos only.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import sqlalchemy as sa

from bakusoku.db.schema import notification_outbox
from bakusoku.races import links
from bakusoku.races.errors import NotificationDeliveryError
from bakusoku.races.message import CERTIFICATE, KINDS, PHOTOS, RunnerMessage
from bakusoku.races.privacy import ERASE, RunnerPrivacy
from bakusoku.races.repository import RaceRef, RaceRepository
from bakusoku.races.subscriptions import Subscription, Subscriptions

log = logging.getLogger("bakusoku.races.notifications")

RUNNER_PAGE = "/runner"
# How sure a bib reading must be before its photo is in the runner's gallery (and counted).
GALLERY_MIN_CONFIDENCE = 0.9
PENDING = "pending"
DELIVERED = "delivered"
FAILED = "failed"


class Channel(Protocol):
    """One way of reaching a runner (LINE, e-mail, Web Push)."""

    name: str

    def send(self, address: str, message: RunnerMessage, retry_key: str) -> None: ...


@dataclass(frozen=True)
class NotifySettings:
    public_url: str  # where the runner page is served, e.g. https://photos.example.com
    batch_seconds: float = 300.0
    link_seconds: float = 7 * 86400.0
    max_attempts: int = 8
    max_backoff_seconds: float = 300.0
    claim_seconds: float = 60.0


def runner_link(key: bytes, public_url: str, race: RaceRef, bib: str, seconds: float) -> str:
    """The runner page's address with a signed link token in its fragment (never sent to a
    server log or a Referer)."""
    token = links.issue(key, race, bib, purpose="link", seconds=seconds)
    return f"{public_url.rstrip('/')}{RUNNER_PAGE}#{token}"


def notify_ready(
    db: sa.Engine,
    race: RaceRef,
    bib: str,
    kind: str,
    *,
    revision: int = 1,
    batch_seconds: float = 300.0,
    now: float | None = None,
) -> int:
    """Queue "photos ready" (batched per window) or "certificate ready" (per revision) for every
    subscription of ``bib``; returns the rows added (0: already queued, or nobody subscribed).

    What the bib reader and the certificate workflow call: database writes only, whatever the
    channels' state. A runner who asked for their photos to be erased is not told of new ones.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
    now = time.time() if now is None else now
    if kind == PHOTOS:
        if ERASE in RunnerPrivacy(db).requested(race, bib):
            return 0
        window = now - now % batch_seconds
        batch, due = str(int(window)), window + batch_seconds
    else:
        batch, due = f"r{revision}", now
    return sum(
        _insert(db, sub, kind, batch, due, now) for sub in Subscriptions(db).active(race, bib)
    )


def _insert(db: sa.Engine, sub: Subscription, kind: str, batch: str, due: float, now: float) -> int:
    ident = f"{sub.id}\0{kind}\0{sub.race.service}\0{sub.race.album}\0{sub.bib}\0{batch}"
    try:
        with db.begin() as conn:
            conn.execute(
                notification_outbox.insert().values(
                    dedupe_key=hashlib.sha256(ident.encode()).hexdigest(),
                    subscription_id=sub.id,
                    service=sub.race.service,
                    album=sub.race.album,
                    bib=sub.bib,
                    kind=kind,
                    batch=batch,
                    retry_key=str(uuid.uuid4()),
                    status=PENDING,
                    attempts=0,
                    next_attempt_at=due,
                    created_at=now,
                )
            )
    except sa.exc.IntegrityError:
        return 0  # this batch is already queued for this subscription
    return 1


class NotificationOutbox:
    """Records runner notifications durably and delivers them from a background thread."""

    def __init__(
        self,
        db: sa.Engine,
        channels: Mapping[str, Channel],
        link_key: bytes,
        settings: NotifySettings,
        *,
        photo_count: Callable[[RaceRef, str], int] | None = None,
        poll_seconds: float = 1.0,
        on_stop: Callable[[], None] | None = None,
    ) -> None:
        self.db = db
        self.channels = dict(channels)
        self.settings = settings
        self.poll_seconds = poll_seconds
        self._key = link_key
        self._photo_count = photo_count
        self._on_stop = on_stop  # closes what the channels hold (an HTTP client)
        self._subscriptions = Subscriptions(db)
        self._races = RaceRepository(db)
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    # ---- recording ------------------------------------------------------------------------------

    def notify_ready(
        self,
        race: RaceRef,
        bib: str,
        kind: str,
        *,
        revision: int = 1,
        now: float | None = None,
    ) -> int:
        """:func:`notify_ready` with this outbox's window; wakes the dispatcher when due now."""
        now = time.time() if now is None else now
        added = notify_ready(
            self.db,
            race,
            bib,
            kind,
            revision=revision,
            batch_seconds=self.settings.batch_seconds,
            now=now,
        )
        if added and kind == CERTIFICATE:
            self._wake.set()
        return added

    # ---- delivery -------------------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None or not self.channels:
            return
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="runner-notifications", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        if self._on_stop is not None:
            self._on_stop()

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait(self.poll_seconds)
            self._wake.clear()
            try:
                self.deliver_due()
            except Exception:
                log.exception("the runner notifier could not read its outbox; retrying")

    def deliver_due(self, now: float | None = None) -> int:
        """Send every message that is due; returns how many were delivered."""
        now = time.time() if now is None else now
        with self.db.connect() as conn:
            rows = conn.execute(
                sa.select(notification_outbox)
                .where(
                    notification_outbox.c.status == PENDING,
                    notification_outbox.c.next_attempt_at <= now,
                )
                .order_by(notification_outbox.c.id)
                .limit(50)
            ).all()
        delivered = 0
        for row in rows:
            if self._stopping.is_set():
                break
            if self._claim(row, now):
                delivered += self._deliver(row, now)
        return delivered

    def _claim(self, row: Any, now: float) -> bool:
        with self.db.begin() as conn:
            taken = conn.execute(
                notification_outbox.update()
                .where(
                    notification_outbox.c.id == row.id,
                    notification_outbox.c.status == PENDING,
                    notification_outbox.c.next_attempt_at == row.next_attempt_at,
                )
                .values(next_attempt_at=now + self.settings.claim_seconds)
            ).rowcount
        return bool(taken == 1)

    def _deliver(self, row: Any, now: float) -> int:
        sub = self._subscriptions.get(row.subscription_id)
        if sub is None:  # ended since it was queued: nobody to tell
            self._finish(row, FAILED, "the subscription ended")
            return 0
        try:
            channel = self.channels.get(sub.channel)
            if channel is None:
                raise NotificationDeliveryError(
                    f"the {sub.channel} channel is not configured on this deployment"
                )
            channel.send(sub.address, self._message(row), row.retry_key)
        except Exception as exc:
            self._failed(row, sub.channel, exc)
            return 0
        self._finish(row, DELIVERED, None)
        return 1

    def _message(self, row: Any) -> RunnerMessage:
        race = RaceRef(row.service, row.album)
        stored = self._races.race(race)
        count = 0
        if row.kind == PHOTOS and self._photo_count is not None:
            count = self._photo_count(race, row.bib)
        link = runner_link(
            self._key, self.settings.public_url, race, row.bib, self.settings.link_seconds
        )
        name = stored["name"] if stored else row.album
        return RunnerMessage(row.kind, name, row.bib, link, count)

    def _finish(self, row: Any, status: str, error: str | None) -> None:
        with self.db.begin() as conn:
            conn.execute(
                notification_outbox.update()
                .where(notification_outbox.c.id == row.id)
                .values(
                    status=status,
                    attempts=row.attempts + 1,
                    delivered_at=time.time() if status == DELIVERED else None,
                    last_error=error,
                )
            )

    def _failed(self, row: Any, channel: str, exc: Exception) -> None:
        attempts = row.attempts + 1
        reason = exc.message if isinstance(exc, NotificationDeliveryError) else type(exc).__name__
        give_up = attempts >= self.settings.max_attempts
        delay = min(self.settings.max_backoff_seconds, 2.0 ** (attempts - 1))
        with self.db.begin() as conn:
            conn.execute(
                notification_outbox.update()
                .where(notification_outbox.c.id == row.id)
                .values(
                    status=FAILED if give_up else PENDING,
                    attempts=attempts,
                    next_attempt_at=time.time() + delay,
                    last_error=reason[:256],
                )
            )
        log.warning(
            "%s notification %s (%s) not delivered on attempt %d: %s; %s",
            channel,
            row.id,
            row.kind,
            attempts,
            reason,
            "giving up" if give_up else f"retrying in {delay:.0f} s",
        )

    def counts(self, race: RaceRef | None = None) -> dict[str, int]:
        """Messages by status (pending, delivered, failed), of one race or all."""
        query = sa.select(notification_outbox.c.status, sa.func.count()).group_by(
            notification_outbox.c.status
        )
        if race is not None:
            query = query.where(
                notification_outbox.c.service == race.service,
                notification_outbox.c.album == race.album,
            )
        with self.db.connect() as conn:
            rows = conn.execute(query).all()
        return {status: int(n) for status, n in rows}


__all__ = [
    "CERTIFICATE",
    "PHOTOS",
    "Channel",
    "NotificationOutbox",
    "NotifySettings",
    "notify_ready",
]
