"""The deployment-wide connection ceiling (RDS Proxy's role): 100 concurrent tasks, 10 connections."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa

from bakusoku.db.errors import DatabaseBusyError
from bakusoku.db.gate import ConnectionGate

pytestmark = pytest.mark.integration

CEILING = 10
PROCESSES, THREADS, TASKS = 4, 25, 4  # 100 concurrent tasks in 4 worker processes


def _status(conn: sa.Connection, name: str) -> int:
    row = conn.exec_driver_sql(f"SHOW GLOBAL STATUS LIKE '{name}'").one()
    return int(row[1])


def test_100_tasks_never_use_more_than_the_ceiling_on_mariadb(
    migrated_database: Callable[[str], str], tmp_path: Path
) -> None:
    url = migrated_database("mariadb")
    monitor = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with monitor.connect() as conn:
        conn.exec_driver_sql("FLUSH STATUS")  # Max_used_connections := connections open now
        baseline = _status(conn, "Threads_connected")
        aborted_before = _status(conn, "Connection_errors_max_connections")
        workers = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "tests.db.gate_worker",
                    url,
                    str(tmp_path / "slots"),
                    str(CEILING),
                    str(THREADS),
                    str(TASKS),
                ],
                stdout=subprocess.PIPE,
                text=True,
                env={**os.environ},
            )
            for _ in range(PROCESSES)
        ]
        results = [json.loads(w.communicate(timeout=240)[0]) for w in workers]
        peak = _status(conn, "Max_used_connections")
        refused = _status(conn, "Connection_errors_max_connections") - aborted_before
    monitor.dispose()
    assert all(w.returncode == 0 for w in workers)
    assert [r["errors"] for r in results] == [{}] * PROCESSES  # no 1040, no timeouts
    assert sum(r["done"] for r in results) == PROCESSES * THREADS * TASKS
    assert refused == 0
    # the connections open when counting started (this monitor included) plus the ceiling
    assert peak <= baseline + CEILING, f"peak {peak}, baseline {baseline}"


def test_a_slot_frees_when_its_holder_dies_and_waiting_times_out(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from bakusoku.db.gate import ConnectionGate;"
            f"g = ConnectionGate(Path({str(tmp_path)!r}), 1); g.acquire(); print('held', flush=True);"
            "time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    gate = ConnectionGate(tmp_path, 1, timeout=0.3)
    assert gate.in_use() == 1
    with pytest.raises(DatabaseBusyError, match="db_max_connections"):
        gate.acquire()
    threading.Timer(0.2, holder.kill).start()  # the holder crashes: the kernel frees its lock
    started = time.monotonic()
    gate.timeout = 10
    slot = gate.acquire()
    assert time.monotonic() - started < 5
    gate.release(slot)
    holder.wait()
    assert gate.in_use() == 0
