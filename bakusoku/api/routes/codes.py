"""Album codes, for staff: share an album with parents, list its codes, withdraw one.

Admin keys of the album's service (and the admin token, naming the service) manage codes; a key
that does not reach the album answers as for a missing album. A code is shown once, when it is
made; a revoked code ends every parent's session made with it at once.
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field, field_validator

from bakusoku.api.access import (
    AccessControl,
    Caller,
    album_not_found,
    check_album,
    require_role,
)
from bakusoku.api.errors import ApiError, error_responses
from bakusoku.api.models import has_unprintable
from bakusoku.api.quoting import repeatable
from bakusoku.api.services import ApiServices
from bakusoku.api.strict_requests import StrictRoute
from bakusoku.auth import audit as actions
from bakusoku.auth.codes import AlbumCode, code_not_found, parse_expiry
from bakusoku.auth.errors import CodeNotFoundError, InvalidCodeSpecError
from bakusoku.auth.principal import Principal
from bakusoku.domain.keys import ALBUM_PATTERN, is_service_name


class ShareRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    expires: str | None = Field(
        default=None,
        max_length=40,
        description="when the code stops working: 12h, 30d, 2w from now, or an ISO date or"
        " time; default the setting album_code_days",
    )
    note: str | None = Field(
        default=None, max_length=200, description="who or what the code is for"
    )
    service: str | None = Field(
        default=None, max_length=32, description="with the admin token only: the album's service"
    )

    @field_validator("note")
    @classmethod
    def _printable(cls, value: str | None) -> str | None:
        """Printed to operators' terminals (``bakusoku albums codes``) and kept in the audit log:
        an escape sequence or a line break there would rewrite what they read."""
        if value is not None and has_unprintable(value):
            raise ValueError("must not contain control or invisible formatting characters")
        return value


def _service(principal: Principal, given: str | None) -> str:
    if principal.is_operator:
        if not given or not is_service_name(given):
            raise ApiError(
                400,
                "request.invalid",
                "service: the admin token must name the album's service (1-32 lower-case letters,"
                " digits and hyphens)",
                "service",
            )
        return given
    return str(principal.service)


def _album(principal: Principal, album: str) -> str:
    """An album the caller reaches, named as albums are (never a key or code pasted in its
    place): else 404, as for a missing album."""
    if not repeatable(album, ALBUM_PATTERN):
        raise album_not_found(album)
    check_album(principal, album)
    return album


def codes_router(services: ApiServices, access: AccessControl) -> APIRouter:
    router = APIRouter(route_class=StrictRoute)
    settings = services.settings
    codes = access.parents.codes

    @router.post(
        "/v1/albums/{album}/codes",
        summary="Share An Album With Parents",
        status_code=201,
        responses=error_responses(400, 403, 404),
    )
    def share_album(
        principal: Caller, album: str, body: ShareRequest | None = None
    ) -> dict[str, Any]:
        """A new album code for parents; the code is in this answer only (it is kept hashed)."""
        body = body or ShareRequest()
        require_role(principal, "admin")
        album = _album(principal, album)
        service = _service(principal, body.service)
        try:
            expires_at = parse_expiry(
                body.expires,
                now=time.time(),
                default_days=settings.album_code_days,
                max_days=settings.album_code_max_days,
            )
            record, code = codes.create(
                service=service,
                album=album,
                expires_at=expires_at,
                created_by=principal.actor,
                note=body.note,
            )
        except InvalidCodeSpecError as exc:
            raise ApiError(400, exc.code, exc.message, "expires") from exc
        access.audit.record(
            principal.actor,
            actions.CODE_CREATE,
            service=service,
            target=record.code_id,
            details={"album": album, "expires_at": record.expires_at, "note": body.note},
        )
        return {**record.to_json(), "code": code, "page": "/p/"}

    @router.get(
        "/v1/albums/{album}/codes",
        summary="An Album's Codes",
        responses=error_responses(400, 403, 404),
    )
    def album_codes(
        principal: Caller,
        album: str,
        all: bool = Query(False, description="also expired and revoked codes"),
        service: str | None = Query(
            None, max_length=32, description="admin token only: one service's (default: all)"
        ),
    ) -> dict[str, Any]:
        require_role(principal, "admin")
        album = _album(principal, album)
        scope = service if principal.is_operator else principal.service
        found = codes.list(service=scope, album=album, include_inactive=all)
        now = time.time()
        return {"items": [c.to_json(now) for c in found]}

    @router.delete(
        "/v1/codes/{code_id}",
        summary="Revoke An Album Code",
        responses=error_responses(403, 404),
    )
    def revoke_code(principal: Caller, code_id: str) -> dict[str, Any]:
        """Withdraw a code at once: it opens nothing more, and its parents' sessions end."""
        require_role(principal, "admin")
        record = _reachable(principal, code_id)
        revoked = codes.revoke(record.code_id, revoked_by=principal.actor)
        access.parents.revoked(record.code_id)
        if record.revoked_at is None:
            access.audit.record(
                principal.actor,
                actions.CODE_REVOKE,
                service=record.service,
                target=record.code_id,
                details={"album": record.album},
            )
        return revoked.to_json()

    def _reachable(principal: Principal, code_id: str) -> AlbumCode:
        """The code, if the caller's key reaches its album; another service's (or album's)
        answers byte for byte as a missing one."""
        code_id = code_id[:8].upper()
        try:
            record = codes.get(code_id)
            if not principal.allows(record.service, record.album):
                raise code_not_found(code_id)
        except CodeNotFoundError as exc:
            raise ApiError(404, exc.code, exc.message) from None
        return record

    return router
