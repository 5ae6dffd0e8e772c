"""The channels a deployment's settings turn on, and the notification outbox that delivers through
them (``bakusoku up``'s dispatcher thread, or the scheduled function on AWS)."""

from __future__ import annotations

import logging

import httpx
import sqlalchemy as sa

from bakusoku.config import Settings
from bakusoku.races.line import LinePush
from bakusoku.races.mail import SmtpMail
from bakusoku.races.notifications import (
    GALLERY_MIN_CONFIDENCE,
    Channel,
    NotificationOutbox,
    NotifySettings,
    batch_seconds,
)
from bakusoku.races.repository import PhotoBibs, RaceRef
from bakusoku.races.subscriptions import EMAIL, LINE, WEBPUSH
from bakusoku.races.webpush import WebPush, vapid_key

log = logging.getLogger("bakusoku.races.channels")


def channels_from_settings(settings: Settings, client: httpx.Client) -> dict[str, Channel]:
    """LINE when a channel access token is set, e-mail when an SMTP host and sender are, Web Push
    when it has a key (the setting, else one kept in the data directory)."""
    channels: dict[str, Channel] = {}
    try:
        channels[WEBPUSH] = WebPush(client, vapid_key(settings), settings.vapid_subject)
    except OSError as exc:  # no vapid_private_key and a read-only data directory (Lambda)
        log.warning(
            "Web Push is off: set vapid_private_key (no key could be kept in %s: %s)",
            settings.data_dir,
            type(exc).__name__,
        )
    if settings.line_channel_access_token:
        channels[LINE] = LinePush(client, settings.line_channel_access_token, settings.line_api_url)
    if settings.smtp_host and settings.smtp_sender:
        channels[EMAIL] = SmtpMail(
            settings.smtp_host,
            settings.smtp_port,
            settings.smtp_sender,
            starttls=settings.smtp_starttls,
            username=settings.smtp_username,
            password=settings.smtp_password,
        )
    return channels


def notification_outbox(settings: Settings, db: sa.Engine, link_key: bytes) -> NotificationOutbox:
    """The deployment's outbox: links open the runner page of this API (``public_api_url`` when
    set) and say how many photos of the bib the gallery shows."""
    bibs = PhotoBibs(db)

    def photo_count(race: RaceRef, bib: str) -> int:
        return len(bibs.photos_of(race, bib, GALLERY_MIN_CONFIDENCE))

    client = httpx.Client(timeout=10.0, follow_redirects=False)
    return NotificationOutbox(
        db,
        channels_from_settings(settings, client),
        link_key,
        NotifySettings(
            public_url=settings.api_url,
            batch_seconds=batch_seconds(settings),
            link_seconds=settings.runner_link_days * 86400.0,
        ),
        photo_count=photo_count,
        on_stop=client.close,
    )
