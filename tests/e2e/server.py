"""Running a real ``bakusoku up`` in a child process for end-to-end tests."""

from __future__ import annotations

import json
import os
import pty
import secrets
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import free_port

# The admin token of each running server, by API URL: helpers that take only the URL find it here.
_TOKENS: dict[str, str] = {}


def auth(api: str) -> dict[str, str]:
    """The Authorization header for the server at ``api`` (its admin token)."""
    return {"Authorization": f"Bearer {_TOKENS[api.rstrip('/')]}"}


def ended_execution(api: str, photo_id: str, timeout: float = 10) -> dict[str, Any]:
    """The photo's execution once it has ended (it ends right after the photo's last step)."""
    deadline = time.monotonic() + timeout
    while True:
        response = httpx.get(f"{api}/v1/photos/{photo_id}/execution", headers=auth(api), timeout=30)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        if body["execution"]["status"] != "RUNNING" or time.monotonic() > deadline:
            return body
        time.sleep(0.05)


def upload_photo(
    api: str, key: str, album: str, data: bytes, filename: str = "IMG_0042.jpg"
) -> str:
    """Upload a JPEG into ``album`` as the web app does (grant, then PUT); the photo's id."""
    grant = httpx.post(
        f"{api}/v1/uploads",
        json={
            "filename": filename,
            "content_type": "image/jpeg",
            "size": len(data),
            "album": album,
        },
        headers={"Authorization": f"Bearer {key}"},
    )
    assert grant.status_code == 201, grant.text
    upload = grant.json()["upload"]
    httpx.request(
        upload["method"], upload["url"], content=data, headers=upload["headers"], timeout=60
    ).raise_for_status()
    return str(grant.json()["photo_id"])


def read_bibs_output(api: str, photo_id: str, timeout: float = 120) -> dict[str, Any]:
    """What ReadBibs returned for the photo, once its (successful) execution has ended."""
    execution = ended_execution(api, photo_id, timeout=timeout)
    assert execution["execution"]["status"] == "SUCCEEDED", execution["execution"]
    (exited,) = [
        e
        for e in execution["events"]
        if e["type"] == "TaskStateExited" and e["details"]["name"] == "ReadBibs"
    ]
    output: dict[str, Any] = json.loads(exited["details"]["output"])
    return output


UP = [sys.executable, "-m", "bakusoku.cli", "up"]


class RunningServer:
    """``bakusoku up`` on free loopback ports with its own data directory and admin token.

    ``command`` replaces ``bakusoku up`` with a program taking the same port, data directory and
    worker options (the benchmark's baseline server); ``args`` are added after those options.
    With ``terminal``, its output goes to a pseudo-terminal (copied to the log file), as when a
    person runs it, and ``interrupt`` is Ctrl-C at that terminal.
    """

    def __init__(
        self,
        data_dir: Path,
        *,
        workers: int = 2,
        extra_env: dict[str, str] | None = None,
        command: list[str] = UP,
        args: tuple[str, ...] = (),
        terminal: bool = False,
    ):
        self.data_dir = data_dir
        self._command = command
        self._args = args
        self._terminal = terminal
        self._copier: threading.Thread | None = None
        self.port = free_port()
        self.store_port = free_port()
        self.api = f"http://127.0.0.1:{self.port}"
        self.log_path = data_dir.parent / f"{data_dir.name}-server.log"
        self._workers = workers
        self._env = {**os.environ, **(extra_env or {})}
        self.admin_token = self._env.get("BAKUSOKU_ADMIN_TOKEN") or (
            "bka_" + secrets.token_urlsafe(32)
        )
        self._env["BAKUSOKU_ADMIN_TOKEN"] = self.admin_token
        _TOKENS[self.api] = self.admin_token
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def headers(self) -> dict[str, str]:
        """Headers of an API request made with the admin token."""
        return {"Authorization": f"Bearer {self.admin_token}"}

    def create_key(
        self, service: str, *, role: str = "uploader", albums: tuple[str, ...] = ()
    ) -> str:
        """A new API key, made with ``bakusoku keys create`` on this server's data directory."""
        args = ["keys", "create", "--service", service, "--role", role, "--json"]
        for album in albums:
            args += ["--album", album]
        output = self.run_cli(*args, "--data-dir", str(self.data_dir))
        return str(json.loads(output)["key"])

    def run_cli(self, *args: str) -> str:
        """Run ``bakusoku ARGS`` against this server (``--api`` from BAKUSOKU_API); its stdout."""
        env = {**self._env, "BAKUSOKU_API": self.api}
        done = subprocess.run(
            [sys.executable, "-m", "bakusoku.cli", *args], capture_output=True, text=True, env=env
        )
        if done.returncode != 0:
            raise RuntimeError(f"bakusoku {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
        return done.stdout

    def start(self, timeout: float = 60) -> RunningServer:
        command = [
            *self._command,
            "--port",
            str(self.port),
            "--store-port",
            str(self.store_port),
            "--data-dir",
            str(self.data_dir),
            "--workers",
            str(self._workers),
            *self._args,
        ]
        if self._terminal:
            self.process = self._spawn_on_terminal(command)
        else:
            with self.log_path.open("ab") as log:
                self.process = subprocess.Popen(
                    command, stdout=log, stderr=subprocess.STDOUT, env=self._env
                )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"bakusoku up exited early:\n{self.log()}")
            try:
                if httpx.get(f"{self.api}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"bakusoku up did not become healthy:\n{self.log()}")

    def _spawn_on_terminal(self, command: list[str]) -> subprocess.Popen[bytes]:
        controller, terminal = pty.openpty()
        try:
            process = subprocess.Popen(
                command,
                stdin=terminal,
                stdout=terminal,
                stderr=terminal,
                env=self._env,
                start_new_session=True,  # its own process group, as a shell's foreground job
            )
        finally:
            os.close(terminal)
        self._copier = threading.Thread(
            target=_copy_terminal, args=(controller, self.log_path), daemon=True
        )
        self._copier.start()
        return process

    def interrupt(self, timeout: float = 30) -> int:
        """Ctrl-C at the terminal: SIGINT to the server's process group; its exit code."""
        assert self.process is not None and self._terminal
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise RuntimeError(f"bakusoku up did not stop on Ctrl-C:\n{self.log()}") from None
        if self._copier is not None:
            self._copier.join(timeout)
        return self.process.returncode

    def stop(self, timeout: float = 30) -> int:
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                raise RuntimeError(f"bakusoku up did not stop on SIGTERM:\n{self.log()}") from None
        return self.process.returncode

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-5000:]


def _copy_terminal(controller: int, path: Path) -> None:
    """Copy what is written to the terminal into ``path`` until every writer has closed it."""
    with path.open("ab") as log:
        while True:
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # EIO: the last process holding the terminal is gone
                break
            if not chunk:
                break
            log.write(chunk)
            log.flush()
    os.close(controller)
