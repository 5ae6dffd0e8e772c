"""Replay recorded executions on the engine: ``python -m tests.workflow.recorded.replay``.

Prints each execution the engine does not reproduce exactly and the reproduction rate; with
``--outcome-only``, of the executions' ends alone (status, output or error and cause).
"""

from __future__ import annotations

import json
import sys
from typing import Any

from bakusoku.runtime import LambdaContext
from bakusoku.workflow import RunResult, run_definition
from tests.workflow.recorded.case import ACCOUNT, REGION, Case, without_run_details
from tests.workflow.recorded.cases import CASES


def run(case: Case) -> RunResult:
    return run_definition(
        dict(case.definition),
        case.input,
        functions=case.functions,
        context=LambdaContext.for_call,
        skip_waits=True,
        name=case.execution_name,
        state_machine_name=case.machine_name,
        region=REGION,
        account=ACCOUNT,
    )


def differences(case: Case, outcome_only: bool = False) -> list[str]:
    """What the engine's run of ``case`` does not reproduce, empty when it reproduces it all.

    ``outcome_only`` compares the execution's end only (status, output or error and cause),
    not its history.
    """
    result = run(case)
    found: list[str] = []
    expected: dict[str, Any] = {"status": case.status}
    actual: dict[str, Any] = {"status": result.status}
    if case.status == "SUCCEEDED":
        expected["output"] = without_run_details(case.output)
        actual["output"] = without_run_details(result.output)
    else:
        expected["error"], expected["cause"] = case.error, without_run_details(case.cause)
        actual["error"], actual["cause"] = result.error, without_run_details(result.cause)
    for key, value in expected.items():
        if actual[key] != value or json.dumps(actual[key]) != json.dumps(value):
            found.append(f"{key}: recorded {value!r}, got {actual[key]!r}")
    if outcome_only:
        return found
    if case.events is not None:
        got = tuple(event.type for event in result.history)
        if got != case.events:
            found.append(f"events: recorded {list(case.events)}, got {list(got)}")
    if case.assigned is not None:
        recorded = [(state, without_run_details(dict(values))) for state, values in case.assigned]
        assigned = [
            (
                event.state_name,
                without_run_details(
                    {
                        key: json.loads(text)
                        for key, text in event.details["assignedVariables"].items()
                    }
                ),
            )
            for event in result.history
            if event.details and "assignedVariables" in event.details
        ]
        if assigned != recorded:
            found.append(f"assigned variables: recorded {recorded}, got {assigned}")
    return found


def main() -> int:
    outcome_only = "--outcome-only" in sys.argv[1:]
    failed = 0
    for case in CASES:
        found = differences(case, outcome_only)
        if found:
            failed += 1
            print(f"DIFFERS {case.source}")
            if case.known_difference:
                print(f"    (known: {case.known_difference})")
            for line in found:
                print(f"    {line}")
    reproduced = len(CASES) - failed
    print(f"reproduced {reproduced}/{len(CASES)} ({100 * reproduced / len(CASES):.1f} %)")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
