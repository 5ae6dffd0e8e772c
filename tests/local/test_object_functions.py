"""`bakusoku up`'s object prefixes: an object created under a declared function's prefix invokes
it once with S3's EventBridge "Object Created" event, from the outbox the pipeline reads; a
function that always fails leaves a dead letter after Lambda's two retries, alerted on Slack and
invoked again by `bakusoku functions redrive` once its cause is fixed."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from bakusoku.cli.main import cli
from bakusoku.config import load_settings
from bakusoku.db.invocations import AsyncInvocations
from bakusoku.local.routes import to_eventbridge
from bakusoku.local.stack import EmbeddedStack
from bakusoku.ops.status import status_report
from bakusoku.storage.local import LocalObjectStore
from tests.conftest import free_port
from tests.ops.conftest import WebhookStandIn

pytestmark = pytest.mark.integration

HANDLERS = """
import json
import os


def record(event, context):
    with open(os.environ["OBJECTS_OUT"], "a") as out:
        out.write(json.dumps(event) + "\\n")
    return {"ok": True}


def broken(event, context):
    raise ValueError("cannot read " + event["detail"]["object"]["key"])


def fixable(event, context):
    if not os.path.exists(os.environ["FIXED"]):
        raise LookupError("no column 'bib' in " + event["detail"]["object"]["key"])
    with open(os.environ["FIXED"], "a") as out:
        out.write(event["detail"]["object"]["key"] + "\\n")
    return {"ok": True}
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project with two handlers, declared on prefixes of their own, importable by workers."""
    root = tmp_path / "project"
    root.mkdir()
    (root / "objfns.py").write_text(HANDLERS)
    monkeypatch.syspath_prepend(str(root))  # the workers take the parent's sys.path
    config = {
        "async_retry_seconds": 1,  # Lambda waits a minute, then two: 1 s, then 2 s here
        "functions": {
            "importer": {
                "handler": "objfns.record",
                "events": [{"object": {"prefix": "imports/"}}],
                "environment": {"OBJECTS_OUT": str(root / "objects.jsonl")},
            },
            "breaker": {"handler": "objfns.broken", "events": [{"object": {"prefix": "broken/"}}]},
            "fixable": {
                "handler": "objfns.fixable",
                "events": [{"object": {"prefix": "entries/"}}],
                "environment": {"FIXED": str(root / "fixed.txt")},
            },
        },
    }
    (root / "bakusoku.yml").write_text(yaml.safe_dump(config))
    return root


def _stack(project: Path, data_dir: Path, **settings: Any) -> EmbeddedStack:
    overrides = {
        "data_dir": data_dir,
        "workers": 1,
        "port": free_port(),
        "store_port": free_port(),
        "sweep_schedule": "",
        **settings,
    }
    return EmbeddedStack(load_settings(overrides, config_file=project / "bakusoku.yml", environ={}))


@pytest.fixture
def running(project: Path, tmp_path: Path) -> Iterator[EmbeddedStack]:
    stack = _stack(project, tmp_path / "data")
    stack.start()
    try:
        yield stack
    finally:
        stack.stop()


def _notification(stack: EmbeddedStack, key: str, data: bytes) -> dict[str, Any]:
    """The S3 notification the stack's store writes for a new object (and the object itself)."""
    captured: list[dict[str, Any]] = []
    store = LocalObjectStore(stack.objects_dir, event_sink=captured.append)
    store.put_object(stack.settings.bucket, key, data, content_type="application/json")
    return captured[0]


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def _status(invocations: AsyncInvocations, key: str) -> str | None:
    found = invocations.get(key)
    return found.status if found else None


def _wait(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return condition()


def test_an_object_under_the_prefix_invokes_the_function_once_with_the_eventbridge_event(
    running: EmbeddedStack, project: Path
) -> None:
    out = project / "objects.jsonl"
    notification = _notification(running, "imports/2026/list.json", b'{"runners": 12}')
    # At least once, as S3 and the outbox deliver: the event stored five times, five dispatchers.
    with ThreadPoolExecutor(5) as pool:
        list(pool.map(lambda _: running.outbox.append(notification), range(5)))
    with ThreadPoolExecutor(5) as pool:
        list(pool.map(lambda _: running.trigger.dispatch_pending(), range(5)))
    assert _wait(lambda: len(_lines(out)) >= 1, timeout=60)
    time.sleep(2)  # room for a second invocation, which must not come
    (event,) = _lines(out)
    assert event == to_eventbridge(notification)  # what the AWS rule delivers
    assert event["detail-type"] == "Object Created"
    assert event["detail"]["object"]["key"] == "imports/2026/list.json"
    # The object started no photo pipeline: its prefix is not the upload prefix.
    assert running.workflow.list_executions(running.state_machine_arn).executions == []


def test_an_object_put_through_the_stack_s_store_reaches_the_function(
    running: EmbeddedStack, project: Path
) -> None:
    running.store.put_object(
        running.settings.bucket, "imports/b.json", b"{}", content_type="application/json"
    )
    assert _wait(lambda: len(_lines(project / "objects.jsonl")) == 1, timeout=60)
    assert _lines(project / "objects.jsonl")[0]["detail"]["object"]["key"] == "imports/b.json"


def test_a_function_that_always_fails_leaves_a_dead_letter_after_two_retries(
    running: EmbeddedStack, tmp_path: Path, project: Path
) -> None:
    running.store.put_object(
        running.settings.bucket, "broken/c.json", b"{}", content_type="application/json"
    )
    invocations = AsyncInvocations(running.db)
    assert _wait(lambda: bool(invocations.failed_invocations("breaker")), timeout=60)
    (dead,) = invocations.failed_invocations("breaker")
    assert dead.attempts == 3  # the first try and Lambda's two retries
    assert dead.source == "object"
    assert dead.error_type == "ValueError"
    assert dead.error_message == "cannot read broken/c.json"
    assert dead.event["detail"]["object"]["key"] == "broken/c.json"
    # The operator sees it: counted in the status, listed by the CLI.
    assert status_report(running.db)["dead_letters"] == {"breaker": 1}
    shown = CliRunner().invoke(cli, ["functions", "failed", "--data-dir", str(tmp_path / "data")])
    assert shown.exit_code == 0, shown.output
    assert "breaker  object  tries 3  ValueError: cannot read broken/c.json" in shown.output
    listed = CliRunner().invoke(
        cli, ["functions", "failed", "--data-dir", str(tmp_path / "data"), "--json"]
    )
    assert [d["key"] for d in json.loads(listed.output)] == [dead.key]


def test_an_invocation_queued_before_a_crash_is_invoked_on_the_next_start(
    project: Path, tmp_path: Path
) -> None:
    stack = _stack(project, tmp_path / "data")
    # What a run that crashed after queueing the event leaves: a pending invocation.
    event = {"detail-type": "Object Created", "detail": {"object": {"key": "imports/d.json"}}}
    assert AsyncInvocations(stack.db).add("importer:object:crashed", "importer", "object", event)
    stack.start()
    try:
        assert _wait(lambda: len(_lines(project / "objects.jsonl")) == 1, timeout=60)
        assert _lines(project / "objects.jsonl") == [event]
        invocations = AsyncInvocations(stack.db)
        assert _wait(lambda: _status(invocations, "importer:object:crashed") == "succeeded", 10)
    finally:
        stack.stop()


def test_a_dead_letter_is_alerted_and_once_fixed_a_redrive_invokes_it_again(
    project: Path, tmp_path: Path
) -> None:
    slack = WebhookStandIn()
    stack = _stack(project, tmp_path / "data", slack_webhook_url=slack.url)
    stack.start()
    try:
        stack.store.put_object(
            stack.settings.bucket, "entries/race.csv", b"no,bibs", content_type="text/csv"
        )
        (alert,) = slack.wait_for(1, timeout=60)
        invocations = AsyncInvocations(stack.db)
        (dead,) = invocations.failed_invocations("fixable")
        assert "fixable failed every try on its object event: LookupError" in alert["text"]
        told = json.dumps(alert["blocks"])
        assert "no column 'bib' in entries/race.csv" in told
        assert f"bakusoku functions redrive {dead.key}" in told
        data = ["--data-dir", str(tmp_path / "data")]
        refused = CliRunner().invoke(cli, ["functions", "redrive", *data])
        assert refused.exit_code == 2 and "--function NAME" in refused.output

        (project / "fixed.txt").write_text("")  # the cause is fixed
        redriven = CliRunner().invoke(cli, ["functions", "redrive", "--function", "fixable", *data])

        assert redriven.exit_code == 0, redriven.output
        assert f"pending again: {dead.key}" in redriven.output
        assert _wait(lambda: _status(invocations, dead.key) == "succeeded", timeout=30)
        assert (project / "fixed.txt").read_text() == "entries/race.csv\n"
        again = CliRunner().invoke(cli, ["functions", "redrive", dead.key, *data])
        assert again.exit_code == 1 and "not a dead letter" in again.output
        assert len(slack.bodies()) == 1  # the success is not alerted
    finally:
        stack.stop()
        slack.close()
