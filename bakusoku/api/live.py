"""The web app's server side: its pages and static files, live photo events, albums, re-drive.

``GET /v1/events?album=`` is a server-sent event stream of photo changes. One poller per album
(shared by every client watching it) reads the photos whose ``updated_at`` moved, through the
``(album, created_at)`` index, and sends each change once as an ``event: photo`` whose data is the
photo's public JSON. A client that reconnects passes ``since`` (or ``Last-Event-ID``), the last
``updated_at`` it saw, and first gets what changed since then.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from importlib import resources
from typing import Any

import anyio.to_thread
import sqlalchemy as sa
from fastapi import FastAPI, Header, Query
from fastapi.responses import HTMLResponse, StreamingResponse
from fastapi.staticfiles import StaticFiles

from bakusoku.api.access import (
    Caller,
    check_album,
    execution_not_found,
    rendition_url,
    require_role,
)
from bakusoku.api.deletion import photo_was_deleted
from bakusoku.api.errors import ApiError, error_responses
from bakusoku.api.models import ALLOWED_CONTENT_TYPES
from bakusoku.api.views import iso, photo_view
from bakusoku.auth import audit
from bakusoku.auth.scope import execution_key, photo_filter
from bakusoku.db.schema import photos as photos_table
from bakusoku.domain.keys import owner_of
from bakusoku.ops.redrive import AlreadyReprocessedError, Redriver
from bakusoku.workflow.errors import ExecutionDoesNotExistError, ExecutionNotRedrivableError

# Rows are stamped with the writer's clock before their transaction commits, so a change can land
# with an updated_at a little older than one already seen: every poll looks back this far.
LOOKBACK_SECONDS = 3.0
POLL_SECONDS = 0.25
KEEPALIVE_SECONDS = 15.0
# Streams end after this long and the client reconnects with ``since``: no stream outlives a
# shutdown by more than the server's grace period, and proxies never see an endless response.
STREAM_SECONDS = 50.0
MAX_ROWS_PER_POLL = 500

Row = dict[str, Any]
Fetch = Callable[[str | None, float], list[Row]]


def install_web_app(app: FastAPI, services: Any) -> None:
    """Register the pages, static files and the web app's API routes on ``app``."""
    settings = services.settings
    engine: sa.Engine = services.photos._engine  # the photos table, read directly for the feed

    access = app.state.access

    def sign_get(bucket: str, key: str) -> str:
        return rendition_url(services.presigner, bucket, key, settings.rendition_url_expiry_seconds)

    def fetch_changes(album: str | None, since: float) -> list[Row]:
        query = sa.select(photos_table).where(photos_table.c.updated_at > since)
        if album:
            query = query.where(photos_table.c.album == album)
        query = query.order_by(photos_table.c.updated_at).limit(MAX_ROWS_PER_POLL)
        with engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]

    feed = PhotoFeed(fetch_changes)

    app.mount(
        "/static", StaticFiles(packages=[("bakusoku.api", "static")], html=False), name="static"
    )

    @app.get("/upload", include_in_schema=False)
    def upload_page() -> HTMLResponse:
        return _page("upload.html")

    @app.get("/photos/{photo_id}", include_in_schema=False)
    def photo_page(photo_id: str) -> HTMLResponse:
        return _page("photo.html")

    @app.get("/v1/upload-policy")
    def upload_policy() -> dict[str, Any]:
        """What the browser checks before it sends a byte (the API checks it again)."""
        return {
            "max_upload_bytes": settings.max_upload_bytes,
            "content_types": list(ALLOWED_CONTENT_TYPES),
            "presign_expiry_seconds": settings.presign_expiry_seconds,
        }

    @app.get("/v1/albums")
    def list_albums(principal: Caller) -> dict[str, Any]:
        """Every album with its photo count and newest upload, most recently used first."""
        query = (
            sa.select(
                photos_table.c.album,
                sa.func.count().label("count"),
                sa.func.max(photos_table.c.created_at).label("latest"),
            )
            .where(photo_filter(principal, settings.upload_prefix))
            .group_by(photos_table.c.album)
            .order_by(sa.desc("latest"))
            .limit(500)
        )
        with engine.connect() as conn:
            rows = conn.execute(query).all()
        return {
            "items": [
                {"album": album, "count": int(count), "latest_at": iso(latest)}
                for album, count, latest in rows
            ]
        }

    redriver = Redriver(services.workflow, services.workflow.db, settings.upload_prefix)

    @app.post("/v1/executions/{name}/redrive", responses=error_responses(403, 404, 409))
    def redrive_execution(principal: Caller, name: str) -> dict[str, Any]:
        """Process a failed execution's photo again.

        An unhandled failure (a task without a Catch, a timeout) restarts from the state that
        failed (``action: redriven``). A handled one, which ended in a Fail state through a
        Catch, is reprocessed by a new execution with the same input (``action: reprocessed``,
        ``name`` the new execution); asking again while it runs starts nothing new.
        """
        try:
            key = execution_key(services.workflow.describe_execution(name).input)
        except ExecutionDoesNotExistError as exc:
            raise ApiError(404, "execution.not_found", exc.message) from None
        if not access.visible(principal, key):
            raise execution_not_found(name)
        require_role(principal, "admin")
        if photo_was_deleted(services.photos, key, settings.upload_prefix):
            raise ApiError(
                409, "photo.deleted", f"the photo of execution {name} was deleted: nothing to redo"
            )
        try:
            outcome = redriver.redrive(name)
        except ExecutionDoesNotExistError as exc:
            raise ApiError(404, "execution.not_found", exc.message) from None
        except ExecutionNotRedrivableError as exc:
            raise ApiError(409, "execution.not_redrivable", exc.message) from None
        except AlreadyReprocessedError as exc:
            raise ApiError(409, "execution.already_reprocessed", exc.message) from None
        described = outcome.execution
        access.audit.record(
            principal.actor,
            audit.EXECUTION_REDRIVE,
            service=principal.service or _service_of(key, settings.upload_prefix),
            target=name,
            details={
                "object_key": key,
                "photo_id": outcome.photo_id,
                "action": outcome.action,
                "execution": described.name,
                "started": outcome.started,
                "redrive_count": described.redrive_count,
            },
        )
        return {
            "name": described.name,
            "redriven_from": outcome.requested,
            "action": outcome.action,
            "started": outcome.started,
            "photo_id": outcome.photo_id,
            "status": described.status,
            "redrive_count": described.redrive_count,
            "start_date": iso(described.start_date.timestamp()),
            "stop_date": iso(described.stop_date.timestamp()) if described.stop_date else None,
        }

    @app.get("/v1/events")
    async def photo_events(
        principal: Caller,
        album: str | None = Query(None, max_length=64),
        since: float | None = Query(None, ge=0),
        last_event_id: str | None = Header(None),
    ) -> StreamingResponse:
        start = since if since is not None else _parse_event_id(last_event_id)
        check_album(principal, album or None)

        async def stream() -> AsyncIterator[str]:
            yield "retry: 1000\n\n"
            async for rows in feed.subscribe(album or None, start):
                if not rows:
                    yield ": keep-alive\n\n"
                    continue
                for row in rows:
                    if not access.visible(principal, row["object_key"]):
                        continue
                    view = photo_view(row, sign_get)
                    data = json.dumps(view, separators=(",", ":"))
                    yield f"id: {row['updated_at']!r}\nevent: photo\ndata: {data}\n\n"

        return StreamingResponse(
            stream(),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )


def _service_of(key: str | None, upload_prefix: str) -> str | None:
    owner = owner_of(key or "", upload_prefix)
    return owner[0] if owner else None


def _page(name: str) -> HTMLResponse:
    page = resources.files("bakusoku.api") / "static" / name
    return HTMLResponse(page.read_text(encoding="utf-8"))


def _parse_event_id(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None


class _Channel:
    """One album's poller and the queues of the clients watching it."""

    def __init__(self) -> None:
        self.queues: set[asyncio.Queue[list[Row]]] = set()
        self.task: asyncio.Task[None] | None = None


class PhotoFeed:
    """Photo changes per album, read by one poller per watched album and fanned out to clients."""

    def __init__(
        self,
        fetch: Fetch,
        *,
        poll_seconds: float = POLL_SECONDS,
        lookback_seconds: float = LOOKBACK_SECONDS,
        keepalive_seconds: float = KEEPALIVE_SECONDS,
        stream_seconds: float = STREAM_SECONDS,
    ) -> None:
        self._fetch = fetch
        self._poll = poll_seconds
        self._lookback = lookback_seconds
        self._keepalive = keepalive_seconds
        self._stream = stream_seconds
        self._channels: dict[str | None, _Channel] = {}

    async def subscribe(self, album: str | None, since: float | None) -> AsyncIterator[list[Row]]:
        """Batches of changed rows (an empty batch is a keep-alive) until the stream's time is up.

        With ``since``, rows changed after it come first; then every change from now on.
        """
        queue: asyncio.Queue[list[Row]] = asyncio.Queue()
        channel = self._channels.setdefault(album, _Channel())
        channel.queues.add(queue)
        if channel.task is None or channel.task.done():
            channel.task = asyncio.create_task(self._run(album, channel))
        try:
            if since is not None:
                rows = await anyio.to_thread.run_sync(self._fetch, album, since)
                if rows:
                    yield rows
            deadline = time.monotonic() + self._stream
            while (left := deadline - time.monotonic()) > 0:
                try:
                    yield await asyncio.wait_for(queue.get(), min(self._keepalive, left))
                except TimeoutError:
                    if deadline - time.monotonic() > 0:
                        yield []
        finally:
            channel.queues.discard(queue)
            if not channel.queues and self._channels.get(album) is channel:
                del self._channels[album]
                if channel.task is not None:
                    channel.task.cancel()

    async def _run(self, album: str | None, channel: _Channel) -> None:
        cursor = time.time()
        seen: dict[str, float] = {}
        while channel.queues:
            await asyncio.sleep(self._poll)
            fresh: list[Row] = []
            since = cursor - self._lookback
            try:
                for _ in range(20):  # a burst bigger than one page is read page by page
                    rows = await anyio.to_thread.run_sync(self._fetch, album, since)
                    for row in rows:
                        if seen.get(row["photo_id"]) != row["updated_at"]:
                            fresh.append(row)
                        seen[row["photo_id"]] = row["updated_at"]
                        cursor = max(cursor, row["updated_at"])
                    if len(rows) < MAX_ROWS_PER_POLL:
                        break
                    since = rows[-1]["updated_at"]
            except Exception:  # the database may be briefly unavailable; try again next tick
                pass
            horizon = cursor - 2 * self._lookback
            for photo_id in [p for p, at in seen.items() if at < horizon]:
                del seen[photo_id]
            if fresh:
                for queue in list(channel.queues):
                    queue.put_nowait(fresh)
