"""docs/functions.md, "Add your own function, step by step", followed as a user follows it.

A project with its own handler module and a ``bakusoku.yml`` declaring it with a schedule and an
HTTP route: ``bakusoku up`` runs it (the route answers through a worker, the schedule fires it),
``bakusoku package`` bundles the module and gives the function exactly the declared events and
role, and ``bakusoku graph`` shows it with its sources and the prefix it reads.
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
import yaml

from tests.e2e.server import RunningServer

HANDLER = """
import json
import os
from pathlib import Path


def handler(event, context):
    if event.get("detail-type") == "Scheduled Event":  # EventBridge's schedule event
        Path(os.environ["HELLO_OUT"]).write_text(json.dumps(event))
        return {"ok": True}
    name = event["pathParameters"]["name"]  # API Gateway HTTP API, payload format 2.0
    return {
        "statusCode": 200,
        "headers": {"content-type": "application/json"},
        "body": json.dumps({
            "hello": name,
            "route": event["routeKey"],
            "ms_left": context.get_remaining_time_in_millis(),
            "pid": os.getpid(),
        }),
    }
"""
SECRET = "arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:demo/{}-AbCdEf"


def _project(root: Path) -> tuple[Path, Path]:
    """Step 1 and 2: the handler in the project's own package, declared in bakusoku.yml."""
    (root / "reports").mkdir(parents=True)
    (root / "reports" / "__init__.py").write_text("")
    (root / "reports" / "hello.py").write_text(HANDLER)
    out = root / "scheduled.json"
    config = {
        "functions": {
            "hello": {
                "handler": "reports.hello.handler",
                "description": "Says hello.",
                "events": [
                    # Every minute (the step's daily cron would not fire while the test waits).
                    {"schedule": "cron(* * * * ? *)"},
                    {"http": "GET /v1/hello/{name}"},
                ],
                "memory_mb": 256,
                "timeout_seconds": 10,
                "reserved_concurrency": 2,
                "environment": {"HELLO_OUT": str(out)},
                "resources": {"bucket": [{"prefix": "reports/", "access": "read"}]},
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


def _cli(project: Path, config: Path, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "bakusoku.cli", *args],
        cwd=project,
        env={**os.environ, **_env(project, config)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_an_own_function_runs_packages_and_shows_as_documented(tmp_path: Path) -> None:
    project = tmp_path / "myproject"
    config, scheduled = _project(project)

    # Step 3: `bakusoku up` answers the route through a worker and fires the schedule.
    server = RunningServer(tmp_path / "data", extra_env=_env(project, config)).start()
    try:
        answer = httpx.get(f"{server.api}/v1/hello/world", timeout=30)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["hello"] == "world"
        assert body["route"] == "GET /v1/hello/{name}"
        assert 0 < body["ms_left"] <= 10_000  # the declared timeout, as Lambda's context says
        assert server.process is not None and body["pid"] != server.process.pid  # a worker
        # bakusoku's own API still answers beside it.
        assert httpx.get(f"{server.api}/healthz", timeout=10).status_code == 200
        # The schedule fires at the next whole minute: the handler writes the event it got.
        deadline = time.monotonic() + 75
        while not scheduled.exists() and time.monotonic() < deadline:
            time.sleep(0.5)
        assert scheduled.exists(), server.log()
        event = json.loads(scheduled.read_text())
        assert event["detail-type"] == "Scheduled Event"
        assert event["resources"][0].endswith(":rule/hello-schedule-1")
    finally:
        server.stop()

    # Step 4: the package bundles the project's module and declares exactly what was declared.
    out = tmp_path / "build"
    _cli(
        project,
        config,
        *("package", "--service", "demo", "--stage", "dev", "--no-dependencies"),
        *("--out", str(out)),
    )
    assert (out / "code" / "reports" / "hello.py").read_text() == HANDLER
    template = yaml.safe_load((out / "template.yaml").read_text())
    function: dict[str, Any] = template["Resources"]["HelloFunction"]["Properties"]
    assert function["Handler"] == "reports.hello.handler"
    assert (function["MemorySize"], function["Timeout"]) == (256, 10)
    assert function["ReservedConcurrentExecutions"] == 2
    assert function["Environment"]["Variables"]["HELLO_OUT"] == str(scheduled)
    assert function["Events"] == {
        "Schedule1": {
            "Type": "Schedule",
            "Properties": {"Schedule": "cron(* * * * ? *)", "Name": "demo-dev-hello-schedule-1"},
        },
        "Http1": {
            "Type": "HttpApi",
            "Properties": {
                "ApiId": {"Ref": "PhotoApi"},
                "Method": "GET",
                "Path": "/v1/hello/{name}",
            },
        },
    }
    (policy,) = function["Policies"]
    assert policy["Statement"] == [
        {
            "Effect": "Allow",
            "Action": ["s3:GetObject"],
            "Resource": {"Fn::Sub": "${PhotoBucket.Arn}/reports/*"},
        },
        {
            "Effect": "Allow",
            "Action": ["s3:ListBucket"],
            "Resource": {"Fn::GetAtt": ["PhotoBucket", "Arn"]},
            "Condition": {"StringLike": {"s3:prefix": ["reports/*"]}},
        },
    ]  # no database secret, no other prefix, no state machine

    # Step 5: the map shows the function, its two sources and the prefix it reads.
    graph = json.loads(
        _cli(project, config, "graph", "--format", "json", "--service", "demo", "--stage", "dev")
    )
    nodes = {n["id"]: n for n in graph["nodes"]}
    assert nodes["HelloFunction"]["kind"] == "function"
    into = {(e["source"], e["label"]) for e in graph["edges"] if e["target"] == "HelloFunction"}
    assert ("PhotoApi", "GET /v1/hello/{name}") in into
    schedules = [nodes[s] for s, _ in into if nodes[s]["kind"] == "source"]
    assert [n["label"] for n in schedules] == ["cron(* * * * ? *)"]
    reads = [e for e in graph["edges"] if e["source"] == "HelloFunction" and e["kind"] == "reads"]
    assert [nodes[e["target"]]["label"] for e in reads] == ["PhotoBucket/reports/"]
