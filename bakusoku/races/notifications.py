"""Telling runners: ``notify_ready`` writes the outbox, a background dispatcher delivers it.

What the pipeline calls (the bib reader when it records sightings, the certificate workflow when a
certificate is made) is :meth:`NotificationOutbox.notify_ready`: one small insert per subscription,
never a network call, so a channel that is down or slow never holds the pipeline up.

Batching: photos of a bib are announced once per window (``batch_seconds``, 5 minutes): the first
new photo of a window queues one row per subscription, due when the window ends; every further
photo of that window finds the row there (its unique ``dedupe_key`` is subscription, kind, race,
bib and window) and adds nothing. A certificate is announced once per revision.

Delivery is the outboxes' one dispatcher (``db.dispatch``): due rows are claimed (another
process may share the database), sent with a short timeout, and retried with exponential
back-off; each row keeps one
retry key (LINE's ``X-Line-Retry-Key``, the e-mail's Message-ID, the push message's Topic), so a
retry after a timeout that did deliver is not a second message. The link in each message is
signed, expires, and opens this runner's photos only.
"""

from __future__ import annotations

import hashlib
import logging
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import sqlalchemy as sa

from bakusoku.config import Settings
from bakusoku.db.dispatch import PENDING, OutboxDispatcher, RetryPolicy, Undeliverable
from bakusoku.db.schema import notification_outbox
from bakusoku.races import links
from bakusoku.races.errors import NotificationDeliveryError
from bakusoku.races.message import CERTIFICATE, KINDS, PHOTOS, RunnerMessage
from bakusoku.races.privacy import ERASE, RunnerPrivacy
from bakusoku.races.repository import RaceRef, RaceRepository
from bakusoku.races.subscriptions import Subscription, Subscriptions
from bakusoku.runtime import emf

log = logging.getLogger("bakusoku.races.notifications")

RUNNER_PAGE = "/runner"
QUEUE_FAILED_METRIC = "RunnerNotifyQueueFailed"
# How sure a bib reading must be before its photo is in the runner's gallery (and counted).
GALLERY_MIN_CONFIDENCE = 0.9


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


def batch_seconds(settings: Settings) -> float:
    """The window photos of a bib are announced once in (``runner_batch_seconds``, at least 1)."""
    return float(max(1, settings.runner_batch_seconds))


def announce_photos(
    db: sa.Engine,
    race: RaceRef,
    bibs: Iterable[str],
    settings: Settings,
) -> int:
    """Queue "photos ready" for each of ``bibs`` (the confident bibs of a photo just recorded):
    what both the bib reader and staff tagging call; returns the rows added.

    It never raises: the photo's bibs are recorded already, and an outbox that cannot be written
    must not fail the photo or the request. A failure is logged and counted
    (``RunnerNotifyQueueFailed``, a CloudWatch metric on AWS through the function's log).
    """
    added = 0
    for bib in dict.fromkeys(bibs):  # a bib once, in order
        try:
            added += notify_ready(db, race, bib, PHOTOS, batch_seconds=batch_seconds(settings))
        except Exception as exc:
            log.warning(
                "photos of bib %s in %s/%s could not be queued for its runner (%s): the photo is "
                "kept; the runner is told with the next photo of this bib",
                bib,
                race.service,
                race.album,
                type(exc).__name__,
            )
            emf.count(QUEUE_FAILED_METRIC, {"Service": race.service, "Stage": settings.stage})
    return added


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
    """Records runner notifications durably and delivers them (``db.dispatch``)."""

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
        self._key = link_key
        self._photo_count = photo_count
        self._on_stop = on_stop  # closes what the channels hold (an HTTP client)
        self._subscriptions = Subscriptions(db)
        self._races = RaceRepository(db)
        self.dispatcher = OutboxDispatcher(  # delivery: db.dispatch
            db,
            notification_outbox,
            self._send,
            name="runner-notification",
            policy=RetryPolicy(
                settings.max_attempts, settings.max_backoff_seconds, settings.claim_seconds
            ),
            poll_seconds=poll_seconds,
        )

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
            self.dispatcher.wake()
        return added

    # ---- delivery -------------------------------------------------------------------------------

    def start(self) -> None:
        if self.channels:
            self.dispatcher.start()

    def stop(self, timeout: float = 5.0) -> None:
        self.dispatcher.stop(timeout)
        if self._on_stop is not None:
            self._on_stop()

    def deliver_due(self, now: float | None = None) -> int:
        """Send every message that is due; returns how many were delivered."""
        return self.dispatcher.deliver_due(now)

    def _send(self, row: Any) -> None:
        sub = self._subscriptions.get(row.subscription_id)
        if sub is None:  # ended since it was queued: nobody to tell
            raise Undeliverable("the subscription ended")
        channel = self.channels.get(sub.channel)
        if channel is None:
            raise NotificationDeliveryError(
                f"the {sub.channel} channel is not configured on this deployment"
            )
        channel.send(sub.address, self._message(row), row.retry_key)

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

    def counts(self, race: RaceRef | None = None) -> dict[str, int]:
        """Messages by status (pending, delivered, failed), of one race or all."""
        if race is None:
            return self.dispatcher.counts()
        return self.dispatcher.counts(
            notification_outbox.c.service == race.service,
            notification_outbox.c.album == race.album,
        )


__all__ = [
    "CERTIFICATE",
    "PHOTOS",
    "Channel",
    "NotificationOutbox",
    "NotifySettings",
    "announce_photos",
    "notify_ready",
]
