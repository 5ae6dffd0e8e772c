"""A chaos experiment's database faults inside the engine, on every database bakusoku supports:
a cut refuses connections as an unreachable server does (retried as transient), a slowdown
delays each statement, and both end with the fault."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from bakusoku.db.engine import create_db_engine
from bakusoku.db.errors import DatabaseUnavailableError
from bakusoku.db.retry import is_transient, run_with_retry
from bakusoku.faults import FaultControl


def _select_one(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.text("SELECT 1")).scalar_one())


def test_a_cut_refuses_connections_as_a_transient_error_until_it_ends(
    db_url: str, tmp_path: Path
) -> None:
    faults = FaultControl(tmp_path)
    engine = create_db_engine(db_url, pool_size=2, faults=faults)
    try:
        assert _select_one(engine) == 1  # a pooled connection exists before the cut
        fault = faults.inject("db.cut", 30)
        with pytest.raises(sa.exc.OperationalError) as refused:
            _select_one(engine)
        assert is_transient(refused.value)
        assert "db.cut" in str(refused.value)
        with pytest.raises(DatabaseUnavailableError):
            run_with_retry(lambda: _select_one(engine), budget=0.3)
        faults.remove(fault.id)
        assert _select_one(engine) == 1
    finally:
        engine.dispose()


def test_a_slowdown_delays_each_statement(db_url: str, tmp_path: Path) -> None:
    faults = FaultControl(tmp_path)
    engine = create_db_engine(db_url, pool_size=2, faults=faults)
    try:
        _select_one(engine)
        faults.inject("db.slow", 30, latency_ms=300)
        started = time.monotonic()
        _select_one(engine)
        slowed = time.monotonic() - started
        faults.clear()
        started = time.monotonic()
        _select_one(engine)
        assert slowed >= 0.3 > time.monotonic() - started
    finally:
        engine.dispose()
