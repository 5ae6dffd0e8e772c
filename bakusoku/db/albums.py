"""Albums' sales windows: when staff say an album stops selling (the face retention counts from it)."""

from __future__ import annotations

import time

import sqlalchemy as sa

from bakusoku.db.schema import album_sales, photos


class SalesWindows:
    """The only writer of ``album_sales``."""

    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine

    def set_end(self, service: str, album: str, ends_at: float | None, actor: str) -> None:
        """Record when the album's sales end; ``None`` forgets it (its last upload counts)."""
        scope = (album_sales.c.service == service, album_sales.c.album == album)
        with self._engine.begin() as conn:
            conn.execute(album_sales.delete().where(*scope))
            if ends_at is not None:
                conn.execute(
                    album_sales.insert().values(
                        service=service,
                        album=album,
                        sales_end=ends_at,
                        updated_at=time.time(),
                        updated_by=actor,
                    )
                )

    def end_of(self, service: str, album: str, album_prefix: str) -> float | None:
        """When the album's sales end: as staff set it, else the newest upload of its objects
        (keys under ``album_prefix``); None: no photo."""
        with self._engine.connect() as conn:
            recorded = conn.execute(
                sa.select(album_sales.c.sales_end).where(
                    album_sales.c.service == service, album_sales.c.album == album
                )
            ).scalar()
            if recorded is not None:
                return float(recorded)
            newest = conn.execute(
                sa.select(sa.func.max(photos.c.created_at)).where(
                    photos.c.object_key.startswith(album_prefix, autoescape=True)
                )
            ).scalar()
        return None if newest is None else float(newest)
