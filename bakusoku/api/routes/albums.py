"""Albums: every album the caller reaches, with its photo count and newest upload."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter

from bakusoku.api.access import Caller
from bakusoku.api.services import ApiServices
from bakusoku.api.strict_requests import StrictRoute
from bakusoku.api.views import iso
from bakusoku.auth.scope import photo_filter
from bakusoku.db.schema import photos as photos_table

MAX_ALBUMS = 500


def albums_router(services: ApiServices) -> APIRouter:
    router = APIRouter(route_class=StrictRoute)
    upload_prefix = services.settings.upload_prefix

    @router.get("/v1/albums")
    def list_albums(principal: Caller) -> dict[str, Any]:
        """Every album with its photo count and newest upload, most recently used first."""
        query = (
            sa.select(
                photos_table.c.album,
                sa.func.count().label("count"),
                sa.func.max(photos_table.c.created_at).label("latest"),
            )
            .where(photo_filter(principal, upload_prefix))
            .group_by(photos_table.c.album)
            .order_by(sa.desc("latest"))
            .limit(MAX_ALBUMS)
        )
        with services.db.connect() as conn:
            rows = conn.execute(query).all()
        return {
            "items": [
                {"album": album, "count": int(count), "latest_at": iso(latest)}
                for album, count, latest in rows
            ]
        }

    return router
