"""Declared state machines: what the configuration may say, and what each mistake is told."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from bakusoku.config import ConfigError, Settings, load_settings
from bakusoku.pipeline.declared import ObjectEvent, ScheduleEvent
from bakusoku.pipeline.functions import BUILT_IN_MACHINES, PHOTO_PIPELINE, state_machines

TWO_STEPS = """\
{"StartAt": "Export",
 "States": {
   "Export": {"Type": "Task", "Resource": "${ExportFunctionArn}", "Next": "Publish"},
   "Publish": {"Type": "Task", "Resource": "${PublishFunctionArn}", "End": true}}}
"""
FUNCTIONS = {
    "export": {"handler": "reports.export.handler"},  # no events: a Task calls it
    "publish": {"handler": "reports.publish.handler", "events": []},
}


def _settings(
    tmp_path: Path,
    machines: Any,
    *,
    definition: str = TWO_STEPS,
    functions: dict[str, Any] | None = None,
) -> Settings:
    (tmp_path / "workflows").mkdir(exist_ok=True)
    (tmp_path / "workflows" / "export.asl.json").write_text(definition)
    path = tmp_path / "bakusoku.yml"
    document = {"functions": FUNCTIONS if functions is None else functions}
    path.write_text(yaml.safe_dump({**document, "state_machines": machines}))
    return load_settings(config_file=path, environ={})


def _export(**block: Any) -> dict[str, Any]:
    return {"nightly-export": {"definition": "workflows/export.asl.json", **block}}


def test_a_declared_machine_follows_the_built_in_ones(tmp_path: Path) -> None:
    events = [{"schedule": "cron(0 3 * * ? *)"}, {"object": {"prefix": "imports/"}}]
    settings = _settings(tmp_path, _export(events=events, description="Nightly export."))
    *built_in, machine = state_machines(settings)
    assert tuple(built_in) == BUILT_IN_MACHINES and built_in[0] is PHOTO_PIPELINE
    assert machine.name == "nightly-export"
    assert machine.logical_id == "NightlyExportStateMachine"
    # Read beside the configuration file, wherever bakusoku runs from.
    assert Path(str(machine.source)) == tmp_path / "workflows" / "export.asl.json"
    assert machine.tasks == (("ExportFunctionArn", "export"), ("PublishFunctionArn", "publish"))
    assert machine.events == (ScheduleEvent("cron(0 3 * * ? *)"), ObjectEvent("imports/"))
    assert machine.description == "Nightly export."
    assert [s.state for s in machine.task_states()] == ["Export", "Publish"]
    assert not machine.started_by_uploads


def test_no_table_no_machine_of_its_own(tmp_path: Path) -> None:
    path = tmp_path / "bakusoku.yml"
    path.write_text(yaml.safe_dump({"functions": {}}))
    assert state_machines(load_settings(config_file=path, environ={})) == BUILT_IN_MACHINES


@pytest.mark.parametrize(
    ("machines", "definition", "message"),
    [
        (["x"], TWO_STEPS, "state_machines must be a mapping"),
        ({"Nightly": {"definition": "workflows/export.asl.json"}}, TWO_STEPS,
         "state_machines.Nightly: the name 'Nightly' must be"),
        ({"photo-pipeline": {"definition": "workflows/export.asl.json"}}, TWO_STEPS,
         "state_machines.photo-pipeline: 'photo-pipeline' is already the name"),
        ({"export": {"definition": "workflows/export.asl.json"}}, TWO_STEPS,
         "state_machines.export: 'export' is already the name"),
        (_export(retries=3), TWO_STEPS, r"state_machines.nightly-export has unknown keys \['retries'\]"),
        ({"nightly-export": {"definition": "workflows/none.asl.yaml"}}, TWO_STEPS,
         "state_machines.nightly-export.definition: there is no file"),
        ({"nightly-export": {}}, TWO_STEPS,
         "state_machines.nightly-export.definition must be the path of an ASL file"),
        (_export(), TWO_STEPS.replace("PublishFunctionArn", "StorePhotoFunctionArn"),
         r"names \$\{StorePhotoFunctionArn\}, which is no function the configuration declares"),
        (_export(), TWO_STEPS.replace('"Next": "Publish"', '"Next": "Publsh"'),
         r"(?s)state_machines.nightly-export.definition \(.*export.asl.json\): .*Publsh"),
        (_export(), "StartAt: [", "state_machines.nightly-export.definition .*neither valid JSON"),
        (_export(events=[{"http": "GET /export"}]), TWO_STEPS,
         r"state_machines.nightly-export.events\[0\] has the unknown source 'http'"),
        (_export(events=[{"schedule": "rate(1 hours)"}]), TWO_STEPS, "singular unit for 1"),
        (_export(events=[{"object": {"prefix": "uploads/"}}]), TWO_STEPS,
         "overlaps the photo pipeline's upload_prefix"),
    ],
)  # fmt: skip
def test_each_mistake_names_its_key(
    tmp_path: Path, machines: Any, definition: str, message: str
) -> None:
    settings = _settings(tmp_path, machines, definition=definition)
    with pytest.raises(ConfigError, match=message):
        state_machines(settings)


def test_a_function_without_events_needs_a_task_that_calls_it(tmp_path: Path) -> None:
    functions = {**FUNCTIONS, "orphan": {"handler": "reports.orphan.handler"}}
    settings = _settings(tmp_path, _export(), functions=functions)
    with pytest.raises(
        ConfigError, match=r"functions.orphan has no events .*\$\{OrphanFunctionArn\}"
    ):
        state_machines(settings)
