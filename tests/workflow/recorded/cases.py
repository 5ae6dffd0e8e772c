"""Every recorded execution the replay runs."""

from __future__ import annotations

from tests.workflow.recorded import (
    cases_base,
    cases_errors,
    cases_intrinsics,
    cases_jsonata,
    cases_query_language,
    cases_variables,
)
from tests.workflow.recorded.case import Case

CASES: list[Case] = [
    *cases_base.CASES,
    *cases_errors.CASES,
    *cases_intrinsics.CASES,
    *cases_variables.CASES,
    *cases_jsonata.CASES,
    *cases_query_language.CASES,
]
