"""Photos uploaded through the real doors on a schedule: the open-model client both load profiles
of ``bakusoku loadtest`` share (a spike, a race day), and reading the album's photos back.

Photo ``i`` is due at its scheduled arrival whatever the system does; at most ``concurrency``
uploads are in flight, and an arrival that finds them all busy waits, which counts in its
acknowledgement time (measured from the scheduled arrival).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

import httpx

from bakusoku.auth.client import auth_headers
from bakusoku.imaging.samples import PhotoSource

FINAL = ("ready", "failed", "duplicate")
UNFINISHED = "pending,processing"
POLL_SECONDS = 0.5


def percentile(values: list[float], q: float) -> float:
    """The nearest-rank ``q``-th percentile of ``values`` (0 when empty)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


@dataclass
class Upload:
    photo_id: str | None = None
    acked_after: float | None = None  # seconds from the scheduled arrival to the store's 200
    service_time: float | None = None  # seconds from the upload's start (presign) to the 200
    error: str | None = None
    acked_at: float | None = None  # wall-clock time of the store's 200 (epoch seconds)


def _error_type(response: httpx.Response, stage: str) -> str:
    try:
        body = response.json()
        return f"{stage} {response.status_code} {body['error']['code']}"
    except (ValueError, KeyError, TypeError):
        pass
    text = response.text
    if "<Code>" in text:
        return f"{stage} {response.status_code} {text.split('<Code>', 1)[1].split('<', 1)[0]}"
    return f"{stage} {response.status_code}"


class Spike:
    def __init__(
        self,
        api: str,
        key: str | None,
        album: str,
        service: str | None,
        source: PhotoSource,
        retries: Counter[str],
    ) -> None:
        self.api = api
        self.headers = auth_headers(key)
        self.album = album
        self.service = service
        self.source = source
        self.retries = retries

    async def presign(self, client: httpx.AsyncClient, index: int, size: int) -> httpx.Response:
        while True:
            body: dict[str, Any] = {
                "filename": f"IMG_{index:05d}.JPG",
                "content_type": "image/jpeg",
                "size": size,
                "album": self.album,
            }
            if self.service:
                body["service"] = self.service
            response = await client.post(f"{self.api}/v1/uploads", json=body, headers=self.headers)
            if response.status_code == 429:  # the per-key limit: wait as told, as a client does
                self.retries["presign 429 rate.limited (retried)"] += 1
                await asyncio.sleep(float(response.headers.get("Retry-After", "1")))
                continue
            if (
                response.status_code == 400
                and self.service is None
                and '"service"' in response.text
            ):
                self.service = "loadtest"  # the admin token names a service
                continue
            return response

    async def upload(
        self, client: httpx.AsyncClient, index: int, arrival: float, slots: asyncio.Semaphore
    ) -> Upload:
        await asyncio.sleep(max(0.0, arrival - time.monotonic()))
        async with slots:
            began = time.monotonic()
            data = self.source.photo(index)
            try:
                grant = await self.presign(client, index, len(data))
                if grant.status_code != 201:
                    return Upload(error=_error_type(grant, "presign"))
                upload = grant.json()["upload"]
                headers = {
                    k: v for k, v in upload["headers"].items() if k.lower() != "content-length"
                }
                stored = await client.request(
                    upload["method"], upload["url"], content=data, headers=headers
                )
            except httpx.HTTPError as exc:
                return Upload(error=type(exc).__name__)
            photo_id = grant.json()["photo_id"]
            if stored.status_code != 200:
                return Upload(photo_id, error=_error_type(stored, "store"))
            now = time.monotonic()
            return Upload(
                photo_id, acked_after=now - arrival, service_time=now - began, acked_at=time.time()
            )

    async def run(self, photos: int, concurrency: int, rate: float) -> list[Upload]:
        return await self.run_arrivals(
            [i / rate if rate > 0 else 0.0 for i in range(photos)], concurrency
        )

    async def run_arrivals(self, offsets: list[float], concurrency: int) -> list[Upload]:
        """Upload photo ``i`` at ``offsets[i]`` seconds from now (an open model)."""
        slots = asyncio.Semaphore(concurrency)
        limits = httpx.Limits(
            max_connections=concurrency * 2, max_keepalive_connections=concurrency
        )
        start = time.monotonic() + 0.2
        async with httpx.AsyncClient(timeout=120, limits=limits) as client:
            tasks = [
                self.upload(client, i, start + offset, slots) for i, offset in enumerate(offsets)
            ]
            return list(await asyncio.gather(*tasks))


def album_statuses(
    client: httpx.Client, api: str, album: str, status: str | None
) -> dict[str, dict[str, Any]]:
    """Every photo of ``album`` (with ``status``, comma-separated), by id, following cursors."""
    found: dict[str, dict[str, Any]] = {}
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"album": album, "limit": 500}
        if status:
            params["status"] = status
        if cursor:
            params["cursor"] = cursor
        response = client.get(f"{api}/v1/photos", params=params)
        response.raise_for_status()
        page = response.json()
        for item in page["items"]:
            found[item["photo_id"]] = item
        cursor = page.get("next_cursor")
        if not cursor:
            return found
