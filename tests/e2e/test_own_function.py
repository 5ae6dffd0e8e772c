"""docs/functions.md, "Add your own function, step by step", followed as a user follows it.

A project with its own handler module and a ``bakusoku.yml`` declaring it with a schedule, an
HTTP route and an object prefix: ``bakusoku up`` runs it (the route answers through a worker, the
schedule fires it, an object uploaded under the prefix invokes it once with S3's EventBridge
event), ``bakusoku package`` bundles the module and gives the function exactly the declared
events, their dead-letter queue and its role, and ``bakusoku graph`` shows it with its sources,
its dead-letter queue and the prefix it reads.
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

HANDLER = """
import json
import os
from pathlib import Path


def handler(event, context):
    if event.get("detail-type") == "Scheduled Event":  # EventBridge's schedule event
        Path(os.environ["HELLO_OUT"]).write_text(json.dumps(event))
        return {"ok": True}
    if event.get("detail-type") == "Object Created":  # S3's event, through an EventBridge rule
        with open(os.environ["HELLO_OUT"] + ".objects", "a") as out:
            out.write(json.dumps(event) + "\\n")
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
                    {"object": {"prefix": "imports/"}},
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


@pytest.mark.clock  # the schedule fires at the next whole minute
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
        # An object uploaded under the prefix (through the store's S3 API) invokes it once.
        _upload(server, "imports/runners.csv", b"bib,name\n1854,Aoki\n")
        objects = Path(f"{scheduled}.objects")
        deadline = time.monotonic() + 30
        while not objects.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(2)  # room for a second invocation, which must not come
        (line,) = objects.read_text().splitlines()
        created = json.loads(line)
        assert (created["source"], created["detail-type"]) == ("aws.s3", "Object Created")
        assert created["detail"]["bucket"]["name"] == "bakusoku"
        assert created["detail"]["object"]["key"] == "imports/runners.csv"
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
    dead_letters = {"Arn": {"Fn::GetAtt": ["HelloFunctionDeadLetterQueue", "Arn"]}}
    retries = {"MaximumRetryAttempts": 185, "MaximumEventAgeInSeconds": 86400}
    assert function["Events"] == {
        "Schedule1": {
            "Type": "Schedule",
            "Properties": {
                "Schedule": "cron(* * * * ? *)",
                "Name": "demo-dev-hello-schedule-1",
                "DeadLetterConfig": dead_letters,
                "RetryPolicy": retries,
            },
        },
        "Http1": {
            "Type": "HttpApi",
            "Properties": {
                "ApiId": {"Ref": "PhotoApi"},
                "Method": "GET",
                "Path": "/v1/hello/{name}",
            },
        },
        "Objects1": {
            "Type": "EventBridgeRule",
            "Properties": {
                "RuleName": "demo-dev-hello-objects-1",
                "Pattern": {
                    "source": ["aws.s3"],
                    "detail-type": ["Object Created"],
                    "detail": {
                        "bucket": {"name": [{"Ref": "PhotoBucket"}]},
                        "object": {"key": [{"prefix": "imports/"}]},
                    },
                },
                "DeadLetterConfig": dead_letters,
                "RetryPolicy": retries,
            },
        },
    }
    # Lambda's own retries of the asynchronous events, then the same queue (SAM grants the role
    # sqs:SendMessage on it), and an alarm on its depth.
    assert function["EventInvokeConfig"] == {
        "MaximumRetryAttempts": 2,
        "MaximumEventAgeInSeconds": 21600,
        "DestinationConfig": {
            "OnFailure": {"Type": "SQS", "Destination": dead_letters["Arn"]},
        },
    }
    resources = template["Resources"]
    assert (
        resources["HelloFunctionDeadLetterQueue"]["Properties"]["QueueName"] == "demo-dev-hello-dlq"
    )
    alarm = resources["HelloFunctionDeadLetterQueueAlarm"]["Properties"]
    assert alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert alarm["AlarmActions"]  # to the stack's alarm topic
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
    # The object edge: the prefix emits to the rule, which triggers the function...
    edges = {(e["source"], e["target"], e["kind"]) for e in graph["edges"]}
    prefix = next(n for n in nodes.values() if n["label"] == "PhotoBucket/imports/")
    rule = next(n for n in nodes.values() if n["label"] == "hello-objects-1")
    assert (prefix["id"], rule["id"], "emits") in edges
    assert (rule["id"], "HelloFunction", "triggers") in edges
    # ...and what fails goes to its dead-letter queue: from the rules and from the function.
    queue = "HelloFunctionDeadLetterQueue"
    assert nodes[queue]["label"] == "hello-dlq"
    assert (rule["id"], queue, "dead_letters") in edges
    assert ("HelloFunction", queue, "dead_letters") in edges
