"""The state machine table: each entry read together with its ASL file and the function table."""

from __future__ import annotations

from pathlib import Path

import pytest

from bakusoku.config import Settings
from bakusoku.pipeline.functions import (
    ALL_FUNCTIONS,
    BUILT_IN_MACHINES,
    PHOTO_PIPELINE,
    runtime_functions,
    state_machines,
)
from bakusoku.pipeline.machines import StateMachine
from bakusoku.workflow.definition import load_definition

_TWO_STEPS = """\
StartAt: Export
States:
  Export: {Type: Task, Resource: "${ExportFunctionArn}", TimeoutSeconds: 60, Next: Publish}
  Publish:
    Type: Parallel
    End: true
    Branches:
      - StartAt: Send
        States:
          Send: {Type: Task, Resource: "${SendFunctionArn}", End: true}
"""


def test_the_photo_pipeline_comes_first_and_uploads_start_it() -> None:
    machines = state_machines(Settings())
    assert machines[0] is PHOTO_PIPELINE and machines[0].started_by_uploads
    assert PHOTO_PIPELINE.logical_id == "PhotoPipeline"


@pytest.mark.parametrize("machine", BUILT_IN_MACHINES, ids=lambda m: m.name)
def test_each_built_in_machine_calls_functions_of_the_table_only(machine: StateMachine) -> None:
    table = {f.name for f in ALL_FUNCTIONS}
    assert set(machine.function_names) <= table
    called = {s.function for s in machine.task_states()}
    assert called == set(machine.function_names)  # no placeholder without a Task, nor the reverse
    arns = {f: f"arn:aws:lambda:us-east-1:123456789012:function:{f}" for f in table}
    assert load_definition(machine.definition_text(), machine.substitutions(arns))


def test_the_embedded_runtime_runs_every_function_a_built_in_machine_calls() -> None:
    running = {f.name for f in runtime_functions(Settings(), {})}
    assert running >= {f for m in BUILT_IN_MACHINES for f in m.function_names}


def test_a_machine_reads_its_tasks_in_branches_and_fills_its_placeholders(tmp_path: Path) -> None:
    source = tmp_path / "export.asl.yaml"
    source.write_text(_TWO_STEPS)
    machine = StateMachine(
        "nightly-export",
        source,
        (("ExportFunctionArn", "export"), ("SendFunctionArn", "send")),
    )
    assert machine.logical_id == "NightlyExport"
    assert machine.function_names == ("export", "send")
    assert [(s.state, s.function, s.timeout_seconds) for s in machine.task_states()] == [
        ("Export", "export", 60),
        ("Send", "send", None),
    ]
    filled = load_definition(
        machine.definition_text(), machine.substitutions({"export": "A", "send": "B"})
    )
    assert filled["States"]["Export"]["Resource"] == "A"
    kept = load_definition(machine.definition_text(), machine.kept_placeholders())
    assert kept["States"]["Export"]["Resource"] == "${ExportFunctionArn}"
