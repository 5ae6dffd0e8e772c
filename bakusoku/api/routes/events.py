"""Live events: ``GET /v1/events?album=``, photo changes streamed or read page by page.

Streamed (where the host can hold a response open, ``ApiServices.stream_events``) as server-sent
events: each change is sent once as an ``event: photo`` whose data is the photo's public JSON and
whose id is its ``updated_at``; a client that reconnects passes ``since`` (or ``Last-Event-ID``)
and first gets what changed since then. With a ``cursor``, or where responses are buffered
(API Gateway and Lambda), the answer is JSON at once: a page of changes, the next ``cursor`` and
how long to wait before asking again. The web app follows whichever the server answers. Photos
the caller's key does not reach are never sent.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

import anyio.to_thread
from fastapi import APIRouter, Header, Query
from fastapi.responses import JSONResponse, Response, StreamingResponse

from bakusoku.api.access import AccessControl, Caller, check_album
from bakusoku.api.feed import (
    LOOKBACK_SECONDS,
    POLL_AFTER_SECONDS,
    FeedScope,
    PhotoFeed,
    changed_photos,
    changes_page,
)
from bakusoku.api.routes.shared import rendition_signer, transform_signer
from bakusoku.api.services import ApiServices
from bakusoku.api.strict_requests import StrictRoute
from bakusoku.api.views import photo_view
from bakusoku.auth.principal import Principal

_ANSWERS: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "server-sent `photo` events, or (with `cursor`, or where the host cannot"
        " stream) JSON: `items`, the next `cursor`, `more`, `poll_after_ms`",
        "content": {"text/event-stream": {}, "application/json": {}},
    }
}


def events_router(services: ApiServices, access: AccessControl) -> APIRouter:
    router = APIRouter(route_class=StrictRoute)
    sign_get = rendition_signer(services)
    sign_transform = transform_signer(services.settings)
    fetch = changed_photos(services.db, services.settings.upload_prefix)
    feed = PhotoFeed(fetch)

    def visible_views(principal: Principal, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [
            photo_view(row, sign_get, sign_transform)
            for row in rows
            if access.visible(principal, row["object_key"])
        ]

    @router.get("/v1/events", response_model=None, responses=_ANSWERS)
    async def photo_events(
        principal: Caller,
        album: str | None = Query(None, max_length=64),
        # times are finite: an infinite cursor cannot be answered in JSON, nor waited for
        since: float | None = Query(None, ge=0, allow_inf_nan=False),
        cursor: float | None = Query(
            None, ge=0, allow_inf_nan=False, description="`cursor` of the previous page"
        ),
        last_event_id: str | None = Header(None),
    ) -> Response:
        start = since if since is not None else _parse_event_id(last_event_id)
        check_album(principal, album or None)
        scope = FeedScope.of(principal, album or None)
        if cursor is not None or not services.stream_events:
            now = time.time()
            after = cursor if cursor is not None else start
            if after is None:  # from now on, as a new stream would start
                after = now - LOOKBACK_SECONDS
            page = await anyio.to_thread.run_sync(changes_page, fetch, scope, after, now)
            return JSONResponse(
                {
                    "items": visible_views(principal, page.rows),
                    "cursor": page.cursor,
                    "more": page.more,
                    "poll_after_ms": 0 if page.more else int(POLL_AFTER_SECONDS * 1000),
                },
                headers={"Cache-Control": "no-store"},
            )
        # Read before the stream starts: a database that is down answers 503, not a dead stream.
        first = await feed.changed_since(scope, start if start is not None else time.time())

        async def stream() -> AsyncIterator[str]:
            yield "retry: 1000\n\n"
            async for rows in feed.subscribe(scope, first):
                if not rows:
                    yield ": keep-alive\n\n"
                    continue
                for row in rows:
                    if not access.visible(principal, row["object_key"]):
                        continue
                    data = json.dumps(
                        photo_view(row, sign_get, sign_transform), separators=(",", ":")
                    )
                    yield f"id: {row['updated_at']!r}\nevent: photo\ndata: {data}\n\n"

        return StreamingResponse(
            stream(),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    return router


def _parse_event_id(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None
