"""The runner notifier of ``bakusoku up``: the outbox's dispatcher with the configured channels."""

from __future__ import annotations

import sqlalchemy as sa

from bakusoku.api.transforms.signing import ensure_signing_key
from bakusoku.config import Settings
from bakusoku.races.channels import notification_outbox
from bakusoku.races.links import runner_key
from bakusoku.races.notifications import NotificationOutbox


def runner_notifications(settings: Settings, db: sa.Engine) -> NotificationOutbox:
    """Links are signed with a key derived from the API's (the one the runner routes check)."""
    return notification_outbox(settings, db, runner_key(ensure_signing_key(settings)))
