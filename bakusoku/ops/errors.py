"""Errors of the operations layer, each with a stable code and an actionable message."""

from __future__ import annotations

from bakusoku.errors import BakusokuError


class OpsError(BakusokuError):
    """Base of operations errors."""

    code = "ops.error"


class InvalidQueryError(OpsError):
    """A history search got a bad filter (an unknown status, a malformed duration or time)."""

    code = "ops.invalid_query"


class AlertDeliveryError(OpsError):
    """A webhook did not accept an alert; the outbox retries it with back-off."""

    code = "ops.alert_delivery"
