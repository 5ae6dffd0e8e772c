"""``bakusoku chaos run``: every built-in experiment against a real ``bakusoku up``, with short faults.

Each run checks the hypothesis before, during and after its fault; the report must say it held,
show what was measured in each phase, and carry the fault's own mark (the retried throttle, the
failed store call, the wait for the database), so a fault that never acted cannot pass. A fault
longer than the pipeline's Retry rules ride out makes the hypothesis fail, the report say so and
the command exit 1. Faults end by themselves when the command that injected them is killed.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from bakusoku.chaos.experiment import builtin_names
from tests.conftest import make_jpeg
from tests.e2e.server import RunningServer
from tests.faults.processes import until, upload, wait_final

pytestmark = pytest.mark.integration

FAULT_SECONDS = 2
WITHIN_SECONDS = 45


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = RunningServer(
        tmp_path_factory.mktemp("chaos") / "data",
        workers=2,
        extra_env={"BAKUSOKU_FACE_DETECTION": "0"},
    ).start()
    try:
        yield running
    finally:
        assert running.stop() == 0, running.log()


def chaos(server: RunningServer, *args: str, timeout: float = 120) -> tuple[int, dict[str, Any]]:
    """Run ``bakusoku chaos run ARGS`` against ``server``; its exit code and JSON report."""
    report = server.data_dir.parent / f"report-{time.monotonic_ns()}.json"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bakusoku.cli",
            "chaos",
            "run",
            *args,
            "--api",
            server.api,
            "--key",
            server.admin_token,
            "--report",
            str(report),
        ],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert report.exists(), done.stderr
    text = done.stdout
    assert "experiment " in text and "result:" in text, text  # the human report
    return done.returncode, json.loads(report.read_text())


def faults_in_force(server: RunningServer) -> list[dict[str, Any]]:
    answer = httpx.get(f"{server.api}/v1/faults", headers=server.headers, timeout=10)
    assert answer.status_code == 200, answer.text
    return list(answer.json()["faults"])


# What each built-in's fault leaves in the during phase's measurements, whatever else happens.
def _mark(name: str, during: dict[str, Any], log: str) -> bool:
    errors = during["task_errors"]
    if name == "function-throttle":
        return errors.get("Lambda.TooManyRequestsException", 0) > 0
    if name == "store-fail":
        return errors.get("StorageUnavailableError", 0) > 0
    if name == "workers-kill":
        return "chaos: killed" in log
    if name == "db-cut":  # uploads waited for the database to be back
        return during["seconds_to_accept"]["max"] >= 1.0
    if name == "db-slow":  # a presign is at least one statement
        return during["seconds_to_accept"]["max"] >= 0.2
    if name == "store-slow":  # a photo reads its original and writes a rendition at least
        return during["seconds_to_final"]["max"] >= 0.6
    raise AssertionError(f"no mark known for the built-in {name}")


@pytest.mark.parametrize("name", builtin_names())
def test_each_built_in_experiment_holds_and_its_report_says_what_was_measured(
    server: RunningServer, name: str
) -> None:
    code, report = chaos(
        server,
        name,
        "--fault-seconds",
        str(FAULT_SECONDS),
        "--photos",
        "2",
        "--within",
        str(WITHIN_SECONDS),
    )
    assert report["status"] == "completed" and report["held"] is True, json.dumps(report, indent=1)
    assert code == 0
    for phase in ("before", "during", "after"):
        measured = report["phases"][phase]
        assert measured["ran"] and measured["held"] is True
        assert measured["measured"]["accepted"] == measured["measured"]["ready"] == 2
        assert [c["held"] for c in measured["checks"]] == [True, True]
    (step,) = report["method"]
    assert step["fault"]["expires_at"] - step["fault"]["started_at"] == FAULT_SECONDS
    log = server.log_path.read_text(errors="replace")
    assert _mark(name, report["phases"]["during"]["measured"], log), report
    assert faults_in_force(server) == []  # rolled back


def test_a_fault_longer_than_the_retries_breaks_the_hypothesis_and_the_run_exits_1(
    server: RunningServer,
) -> None:
    code, report = chaos(
        server,
        "store-fail",
        "--fault-seconds",
        "12",
        "--photos",
        "2",
        "--within",
        str(WITHIN_SECONDS),
    )
    assert code == 1
    assert report["status"] == "deviated" and report["held"] is False
    before, during, after = (report["phases"][p] for p in ("before", "during", "after"))
    assert before["held"] is True and after["held"] is True
    assert during["held"] is False
    failure_rate = during["checks"][1]
    assert failure_rate["held"] is False and failure_rate["measured"] > 0
    assert during["measured"]["error_codes"].get("storage.unavailable", 0) >= 1
    assert faults_in_force(server) == []


def test_a_hypothesis_that_does_not_hold_before_injects_nothing(server: RunningServer) -> None:
    code, report = chaos(server, "db-cut", "--photos", "1", "--within", "0.01")
    assert code == 1
    assert report["phases"]["before"]["held"] is False
    assert report["phases"]["during"]["ran"] is False and report["phases"]["after"]["ran"] is False
    assert report["method"] == []


def test_faults_end_by_themselves_when_the_command_dies(server: RunningServer) -> None:
    command = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bakusoku.cli",
            "chaos",
            "run",
            "function-throttle",
            "--api",
            server.api,
            "--key",
            server.admin_token,
            "--fault-seconds",
            "3",
            "--photos",
            "1",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        (fault,) = until(lambda: faults_in_force(server), 60, "the experiment's fault")
        command.send_signal(signal.SIGKILL)  # no rollback runs
        command.wait()
        assert fault["kind"] == "function.throttle"
        until(lambda: not faults_in_force(server), 10, "the fault to expire")
    finally:
        if command.poll() is None:
            command.kill()
            command.wait()
    photo_id = upload(server, make_jpeg(1200, 900), album="after-chaos")
    assert wait_final(server, photo_id, timeout=WITHIN_SECONDS)["status"] == "ready"


def test_only_the_admin_token_reaches_the_faults(server: RunningServer) -> None:
    admin_key = server.create_key("faults", role="admin")
    body = {"kind": "db.cut", "duration_seconds": 1}
    assert httpx.post(f"{server.api}/v1/faults", json=body, timeout=10).status_code == 401
    answer = httpx.post(
        f"{server.api}/v1/faults",
        json=body,
        headers={"Authorization": f"Bearer {admin_key}"},
        timeout=10,
    )
    assert answer.status_code == 403 and answer.json()["error"]["code"] == "auth.forbidden"
    too_long = httpx.post(
        f"{server.api}/v1/faults",
        json={"kind": "db.cut", "duration_seconds": 3600},
        headers=server.headers,
        timeout=10,
    )
    assert (
        too_long.status_code == 400 and "fault_max_seconds" in too_long.json()["error"]["message"]
    )
    assert faults_in_force(server) == []
