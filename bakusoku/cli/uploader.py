"""Uploading files through presigned URLs, several at a time, and waiting for their processing."""

from __future__ import annotations

import mimetypes
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bakusoku.auth.client import auth_headers
from bakusoku.errors import BakusokuError

IMAGE_SUFFIXES = {
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".webp": "image/webp",
    ".heic": "image/heic",
    ".heif": "image/heic",
}


class UploadError(BakusokuError):
    """Raised when a file could not be uploaded; the message names the file and the reason."""

    code = "upload.failed"


@dataclass
class UploadResult:
    path: Path
    photo_id: str | None = None
    error: str | None = None


@dataclass
class WaitSummary:
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    failed: list[dict[str, Any]] = field(default_factory=list)


def find_files(paths: Iterable[Path]) -> list[Path]:
    """Image files among ``paths``; folders are walked recursively, hidden files skipped."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(
                p
                for p in sorted(path.rglob("*"))
                if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in IMAGE_SUFFIXES
            )
        elif path.is_file():
            found.append(path)
        else:
            raise UploadError(f"{path} does not exist")
    return found


def content_type_of(path: Path) -> str:
    return (
        IMAGE_SUFFIXES.get(path.suffix.lower())
        or mimetypes.guess_type(path.name)[0]
        or ("application/octet-stream")
    )


def _api_error(response: httpx.Response) -> str:
    try:
        error = response.json()["error"]
        return f"{error['code']}: {error['message']}"
    except (ValueError, KeyError, TypeError):
        return f"HTTP {response.status_code}: {response.text[:200]}"


def upload_one(
    client: httpx.Client, api: str, path: Path, album: str, key: str | None = None
) -> UploadResult:
    """Presign with the API (with ``key``), then PUT the bytes straight to the object store."""
    data = path.read_bytes()
    request = {
        "filename": path.name,
        "content_type": content_type_of(path),
        "size": len(data),
        "album": album,
    }
    response = client.post(f"{api}/v1/uploads", json=request, headers=auth_headers(key))
    if response.status_code != 201:
        return UploadResult(path, error=_api_error(response))
    grant = response.json()
    upload = grant["upload"]
    headers = {k: v for k, v in upload["headers"].items() if k.lower() != "content-length"}
    stored = client.request(upload["method"], upload["url"], content=data, headers=headers)
    if stored.status_code not in (200, 201, 204):
        return UploadResult(path, grant["photo_id"], f"store refused: {stored.text[:300]}")
    return UploadResult(path, grant["photo_id"])


def upload_all(
    files: list[Path],
    *,
    api: str,
    album: str,
    concurrency: int = 8,
    on_done: Callable[[UploadResult, int], None] | None = None,
    key: str | None = None,
) -> list[UploadResult]:
    """Upload ``files`` with ``concurrency`` workers; ``on_done(result, size)`` after each file."""
    limits = httpx.Limits(
        max_connections=concurrency * 2, max_keepalive_connections=concurrency * 2
    )
    with httpx.Client(timeout=120, limits=limits) as client:

        def task(path: Path) -> UploadResult:
            try:
                result = upload_one(client, api, path, album, key)
            except (httpx.HTTPError, OSError) as exc:
                result = UploadResult(path, error=f"{type(exc).__name__}: {exc}")
            if on_done:
                on_done(result, path.stat().st_size if path.exists() else 0)
            return result

        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            return list(pool.map(task, files))


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def wait_until_processed(
    api: str,
    photo_ids: list[str],
    *,
    timeout: float = 3600,
    on_progress: Callable[[int], None] | None = None,
    key: str | None = None,
) -> WaitSummary:
    """Poll until every photo is ``ready`` or ``failed``; returns counts per status."""
    started = time.monotonic()
    pending = set(photo_ids)
    final: dict[str, dict[str, Any]] = {}
    with httpx.Client(timeout=30, headers=auth_headers(key)) as client:
        while pending and time.monotonic() - started < timeout:
            for photo_id in list(pending):
                response = client.get(f"{api}/v1/photos/{photo_id}")
                if response.status_code == 200 and response.json()["status"] in ("ready", "failed"):
                    final[photo_id] = response.json()
                    pending.discard(photo_id)
            if on_progress:
                on_progress(len(final))
            if pending:
                time.sleep(0.25)
    summary = WaitSummary(seconds=time.monotonic() - started)
    for photo in final.values():
        summary.counts[photo["status"]] = summary.counts.get(photo["status"], 0) + 1
        if photo["status"] == "failed":
            summary.failed.append(photo)
    if pending:
        summary.counts["unfinished"] = len(pending)
    return summary
