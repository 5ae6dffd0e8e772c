"""A worker's memory: Max Memory Used is its own peak, and one that grew past its function's
memory size returns its result and is then replaced, with real worker processes."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest

from tests.runtime.conftest import RuntimeFactory, fn, process_exists, wait_until

_MAX_MEMORY_USED = re.compile(r"Max Memory Used: (\d+) MB")


def _reports(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "bakusoku.runtime" and r.getMessage().startswith("REPORT ")
    ]


def _max_memory_used(report: str) -> int:
    match = _MAX_MEMORY_USED.search(report)
    assert match, report
    return int(match[1])


def test_a_worker_that_grew_past_its_memory_size_returns_its_result_then_is_replaced(
    make_runtime: RuntimeFactory, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    runtime = make_runtime(fn("grow_while_idle", memory_mb=128))
    go, done = tmp_path / "go", tmp_path / "done"
    first = runtime.invoke(
        "grow_while_idle", {"grow_mb": 200, "go": str(go), "done": str(done), "request": 1}
    )
    # The worker grows while no invocation runs, where the parent's sampling watch never looks:
    # the peak is certain to have slipped by it, as a short one during an invocation can.
    go.write_text("go")
    wait_until(done.exists)

    with caplog.at_level(logging.INFO, logger="bakusoku.runtime"):
        second = runtime.invoke("grow_while_idle", {"request": 2})
        third = runtime.invoke("grow_while_idle", {"request": 3})

    assert second == {"pid": first["pid"], "request": 2}  # same worker, its result kept
    assert third["request"] == 3 and third["pid"] != first["pid"]
    wait_until(lambda: not process_exists(first["pid"]), timeout=5)
    stats = runtime.metrics().functions["grow_while_idle"]
    assert (stats.cold_starts, stats.errors, stats.environments) == (2, 0, 1)
    outgrown, fresh = _reports(caplog)
    assert _max_memory_used(outgrown) > 128 >= _max_memory_used(fresh)
    recycled = [r for r in caplog.records if r.getMessage().startswith("RECYCLE ")]
    assert len(recycled) == 1
    line = recycled[0].getMessage()
    assert f"Max Memory Used {_max_memory_used(outgrown)} MB" in line
    assert "Memory Size 128 MB" in line
    assert recycled[0].__dict__["function_name"] == "grow_while_idle"


def test_max_memory_used_is_the_workers_own_not_its_parents(
    make_runtime: RuntimeFactory, caplog: pytest.LogCaptureFixture
) -> None:
    # Linux carries a process's peak RSS (ru_maxrss) over into the processes it starts.
    ballast = bytearray(160 * 1024 * 1024)
    for i in range(0, len(ballast), 4096):
        ballast[i] = 1
    runtime = make_runtime(fn("counter", memory_mb=128))

    with caplog.at_level(logging.INFO, logger="bakusoku.runtime"):
        pids = {runtime.invoke("counter", {})["pid"] for _ in range(2)}
    del ballast

    assert len(pids) == 1  # kept warm: not mistaken for a worker past 128 MB
    assert all(_max_memory_used(report) < 128 for report in _reports(caplog))
    assert not [r for r in caplog.records if r.getMessage().startswith("RECYCLE ")]
