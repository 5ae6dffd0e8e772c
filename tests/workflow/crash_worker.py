"""An engine process for the crash tests: runs executions on a SQLite file until they end.

    python -m tests.workflow.crash_worker DB MARKERS SCENARIO (start|resume) [--block]

``start`` starts the scenario's execution, ``resume`` only starts the engine (which resumes what
the killed process left RUNNING). Every task appends a line to ``MARKERS/<step>.runs`` when it
begins, so the test can count how often each step ran. With ``--block`` the scenario's slow
steps block until the process is killed. The process prints the execution's description as
JSON when it ends.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from bakusoku.db.engine import create_db_engine
from bakusoku.workflow.engine import WorkflowEngine
from bakusoku.workflow.invoker import FunctionInvoker
from tests.schema import create_schema

ARN = "arn:aws:lambda:us-east-1:123456789012:function:{}"
OWNER = "crash-test-engine"  # stable, as for a restarted service: it takes its executions back
EXECUTION = "crash-run"
WAIT_SECONDS = 2


def _task(step: str) -> dict[str, Any]:
    return {"Type": "Task", "Resource": ARN.format(step), "ResultPath": f"$.{step}"}


DEFINITIONS: dict[str, dict[str, Any]] = {
    "task": {
        "StartAt": "first",
        "States": {
            "first": {**_task("first"), "Next": "slow"},
            "slow": {**_task("slow"), "Next": "last"},
            "last": {**_task("last"), "End": True},
        },
    },
    "wait": {
        "StartAt": "first",
        "States": {
            "first": {**_task("first"), "Next": "pause"},
            "pause": {"Type": "Wait", "Seconds": WAIT_SECONDS, "Next": "last"},
            "last": {**_task("last"), "End": True},
        },
    },
    "map": {
        "StartAt": "first",
        "States": {
            "first": {**_task("first"), "Next": "each"},
            "each": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "MaxConcurrency": 2,
                "ItemProcessor": {
                    "StartAt": "item",
                    "States": {
                        "item": {"Type": "Task", "Resource": ARN.format("item"), "End": True}
                    },
                },
                "ResultPath": "$.doubled",
                "Next": "last",
            },
            "last": {**_task("last"), "End": True},
        },
    },
}
INPUTS: dict[str, Any] = {
    "task": {"n": 1},
    "wait": {"n": 2},
    "map": {"items": [1, 2, 3, 4, 5, 6]},
}


def _mark(markers: Path, step: str) -> None:
    with (markers / f"{step}.runs").open("a") as file:
        file.write(f"{os.getpid()}\n")
        file.flush()
        os.fsync(file.fileno())


def _functions(markers: Path, block: bool) -> dict[str, Any]:
    def step(name: str, slow: bool = False) -> Any:
        def run(event: Any) -> Any:
            _mark(markers, name)
            if slow and block:
                time.sleep(60)  # killed here
            return name

        return run

    def item(value: int) -> int:
        _mark(markers, f"item-{value}")
        if block and value >= 4:
            time.sleep(60)  # killed here, with items 1-3 done
        return value * 2

    return {
        ARN.format("first"): step("first"),
        ARN.format("slow"): step("slow", slow=True),
        ARN.format("last"): step("last"),
        ARN.format("item"): item,
    }


def main(argv: list[str]) -> int:
    db_path, markers, scenario, mode = argv[:4]
    block = "--block" in argv[4:]
    db = create_db_engine(f"sqlite:///{db_path}")
    create_schema(db)
    engine = WorkflowEngine(db, FunctionInvoker(_functions(Path(markers), block)), owner=OWNER)
    arn = engine.register_state_machine(scenario, DEFINITIONS[scenario])
    engine.start()
    if mode == "start":
        engine.start_execution(arn, INPUTS[scenario], name=EXECUTION)
    done = engine.wait_for(EXECUTION, timeout=30)
    engine.stop()
    print(json.dumps({"status": done.status, "output": done.output, "error": done.error}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
