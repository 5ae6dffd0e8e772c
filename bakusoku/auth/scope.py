"""What a principal may see: photos by their object key, listings, albums and executions."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from bakusoku.auth.principal import Principal
from bakusoku.db.photos import Page, page_of, page_query
from bakusoku.db.schema import photos
from bakusoku.domain.keys import owner_of, upload_scope_prefix
from bakusoku.events import object_created_records


def key_visible(principal: Principal, key: str | None, upload_prefix: str) -> bool:
    """May ``principal`` see the photo stored at ``key``? Keys no service owns: the admin token."""
    if principal.is_operator:
        return True
    owner = owner_of(key or "", upload_prefix)
    return owner is not None and principal.allows(*owner)


def photo_visible(principal: Principal, photo: dict[str, Any], upload_prefix: str) -> bool:
    return key_visible(principal, photo.get("object_key"), upload_prefix)


def photo_filter(
    principal: Principal, upload_prefix: str, album: str | None = None
) -> sa.ColumnElement[bool]:
    """A WHERE clause for the photos ``principal`` may see (in ``album``, if given)."""
    return scope_filter(principal.service, principal.albums, upload_prefix, album)


def scope_filter(
    service: str | None,
    albums: Sequence[str] | None,
    upload_prefix: str,
    album: str | None = None,
) -> sa.ColumnElement[bool]:
    """A WHERE clause for the photos of ``service`` (None: every one) in ``albums`` (None: every
    one), in ``album`` if given: what a key of that service and those albums may see."""
    clauses: list[sa.ColumnElement[bool]] = []
    if album is not None:
        clauses.append(photos.c.album == album)
    if service is not None:
        clauses.append(
            photos.c.object_key.startswith(
                upload_scope_prefix(upload_prefix, service, album), autoescape=True
            )
        )
        if albums is not None:
            clauses.append(photos.c.album.in_(list(albums)))
    return sa.and_(sa.true(), *clauses)


def list_photos(
    engine: sa.Engine,
    principal: Principal,
    upload_prefix: str,
    *,
    album: str | None,
    statuses: Sequence[str],
    cursor: str | None,
    limit: int,
    only: sa.ColumnElement[bool] | None = None,
) -> Page:
    """Photos ``principal`` may see (and ``only`` keeps), newest first, as PhotoRepository.list
    pages them."""
    query = sa.select(photos).where(photo_filter(principal, upload_prefix, album))
    if only is not None:
        query = query.where(only)
    query = page_query(query, statuses=statuses, cursor=cursor, limit=limit)
    with engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(query)]
    return page_of(rows, limit)


def execution_key(execution_input: Any) -> str | None:
    """The object key an execution of the photo pipeline processes (None: not an upload's)."""
    try:
        return object_created_records(execution_input)[0].key
    except Exception:  # another state machine's input, or a malformed one
        return None
