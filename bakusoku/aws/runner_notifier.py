"""The runner notifier on AWS: a scheduled function that delivers the notification outbox.

Declared in the configuration's ``functions`` table (docs/races.md), e.g. every minute; each run
sends what is due and ends, so a channel that is down costs one run's timeouts, never the
pipeline's. The links are signed with the key the API checks (``transform_signing_key``).
"""

from __future__ import annotations

import functools
from typing import Any

import sqlalchemy as sa

from bakusoku.api.transforms.signing import ensure_signing_key
from bakusoku.config import load_settings
from bakusoku.db.deployment import deployment_engine
from bakusoku.races.channels import notification_outbox
from bakusoku.races.links import runner_key


@functools.cache
def _engine() -> sa.Engine:
    return deployment_engine(load_settings(), pool_size=1)


def handler(event: Any, context: Any) -> dict[str, Any]:
    settings = load_settings()
    outbox = notification_outbox(settings, _engine(), runner_key(ensure_signing_key(settings)))
    try:
        delivered = outbox.deliver_due()
    finally:
        outbox.stop()
    return {"delivered": delivered, "outbox": outbox.counts()}
