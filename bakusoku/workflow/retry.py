"""Retry and Catch matching, and retry delays (interval, backoff, maximum delay, jitter)."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import Any

from bakusoku.workflow.errors import (
    STATES_ALL,
    STATES_TASK_FAILED,
    STATES_TIMEOUT,
    UNCATCHABLE_ERRORS,
)

DEFAULT_INTERVAL_SECONDS = 1
DEFAULT_MAX_ATTEMPTS = 3
DEFAULT_BACKOFF_RATE = 2.0


def error_matches(error_equals: Sequence[str], error: str) -> bool:
    """Whether a retrier's or catcher's ErrorEquals covers ``error``.

    States.ALL matches every error but States.Runtime; States.TaskFailed matches the same but
    States.Timeout, as the developer guide describes. A task's result over the payload quota
    (States.DataLimitExceeded) is caught by States.ALL, as executions recorded on AWS show; a
    state's own output over it is not a task's failure and meets no Catch.
    """
    if error in UNCATCHABLE_ERRORS:
        return False
    if error in error_equals:
        return True
    for name in error_equals:
        if name == STATES_ALL:
            return True
        if name == STATES_TASK_FAILED and error != STATES_TIMEOUT:
            return True
    return False


def first_match(
    rules: Sequence[Mapping[str, Any]], error: str, also: Sequence[str] = ()
) -> int | None:
    """Index of the first rule whose ErrorEquals covers ``error`` (or one of ``also``), or None."""
    for index, rule in enumerate(rules):
        error_equals = rule.get("ErrorEquals", [])
        if any(error_matches(error_equals, name) for name in (error, *also)):
            return index
    return None


def retry_delay(
    retrier: Mapping[str, Any], retries_done: int, rng: random.Random | None = None
) -> float:
    """Seconds to wait before retry number ``retries_done + 1`` of ``retrier``.

    ``IntervalSeconds * BackoffRate ** retries_done``, capped by MaxDelaySeconds; with
    JitterStrategy FULL, a uniformly random delay between 0 and that value.
    """
    interval = retrier.get("IntervalSeconds", DEFAULT_INTERVAL_SECONDS)
    rate = retrier.get("BackoffRate", DEFAULT_BACKOFF_RATE)
    delay = float(interval) * float(rate) ** retries_done
    max_delay = retrier.get("MaxDelaySeconds")
    if max_delay is not None:
        delay = min(delay, float(max_delay))
    if retrier.get("JitterStrategy") == "FULL":
        delay = (rng or random).uniform(0.0, delay)
    return delay


def max_attempts(retrier: Mapping[str, Any]) -> int:
    return int(retrier.get("MaxAttempts", DEFAULT_MAX_ATTEMPTS))
