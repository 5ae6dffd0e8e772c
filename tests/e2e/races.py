"""What the race-day end-to-end tests share: a server that pushes to a LINE stand-in, and a race
with its entry list made through the API."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.e2e.server import RunningServer
from tests.races.stand_ins import LineStandIn


@contextmanager
def server_with_line(
    data_dir: Path, line_secret: str, batch_seconds: int
) -> Iterator[tuple[RunningServer, LineStandIn]]:
    """`bakusoku up` (2 workers) whose runner messages go to a LINE stand-in, batched per
    ``batch_seconds``; both are stopped after, the server's exit checked."""
    line_api = LineStandIn()
    server = RunningServer(
        data_dir,
        workers=2,
        extra_env={
            "BAKUSOKU_LINE_CHANNEL_ACCESS_TOKEN": line_api.token,
            "BAKUSOKU_LINE_CHANNEL_SECRET": line_secret,
            "BAKUSOKU_LINE_API_URL": line_api.url,
            "BAKUSOKU_RUNNER_BATCH_SECONDS": str(batch_seconds),
        },
    ).start()
    try:
        yield server, line_api
    finally:
        try:
            assert server.stop() == 0, server.log()
        finally:
            line_api.close()


def open_race(api: str, key: str, album: str, name: str, entries_csv: str) -> None:
    """Create the race ``album`` (6 Dec 2026) and post its entry list as CSV."""
    headers = {"Authorization": f"Bearer {key}"}
    httpx.put(
        f"{api}/v1/races/{album}", json={"name": name, "date": "2026-12-06"}, headers=headers
    ).raise_for_status()
    httpx.post(
        f"{api}/v1/races/{album}/entries",
        content=entries_csv.encode(),
        headers=headers | {"Content-Type": "text/csv"},
    ).raise_for_status()
