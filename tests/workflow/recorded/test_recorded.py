"""Executions recorded on AWS Step Functions, replayed on the engine: each must come out the same."""

from __future__ import annotations

import pytest

from tests.workflow.recorded.case import Case
from tests.workflow.recorded.cases import CASES
from tests.workflow.recorded.replay import differences


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_the_engine_reproduces_the_recorded_execution(case: Case) -> None:
    assert differences(case) == []
