"""Race-day burst: ``bakusoku loadtest`` against ``bakusoku up`` on SQLite, MariaDB and PostgreSQL.

For each database, starts ``bakusoku up`` on free loopback ports with ``BAKUSOKU_DATABASE_URL``
pointing at a fresh database (created on the local MariaDB at 127.0.0.1:3306 as root and the local
PostgreSQL at 127.0.0.1:5432 as postgres, dropped afterwards; SQLite: a file in the data directory),
runs the open-model spike and waits for every photo to be final. Prints one row per database and,
as the last line, one JSON object with every report.

    python bench/burst.py [--photos 1000] [--concurrency 64] [--size-mp 2] [--workers 2]
                          [--databases sqlite,mariadb,postgresql]

The connection ceiling of a deployment is ``db_max_connections`` (worker processes together) +
``db_pool_size`` (the API and engine process) + 2 (the object store process's outbox pool).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bakusoku.cli.loadtest import run_loadtest
from bakusoku.config import Settings
from tests.db.servers import create_named, drop_named
from tests.e2e.server import RunningServer

ADMIN_URLS = {
    "mariadb": "mysql+pymysql://root@127.0.0.1:3306/mysql",
    "postgresql": "postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
}
STORE_POOL = 2  # bakusoku/local/store_process.py


def create_database(kind: str, data_dir: Path) -> str:
    """A fresh database of ``kind`` and its URL."""
    if kind == "sqlite":
        return f"sqlite:///{(data_dir / 'bakusoku.db').resolve()}"
    name = f"bakusoku_burst_{uuid.uuid4().hex[:8]}"
    create_named(kind, ADMIN_URLS[kind], name)
    return sa.make_url(ADMIN_URLS[kind]).set(database=name).render_as_string(False)


def drop_database(kind: str, url: str) -> None:
    if kind == "sqlite":
        return
    name = sa.make_url(url).database
    assert name is not None, url
    drop_named(kind, ADMIN_URLS[kind], name)


def burst(kind: str, args: argparse.Namespace, root: Path) -> dict[str, Any]:
    data_dir = root / kind
    data_dir.mkdir()
    url = create_database(kind, data_dir)
    env = {
        "BAKUSOKU_DATABASE_URL": url,
        "BAKUSOKU_PRESIGN_RATE_PER_MINUTE": "0",  # one client sends the whole race's uploads
        "BAKUSOKU_LOG_FORMAT": "text",
    }
    server = RunningServer(data_dir, workers=args.workers, extra_env=env)
    try:
        server.start(timeout=120)
        try:
            report = run_loadtest(
                api=server.api,
                key=server.admin_token,
                photos=args.photos,
                concurrency=args.concurrency,
                size_mp=args.size_mp,
                rate=args.rate,
                service="burst",
                album=f"burst-{kind}",
                database_url=url,
                timeout=args.timeout,
                on_status=lambda line: print(f"[{kind}] {line}", file=sys.stderr, flush=True),
            )
        finally:
            server.stop(timeout=60)
    finally:
        drop_database(kind, url)
    defaults = Settings()
    ceiling = None
    if kind != "sqlite":
        ceiling = defaults.db_max_connections + defaults.db_pool_size + STORE_POOL
    return {**report.as_dict(), "database": kind, "ceiling": ceiling}


def table(rows: list[dict[str, Any]]) -> list[str]:
    head = (
        f"{'database':<11}{'acked':>7}{'ack p50':>9}{'p95':>8}{'p99':>8}{'upload p50':>12}{'p99':>8}"
        f"{'all final':>11}"
        f"{'photos/s':>10}{'ready':>7}{'failed':>7}{'lost':>6}{'stuck':>6}{'peak conn':>11}"
        f"{'ceiling':>9}  errors"
    )
    lines = [head, "-" * len(head)]
    for row in rows:
        final = row["seconds_to_all_final"]
        peak = "n/a" if row["peak_connections"] is None else str(row["peak_connections"])
        errors = ", ".join(f"{k}: {v}" for k, v in sorted(row["errors"].items())) or "none"
        lines.append(
            f"{row['database']:<11}{row['acknowledged']:>7}{row['ack_p50_ms']:>7.0f}ms"
            f"{row['ack_p95_ms']:>6.0f}ms{row['ack_p99_ms']:>6.0f}ms"
            f"{row['upload_p50_ms']:>10.0f}ms{row['upload_p99_ms']:>6.0f}ms"
            f"{(f'{final:.1f} s' if final is not None else 'never'):>11}"
            f"{row['photos_per_second']:>10.1f}{row['statuses'].get('ready', 0):>7}"
            f"{row['statuses'].get('failed', 0):>7}{row['lost']:>6}{row['stuck']:>6}"
            f"{peak:>11}{row['ceiling'] if row['ceiling'] is not None else 'n/a':>9}  {errors}"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--size-mp", type=float, default=2.0)
    parser.add_argument(
        "--rate", type=float, default=None, help="arrivals/s (default: concurrency)"
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=3600)
    parser.add_argument("--databases", default="sqlite,mariadb,postgresql")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="bakusoku-burst-") as tmp:
        for kind in [k.strip() for k in args.databases.split(",") if k.strip()]:
            started = time.monotonic()
            rows.append(burst(kind, args, Path(tmp)))
            print(f"[{kind}] done in {time.monotonic() - started:.0f} s", file=sys.stderr)
    print(
        f"burst: {args.photos} photos of {args.size_mp:g} MP, {args.concurrency} concurrent "
        f"uploads, {args.workers} workers"
    )
    for line in table(rows):
        print(line)
    print(json.dumps({"photos": args.photos, "concurrency": args.concurrency, "runs": rows}))


if __name__ == "__main__":
    main()
