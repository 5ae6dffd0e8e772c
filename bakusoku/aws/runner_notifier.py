"""The runner notifier on AWS: a scheduled function that delivers the notification outbox.

Declared in the configuration's ``functions`` table (docs/races.md), e.g. every minute, with
``resources: {database: write, runner_channels: true}``; each run sends what is due and ends, so a
channel that is down costs one run's timeouts, never the pipeline's. The channels' secrets and
the key the links are signed with (``transform_signing_key``, the one the API checks) are read
from the Secrets Manager secrets the template names, once per execution environment.
"""

from __future__ import annotations

import functools
from typing import Any

import sqlalchemy as sa

from bakusoku.api.transforms.signing import ensure_signing_key
from bakusoku.config import Settings, load_settings
from bakusoku.db.deployment import deployment_engine
from bakusoku.races.channels import notification_outbox
from bakusoku.races.links import runner_key
from bakusoku.secrets import with_secrets

# What the notifier reads from secrets: the links' key and the channels' credentials.
NOTIFIER_SECRETS = (
    "transform_signing_key",
    "line_channel_access_token",
    "smtp_password",
    "vapid_private_key",
)


@functools.cache
def _settings() -> Settings:
    return with_secrets(load_settings(), NOTIFIER_SECRETS)


@functools.cache
def _engine() -> sa.Engine:
    return deployment_engine(_settings(), pool_size=1)


def handler(event: Any, context: Any) -> dict[str, Any]:
    settings = _settings()
    outbox = notification_outbox(settings, _engine(), runner_key(ensure_signing_key(settings)))
    try:
        delivered = outbox.deliver_due()
    finally:
        outbox.stop()
    return {"delivered": delivered, "outbox": outbox.counts()}
