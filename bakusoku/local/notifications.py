"""The runner notifier of ``bakusoku up``: the outbox's dispatcher with the configured channels."""

from __future__ import annotations

import httpx
import sqlalchemy as sa

from bakusoku.api.transforms.signing import ensure_signing_key
from bakusoku.config import Settings
from bakusoku.races.channels import channels_from_settings
from bakusoku.races.links import runner_key
from bakusoku.races.notifications import (
    GALLERY_MIN_CONFIDENCE,
    NotificationOutbox,
    NotifySettings,
)
from bakusoku.races.repository import PhotoBibs, RaceRef


def runner_notifications(settings: Settings, db: sa.Engine) -> NotificationOutbox:
    """Links in messages open the runner page of this API (``public_api_url`` when set)."""
    bibs = PhotoBibs(db)

    def photo_count(race: RaceRef, bib: str) -> int:
        return len(bibs.photos_of(race, bib, GALLERY_MIN_CONFIDENCE))

    client = httpx.Client(timeout=10.0, follow_redirects=False)
    return NotificationOutbox(
        db,
        channels_from_settings(settings, client),
        runner_key(ensure_signing_key(settings)),
        NotifySettings(
            public_url=settings.api_url,
            batch_seconds=float(max(1, settings.runner_batch_seconds)),
            link_seconds=settings.runner_link_days * 86400.0,
        ),
        photo_count=photo_count,
        on_stop=client.close,
    )
