"""The local object store's HTTP endpoint in its own process(es), like S3: off the API's path.

Uploads never share an interpreter with the API, the workflow engine or the trigger, so a burst of
uploads is acknowledged at the speed of the network and the disk. Each stored object's event goes
to the database outbox, and a datagram wakes the trigger in the main process; other datagrams tell
it while upload bodies arrive (``local.upload_priority``). Every connection is bounded by the
``store_*`` limits of the settings (``storage.http_limits``).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from typing import Any

import uvicorn
from uvicorn.supervisors import Multiprocess

from bakusoku.config import Settings, ensure_credentials, load_settings
from bakusoku.db.engine import create_db_engine
from bakusoku.db.outbox import GroupCommitOutbox, ObjectEventOutbox
from bakusoku.errors import BakusokuError
from bakusoku.faults import fault_control
from bakusoku.local.child_env import child_settings_environment, inherited_environment
from bakusoku.local.ports import port_open
from bakusoku.local.upload_priority import UploadSignal
from bakusoku.ops.logs import Redactor, configure_logging
from bakusoku.pipeline.adapters import local_store_with_outbox
from bakusoku.runtime.wakeup import WakeupSender
from bakusoku.storage.http_limits import ConnectionLimits, store_server_config
from bakusoku.storage.server import create_store_app

WAKE_PORT_ENV = "BAKUSOKU_TRIGGER_WAKE_PORT"
UPLOAD_PORT_ENV = "BAKUSOKU_UPLOAD_SIGNAL_PORT"


class StoreProcessError(BakusokuError):
    """Raised when the object store's process cannot start or stops unexpectedly."""

    code = "storage.unavailable"


def store_limits(settings: Settings) -> ConnectionLimits:
    """The connection limits of the store's port, from the ``store_*`` settings."""
    return ConnectionLimits(
        header_timeout_seconds=settings.store_header_timeout_seconds,
        body_timeout_seconds=settings.store_body_timeout_seconds,
        body_min_bytes_per_second=settings.store_body_min_bytes_per_second,
        idle_timeout_seconds=settings.store_idle_timeout_seconds,
        max_connections=settings.store_max_connections,
        max_header_bytes=settings.store_max_header_bytes,
    )


def create_app() -> Any:
    """The store's ASGI app, configured from ``BAKUSOKU_*`` environment variables (uvicorn factory)."""
    settings = ensure_credentials(load_settings())
    _configure_logging(settings)  # in each of uvicorn's worker processes too
    outbox = GroupCommitOutbox(
        ObjectEventOutbox(
            create_db_engine(  # each event is synced before its upload is acknowledged
                settings.effective_database_url,
                pool_size=2,
                faults=fault_control(settings),
                durable=True,
            )
        )
    )
    wake_port = int(os.environ.get(WAKE_PORT_ENV, "0"))
    wake = WakeupSender(wake_port) if wake_port else None
    # Uploads go to disk past the page cache (they are read once, later, by the pipeline), and
    # concurrent ones share a syncfs before their events are recorded.
    store = local_store_with_outbox(
        settings, outbox, wake=wake, direct_writes=True, group_sync=True
    )
    upload_port = int(os.environ.get(UPLOAD_PORT_ENV, "0"))
    return create_store_app(
        store,
        credentials={settings.access_key_id: settings.secret_access_key},
        region=settings.region,
        max_object_size=settings.max_upload_bytes,
        limits=store_limits(settings),
        on_upload=UploadSignal(WakeupSender(upload_port)) if upload_port else None,
    )


def main() -> None:
    """Serve the store until SIGTERM (run by :class:`StoreServerProcess`)."""
    settings = load_settings()
    _configure_logging(ensure_credentials(settings))
    config = store_server_config(
        "bakusoku.local.store_process:create_app",
        store_limits(settings),
        factory=True,
        host=settings.host,
        port=settings.effective_store_port,
        workers=settings.store_processes if settings.store_processes > 1 else None,
        log_level="warning",
        log_config=None,  # uvicorn's own lines go through the JSON, redacted root logger
        access_log=False,
        backlog=2048,
        timeout_graceful_shutdown=5,
    )
    # Ctrl-C at a terminal reaches the whole process group, this process too: uvicorn shuts down
    # gracefully and then raises the signal again, whose traceback would land on the person's
    # terminal. `bakusoku up` stops the store itself, so the interrupt ends it quietly.
    with contextlib.suppress(KeyboardInterrupt):
        if config.workers > 1:  # as uvicorn.run does, with our protocol and limits in the config
            Multiprocess(config, sockets=[config.bind_socket()]).run()
        else:
            uvicorn.Server(config).run()


def _configure_logging(settings: Settings) -> None:
    """Log lines as the main process writes them: JSON (unless ``log_format: text``), redacted."""
    configure_logging(
        Redactor([settings.secret_access_key]), json_lines=settings.log_format != "text"
    )


class StoreServerProcess:
    """Starts, watches and stops the store's process for ``bakusoku up``."""

    def __init__(self, settings: Settings, wake_port: int, upload_port: int = 0) -> None:
        """``wake_port``: where a stored object's datagram goes (0: none); ``upload_port``: where
        upload activity's go (0: none)."""
        self._settings = settings
        self._env = {  # the store needs no webhook secret nor the admin token
            **inherited_environment(),
            **child_settings_environment(settings),
            WAKE_PORT_ENV: str(wake_port),
            UPLOAD_PORT_ENV: str(upload_port),
        }
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        """The serving process's id while it runs (its workers, if any, are its children)."""
        return self._process.pid if self._process is not None else None

    def start(self, timeout: float = 30.0) -> None:
        command = [sys.executable, "-m", "bakusoku.local.store_process"]
        self._process = subprocess.Popen(command, env=self._env)
        deadline = time.monotonic() + timeout
        while not port_open(self._settings.host, self._settings.effective_store_port):
            if self._process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise StoreProcessError(
                    f"the object store could not start on port "
                    f"{self._settings.effective_store_port}: is the port in use? "
                    "Choose another with --store-port."
                )
            time.sleep(0.05)

    def stop(self, timeout: float = 10.0) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


if __name__ == "__main__":
    main()
