"""docs/functions.md, "Your own workflow", followed as a user follows it.

A project with two handlers and an ASL file whose two Task states call them, declared in
``bakusoku.yml`` with a schedule: ``bakusoku up`` registers the state machine with the embedded
engine and the schedule starts it (the first Task's output is the second's input, each run in a
worker with its declared timeout), ``bakusoku package`` writes the state machine into the SAM
template with its schedule, its alias and a role invoking exactly its two functions.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from tests.e2e.server import RunningServer

EXPORT = """
import os


def handler(event, context):
    # The "Scheduled Event" of the rule, as the state machine's input.
    return {"rule": event["resources"][0], "rows": 3, "export_pid": os.getpid()}
"""
PUBLISH = """
import json
import os
from pathlib import Path


def handler(event, context):
    done = {**event, "published": True, "ms_left": context.get_remaining_time_in_millis()}
    Path(os.environ["PUBLISHED_OUT"]).write_text(json.dumps(done))
    return done
"""
WORKFLOW = """\
Comment: Export, then publish.
StartAt: Export
States:
  Export:
    Type: Task
    Resource: ${ExportFunctionArn}
    Next: Publish
  Publish:
    Type: Task
    Resource: ${PublishFunctionArn}
    End: true
"""
SECRET = "arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:demo/{}-AbCdEf"


def _project(root: Path) -> tuple[Path, Path]:
    (root / "reports").mkdir(parents=True)
    (root / "reports" / "__init__.py").write_text("")
    (root / "reports" / "export.py").write_text(EXPORT)
    (root / "reports" / "publish.py").write_text(PUBLISH)
    (root / "workflows").mkdir()
    (root / "workflows" / "export.asl.yaml").write_text(WORKFLOW)
    out = root / "published.json"
    config = {
        "functions": {
            "export": {"handler": "reports.export.handler"},
            "publish": {
                "handler": "reports.publish.handler",
                "timeout_seconds": 10,
                "environment": {"PUBLISHED_OUT": str(out)},
            },
        },
        "state_machines": {
            "nightly-export": {
                "definition": "workflows/export.asl.yaml",
                # Every minute (a nightly cron would not fire while the test waits).
                "events": [{"schedule": "cron(* * * * ? *)"}],
            }
        },
        "services": {
            "demo": {
                "defaults": {
                    "database_secret_arn": SECRET.format("database"),
                    "slack_webhook_secret_arn": SECRET.format("slack"),
                    "transform_signing_key_secret_arn": SECRET.format("transform"),
                },
                "stages": {"dev": {}},
            }
        },
    }
    path = root / "bakusoku.yml"
    path.write_text(yaml.safe_dump(config))
    return path, out


def _env(project: Path, config: Path) -> dict[str, str]:
    path = os.pathsep.join(p for p in (str(project), os.environ.get("PYTHONPATH", "")) if p)
    return {"PYTHONPATH": path, "BAKUSOKU_CONFIG": str(config)}


def test_an_own_workflow_runs_under_up_and_packages_as_documented(tmp_path: Path) -> None:
    project = tmp_path / "myproject"
    config, published = _project(project)

    server = RunningServer(tmp_path / "data", extra_env=_env(project, config)).start()
    try:
        # The schedule fires at the next whole minute and starts one execution of two steps.
        deadline = time.monotonic() + 80
        while not published.exists() and time.monotonic() < deadline:
            time.sleep(0.5)
        assert published.exists(), server.log()
        done = json.loads(published.read_text())
        assert done["rule"].endswith(":rule/nightly-export-schedule-1")
        assert done["rows"] == 3 and done["published"] is True  # Export's output, Publish's input
        assert 0 < done["ms_left"] <= 10_000  # publish's declared timeout
        assert server.process is not None and done["export_pid"] != server.process.pid
    finally:
        server.stop()

    out = tmp_path / "build"
    package = ("package", "--service", "demo", "--stage", "dev", "--no-dependencies")
    subprocess.run(
        [sys.executable, "-m", "bakusoku.cli", *package, "--out", str(out)],
        cwd=project,
        env={**os.environ, **_env(project, config)},
        check=True,
        capture_output=True,
        timeout=300,
    )
    template = yaml.safe_load((out / "template.yaml").read_text())
    machine: dict[str, Any] = template["Resources"]["NightlyExportStateMachine"]
    assert machine["Type"] == "AWS::Serverless::StateMachine"
    props = machine["Properties"]
    assert props["Name"] == "demo-dev-nightly-export"
    assert list(props["Definition"]["States"]) == ["Export", "Publish"]
    assert props["DefinitionSubstitutions"] == {
        "ExportFunctionArn": {"Ref": "ExportFunctionAliaslive"},
        "PublishFunctionArn": {"Ref": "PublishFunctionAliaslive"},
    }
    assert props["Events"]["Schedule1"]["Properties"]["Schedule"] == "cron(* * * * ? *)"
    invoked = [p["LambdaInvokePolicy"]["FunctionName"] for p in props["Policies"][:-1]]
    assert invoked == [{"Ref": "ExportFunction"}, {"Ref": "PublishFunction"}]
    assert template["Resources"]["PhotoPipeline"]["Type"] == "AWS::Serverless::StateMachine"
