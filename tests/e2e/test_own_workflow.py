"""docs/functions.md, "Your own workflow", followed as a user follows it.

A project with two handlers and an ASL file whose two Task states call them, declared in
``bakusoku.yml`` with a schedule and an object prefix: ``bakusoku up`` registers the state machine
with the embedded engine, and the schedule and an object stored under the prefix each start it
(the first Task's output is the second's input, each run in a worker with its declared timeout);
``bakusoku package`` writes the state machine into the SAM template with its events, its alias
and a role invoking exactly its two functions.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from bakusoku.storage.presign import Presigner
from tests.e2e.server import RunningServer

EXPORT = """
import os


def handler(event, context):
    # The rule's event as the state machine's input: the "Scheduled Event" or S3's "Object Created".
    key = event["detail"].get("object", {}).get("key")
    return {"from": event["detail-type"], "key": key, "rows": 3, "export_pid": os.getpid()}
"""
PUBLISH = """
import json
import os
from pathlib import Path


def handler(event, context):
    done = {**event, "published": True, "ms_left": context.get_remaining_time_in_millis()}
    name = event["from"].replace(" ", "-").lower()  # scheduled-event or object-created
    Path(os.environ["PUBLISHED_DIR"], f"{name}.json").write_text(json.dumps(done))
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
    out = root / "published"
    out.mkdir()
    config = {
        "functions": {
            "export": {"handler": "reports.export.handler"},
            "publish": {
                "handler": "reports.publish.handler",
                "timeout_seconds": 10,
                "environment": {"PUBLISHED_DIR": str(out)},
            },
        },
        "state_machines": {
            "nightly-export": {
                "definition": "workflows/export.asl.yaml",
                # Every minute (a nightly cron would not fire while the test waits).
                "events": [{"schedule": "cron(* * * * ? *)"}, {"object": {"prefix": "imports/"}}],
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


def _upload(server: RunningServer, key: str, data: bytes) -> None:
    """PUT an object into the stack's bucket through its store, with the stack's credentials."""
    credentials = yaml.safe_load((server.data_dir / "credentials.yml").read_text())
    presigner = Presigner(
        f"http://127.0.0.1:{server.store_port}",
        "us-east-1",
        credentials["access_key_id"],
        credentials["secret_access_key"],
    )
    grant = presigner.presign_put(
        "bakusoku", key, content_type="text/csv", content_length=len(data), expires_in=300
    )
    answer = httpx.put(grant.url, content=data, headers=grant.headers, timeout=30)
    assert answer.status_code == 200, answer.text


def _wait_for(path: Path, seconds: float, server: RunningServer) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert path.exists(), server.log()
    found: dict[str, Any] = json.loads(path.read_text())
    return found


@pytest.mark.clock  # the schedule fires at the next whole minute
def test_an_own_workflow_runs_under_up_and_packages_as_documented(tmp_path: Path) -> None:
    project = tmp_path / "myproject"
    config, published = _project(project)

    server = RunningServer(tmp_path / "data", extra_env=_env(project, config)).start()
    try:
        # An object under the prefix starts one execution at once, through the stack's store.
        _upload(server, "imports/orders.csv", b"id,total\n1,20\n")
        by_object = _wait_for(published / "object-created.json", 30, server)
        assert by_object["key"] == "imports/orders.csv"
        # The schedule fires at the next whole minute and starts another.
        by_schedule = _wait_for(published / "scheduled-event.json", 80, server)
        for done in (by_object, by_schedule):
            assert (
                done["rows"] == 3 and done["published"] is True
            )  # Export's output, Publish's input
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
        "ExportFunctionArn": {"Ref": "ExportFunction.Version"},
        "PublishFunctionArn": {"Ref": "PublishFunction.Version"},
    }
    assert props["Events"]["Schedule1"]["Properties"]["Schedule"] == "cron(* * * * ? *)"
    pattern = props["Events"]["Objects1"]["Properties"]["Pattern"]
    assert pattern["detail"]["object"] == {"key": [{"prefix": "imports/"}]}
    invoked = [p["LambdaInvokePolicy"]["FunctionName"] for p in props["Policies"][:-1]]
    assert invoked == [{"Ref": "ExportFunction"}, {"Ref": "PublishFunction"}]
    assert template["Resources"]["PhotoPipeline"]["Type"] == "AWS::Serverless::StateMachine"
