"""Fixtures for storage tests: a real local S3 endpoint under uvicorn on loopback."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from bakusoku.config import Settings
from bakusoku.local.store_process import store_limits
from bakusoku.storage.http_limits import ConnectionLimits, store_server_config
from bakusoku.storage.local import LocalObjectStore
from bakusoku.storage.presign import Presigner
from bakusoku.storage.server import LENDING_THREADS, create_store_app

ACCESS_KEY = "AKIDBAKUSOKUTEST0001"
SECRET_KEY = "bakusoku/test/secret/key/0123456789abcdef"
CREDENTIALS = {ACCESS_KEY: SECRET_KEY}
REGION = "us-east-1"
BUCKET = "photos"
MAX_OBJECT_SIZE = 1024 * 1024
# The limits `bakusoku up` serves the store with when nothing is configured.
DEFAULT_LIMITS = store_limits(Settings())


class MovableClock:
    """The server's clock; tests move it to expire URLs without waiting."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


@dataclass
class RecordingSink:
    """Collects object-created events as the pipeline's sink would receive them."""

    events: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, event: dict[str, Any]) -> None:
        with self.lock:
            self.events.append(event)

    def for_key(self, encoded_key: str) -> list[dict[str, Any]]:
        with self.lock:
            return [e for e in self.events if e["Records"][0]["s3"]["object"]["key"] == encoded_key]


@dataclass
class RunningStore:
    base_url: str
    port: int
    root: Path
    store: LocalObjectStore
    sink: RecordingSink
    clock: MovableClock
    presigner: Presigner

    def bucket_files(self) -> list[str]:
        """Every file under the bucket and staging directories (objects and partial uploads)."""
        found = [p for p in (self.root / BUCKET).rglob("*") if p.is_file()]
        found += [p for p in (self.root / ".tmp").rglob("*") if p.is_file()]
        return sorted(str(p.relative_to(self.root)) for p in found)


class ThreadedServer:
    """The store's uvicorn setup serving an ASGI app from a background thread, on a bound socket."""

    def __init__(
        self, app: Any, limits: ConnectionLimits = DEFAULT_LIMITS, loop: str = "auto"
    ) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.port = int(self.sock.getsockname()[1])
        config = store_server_config(app, limits, lifespan="off", log_level="warning", loop=loop)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )

    def start(self) -> ThreadedServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the store server did not start within 10 s")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()


@contextmanager
def serve_store(
    root: Path,
    limits: ConnectionLimits = DEFAULT_LIMITS,
    loop: str = "auto",
    lending_threads: int = LENDING_THREADS,
) -> Iterator[RunningStore]:
    """A store on ``root`` behind its endpoint, served with ``limits`` on uvicorn's ``loop``
    (``auto``: uvloop where installed), until the block ends."""
    sink = RecordingSink()
    store = LocalObjectStore(
        root, sink, REGION, buckets=[BUCKET], durable=False, direct_writes=True
    )
    clock = MovableClock()
    app = create_store_app(
        store,
        credentials=CREDENTIALS,
        region=REGION,
        max_object_size=MAX_OBJECT_SIZE,
        limits=limits,
        cors_origins=["*"],
        clock=clock,
        lending_threads=lending_threads,
    )
    server = ThreadedServer(app, limits, loop).start()
    base_url = f"http://127.0.0.1:{server.port}"
    try:
        yield RunningStore(
            base_url=base_url,
            port=server.port,
            root=root,
            store=store,
            sink=sink,
            clock=clock,
            presigner=Presigner(base_url, REGION, ACCESS_KEY, SECRET_KEY),
        )
    finally:
        server.stop()


@pytest.fixture(scope="module")
def running_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStore]:
    with serve_store(tmp_path_factory.mktemp("objects")) as running:
        yield running


@pytest.fixture
def store_server(running_store: RunningStore) -> Iterator[RunningStore]:
    """The module's running store, with its clock back to real time after each test."""
    yield running_store
    running_store.clock.offset = timedelta()
