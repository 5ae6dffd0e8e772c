"""Live events: ``GET /v1/events?album=``, a server-sent event stream of photo changes.

Each change is sent once as an ``event: photo`` whose data is the photo's public JSON and whose
id is its ``updated_at``; a client that reconnects passes ``since`` (or ``Last-Event-ID``) and
first gets what changed since then. Photos the caller's key does not reach are never sent.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

from fastapi import APIRouter, Header, Query
from fastapi.responses import StreamingResponse

from bakusoku.api.access import AccessControl, Caller, check_album
from bakusoku.api.feed import PhotoFeed, changed_photos
from bakusoku.api.routes.shared import rendition_signer
from bakusoku.api.services import ApiServices
from bakusoku.api.views import photo_view


def events_router(services: ApiServices, access: AccessControl) -> APIRouter:
    router = APIRouter()
    sign_get = rendition_signer(services)
    feed = PhotoFeed(changed_photos(services.db))

    @router.get("/v1/events")
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

    return router


def _parse_event_id(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None
