"""Serving the API and the object store endpoint together until Ctrl-C or SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable, Generator, Mapping
from typing import Any

import uvicorn


class _Server(uvicorn.Server):
    """A uvicorn server that leaves signal handling to ``serve_apps`` (two servers share one)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


def serve_apps(
    apps: list[tuple[Any, str, int]],
    *,
    on_ready: Callable[[], None] | None = None,
    log_level: str = "warning",
    connection_options: Mapping[str, Any] | None = None,
) -> None:
    """Serve each ``(asgi_app, host, port)`` until SIGINT/SIGTERM, then shut down gracefully.

    ``connection_options``: uvicorn arguments bounding connections (timeouts, their number).
    """
    servers = [
        _Server(
            uvicorn.Config(
                app,
                host=host,
                port=port,
                log_level=log_level,
                log_config=None,  # uvicorn's own lines go through the JSON, redacted root logger
                access_log=False,
                timeout_graceful_shutdown=5,
                backlog=2048,
                **{"limit_concurrency": 2048, **(connection_options or {})},
            )
        )
        for app, host, port in apps
    ]

    def request_exit(_signum: int, _frame: object) -> None:
        for server in servers:
            if server.should_exit:
                server.force_exit = True
            server.should_exit = True

    previous = {sig: signal.signal(sig, request_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        asyncio.run(_serve_all(servers, on_ready))
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


async def _serve_all(servers: list[_Server], on_ready: Callable[[], None] | None) -> None:
    tasks = [asyncio.create_task(server.serve()) for server in servers]
    while not all(server.started for server in servers):
        if any(task.done() for task in tasks):
            for server in servers:
                server.should_exit = True
            break
        await asyncio.sleep(0.02)
    else:
        if on_ready is not None:
            on_ready()
    await asyncio.gather(*tasks)
    for server in servers:
        if not server.started:
            raise SystemExit(f"could not start the server on port {server.config.port}")
