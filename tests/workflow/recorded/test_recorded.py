"""Executions recorded on AWS Step Functions, replayed on the engine: each must come out the same."""

from __future__ import annotations

import pytest

from tests.workflow.recorded.case import Case
from tests.workflow.recorded.cases import CASES
from tests.workflow.recorded.replay import differences


@pytest.mark.parametrize(
    "case", [case for case in CASES if case.known_difference is None], ids=lambda case: case.name
)
def test_the_engine_reproduces_the_recorded_execution(case: Case) -> None:
    assert differences(case) == []


@pytest.mark.parametrize(
    "case",
    [case for case in CASES if case.known_difference is not None],
    ids=lambda case: case.name,
)
def test_a_known_difference_is_still_there(case: Case) -> None:
    # Once the engine reproduces it, the case loses its known_difference (and the README its line).
    assert differences(case) != [], case.known_difference
