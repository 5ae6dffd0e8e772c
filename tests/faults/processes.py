"""The processes of one running ``bakusoku up``, found through /proc, and a photo to upload to it.

Every process of a deployment (the API and engine, the object store, each worker environment)
carries ``BAKUSOKU_DATA_DIR`` in its environment; worker environments also carry Lambda's
``AWS_LAMBDA_FUNCTION_NAME``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from bakusoku.db.engine import create_db_engine
from bakusoku.db.photos import PhotoRepository
from bakusoku.storage.local import LocalObjectStore
from tests.e2e.server import RunningServer, ended_execution

BUCKET = "bakusoku"


def _environ(pid: int) -> dict[str, str]:
    try:
        raw = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return {}
    pairs = (item.split(b"=", 1) for item in raw.split(b"\0") if b"=" in item)
    return {k.decode(errors="replace"): v.decode(errors="replace") for k, v in pairs}


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def deployment_pids(data_dir: Path, *, function: str | None = None) -> list[int]:
    """Live processes of the deployment in ``data_dir`` (only ``function``'s workers if given)."""
    wanted = str(data_dir.resolve())
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        env = _environ(int(entry.name))
        if env.get("BAKUSOKU_DATA_DIR") != wanted:
            continue
        if function is not None and env.get("AWS_LAMBDA_FUNCTION_NAME") != function:
            continue
        if _state(int(entry.name)) in ("Z", "X", ""):
            continue
        found.append(int(entry.name))
    return sorted(found)


def _state(pid: int) -> str:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    return stat.rsplit(")", 1)[1].split()[0]


def rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` in MB (0 when it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def store_pids(data_dir: Path) -> list[int]:
    return [p for p in deployment_pids(data_dir) if "bakusoku.local.store_process" in _cmdline(p)]


def kill_all(pids: list[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def until(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    """Poll ``condition`` until it returns something truthy; that value, or fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")


def upload(server: RunningServer, data: bytes, album: str) -> str:
    """Presign and PUT one JPEG; the photo id."""
    grant = httpx.post(
        f"{server.api}/v1/uploads",
        json={
            "filename": "finish.jpg",
            "content_type": "image/jpeg",
            "size": len(data),
            "album": album,
            "service": "faults",
        },
        headers=server.headers,
        timeout=30,
    )
    assert grant.status_code == 201, grant.text
    body = grant.json()
    headers = {k: v for k, v in body["upload"]["headers"].items() if k.lower() != "content-length"}
    stored = httpx.put(body["upload"]["url"], content=data, headers=headers, timeout=60)
    assert stored.status_code == 200, stored.text
    return str(body["photo_id"])


def photo(server: RunningServer, photo_id: str) -> dict[str, Any]:
    response = httpx.get(f"{server.api}/v1/photos/{photo_id}", headers=server.headers, timeout=30)
    assert response.status_code == 200, response.text
    return dict(response.json())


def wait_final(server: RunningServer, photo_id: str, timeout: float) -> dict[str, Any]:
    def final() -> dict[str, Any] | None:
        current = photo(server, photo_id)
        return current if current["status"] in ("ready", "failed", "duplicate") else None

    return dict(until(final, timeout, f"photo {photo_id} to be final"))


def stored_renditions(data_dir: Path, photo_id: str) -> list[str]:
    """Keys of every rendition object the store holds for ``photo_id``."""
    store = LocalObjectStore(data_dir / "objects")
    return sorted(
        o.key for o in store.list_objects(BUCKET, "renditions/") if f"/{photo_id}/" in o.key
    )


def recorded_renditions(database_url: str, photo_id: str) -> list[str]:
    """Keys of the renditions the photo row lists."""
    engine = create_db_engine(database_url, pool_size=1)
    try:
        row = PhotoRepository(engine).get(photo_id)
    finally:
        engine.dispose()
    return sorted(r["key"] for r in (row["renditions"] or {}).values())


def execution(server: RunningServer, photo_id: str, timeout: float = 10) -> dict[str, Any]:
    """The photo's execution once it has ended (it ends right after the photo's last step)."""
    return ended_execution(server.api, photo_id, timeout)
