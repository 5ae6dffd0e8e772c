"""One worker process of the connection-ceiling test: THREADS concurrent tasks, like Lambda invocations.

Usage: python -m tests.db.gate_worker URL GATE_DIR CEILING THREADS TASKS_PER_THREAD
Prints one JSON line: {"done": n, "errors": {name: count}}.
"""

from __future__ import annotations

import json
import sys
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import sqlalchemy as sa

from bakusoku.db.engine import create_db_engine
from bakusoku.db.gate import ConnectionGate
from bakusoku.db.photos import PhotoRepository


def main() -> None:
    url, gate_dir, ceiling, threads, tasks = sys.argv[1:6]
    gate = ConnectionGate(Path(gate_dir), int(ceiling), timeout=30)
    engine = create_db_engine(url, gate=gate, pool_size=int(threads))
    repo = PhotoRepository(engine, retry_seconds=30)
    errors: Counter[str] = Counter()

    def task(_: int) -> None:
        photo_id = str(uuid.uuid4())
        try:
            repo.record_received(
                photo_id=photo_id,
                album="gate",
                bucket="b",
                object_key=f"uploads/gate/{photo_id}.jpg",
                etag="e",
                byte_size=1,
                sha256="0" * 64,
                content_type="image/jpeg",
                execution_name=None,
            )
            with engine.connect() as conn:  # hold the connection a while, as a slow query would
                conn.execute(sa.text("SELECT SLEEP(0.05)"))
            repo.mark_ready(photo_id, {"width": 1, "height": 1})
        except Exception as exc:
            errors[f"{type(exc).__name__}: {str(exc)[:120]}"] += 1

    with ThreadPoolExecutor(int(threads)) as pool:
        list(pool.map(task, range(int(threads) * int(tasks))))
    engine.dispose()
    print(json.dumps({"done": int(threads) * int(tasks), "errors": dict(errors)}))


if __name__ == "__main__":
    main()
