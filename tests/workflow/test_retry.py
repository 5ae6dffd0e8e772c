"""Retry delays and error matching, as the developer guide computes them."""

from __future__ import annotations

import random

import pytest

from bakusoku.workflow.retry import error_matches, first_match, max_attempts, retry_delay


def test_defaults_interval_1_backoff_2_attempts_3() -> None:
    retrier = {"ErrorEquals": ["States.ALL"]}
    assert [retry_delay(retrier, n) for n in range(3)] == [1.0, 2.0, 4.0]
    assert max_attempts(retrier) == 3


def test_documented_backoff_example() -> None:
    # IntervalSeconds 3, BackoffRate 1.5: waits of 3, 4.5 and 6.75 seconds.
    retrier = {"ErrorEquals": ["States.ALL"], "IntervalSeconds": 3, "BackoffRate": 1.5}
    assert [retry_delay(retrier, n) for n in range(3)] == [3.0, 4.5, 6.75]


def test_max_delay_caps_the_backoff() -> None:
    retrier = {"ErrorEquals": ["E"], "IntervalSeconds": 10, "BackoffRate": 3, "MaxDelaySeconds": 50}
    assert [retry_delay(retrier, n) for n in range(4)] == [10.0, 30.0, 50.0, 50.0]


def test_full_jitter_is_between_zero_and_the_delay() -> None:
    retrier = {"ErrorEquals": ["E"], "IntervalSeconds": 4, "JitterStrategy": "FULL"}
    rng = random.Random(1)
    delays = [retry_delay(retrier, 2, rng) for _ in range(200)]
    assert all(0.0 <= d <= 16.0 for d in delays)
    assert len(set(delays)) > 100


@pytest.mark.parametrize(
    ("equals", "error", "matches"),
    [
        (["States.ALL"], "AnyError", True),
        (["States.ALL"], "States.Runtime", False),
        (["States.TaskFailed"], "CustomError", True),
        (["States.TaskFailed"], "States.Timeout", False),
        (["States.Timeout"], "States.Timeout", True),
        (["A", "B"], "B", True),
        (["A"], "B", False),
    ],
)
def test_error_matching(equals: list[str], error: str, matches: bool) -> None:
    assert error_matches(equals, error) is matches


def test_first_matching_rule_wins() -> None:
    rules = [{"ErrorEquals": ["A"]}, {"ErrorEquals": ["States.ALL"]}]
    assert first_match(rules, "A") == 0
    assert first_match(rules, "B") == 1
    assert first_match(rules, "States.Runtime") is None
