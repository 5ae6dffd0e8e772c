"""Uploads: the upload policy the browser checks, and presigned uploads (``POST /v1/uploads``).

An upload grant makes the photo's ``pending`` row and a presigned PUT of its original; the bytes
go straight to the object store, whose event starts the photo's workflow.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter

from bakusoku.api.access import (
    AccessControl,
    Caller,
    album_not_found,
    check_album,
    require_role,
)
from bakusoku.api.errors import ApiError, error_responses
from bakusoku.api.models import ALLOWED_CONTENT_TYPES, UploadRequest
from bakusoku.api.quoting import MEDIA_TYPE, repeatable
from bakusoku.api.schemas import UploadGrant, answers
from bakusoku.api.services import ApiServices
from bakusoku.api.strict_requests import StrictRoute
from bakusoku.auth.principal import Principal
from bakusoku.config import Settings
from bakusoku.domain.keys import upload_key
from bakusoku.utc import iso_seconds


def uploads_router(services: ApiServices, access: AccessControl) -> APIRouter:
    router = APIRouter(route_class=StrictRoute)
    settings = services.settings

    @router.post(
        "/v1/uploads",
        status_code=201,
        response_model=None,
        responses=answers(UploadGrant, 201) | error_responses(400, 403, 404, 429),
    )
    def create_upload(principal: Caller, body: UploadRequest) -> dict[str, Any]:
        _check_upload_request(body, settings)
        service = _upload_service(body, principal)
        check_album(principal, body.album)
        require_role(principal, "uploader")
        _check_rate(access, principal)
        photo_id = str(uuid.uuid4())
        key = upload_key(
            settings.upload_prefix, body.album, photo_id, body.content_type, service=service
        )
        services.photos.create_pending(
            photo_id=photo_id,
            album=body.album,
            bucket=settings.bucket,
            object_key=key,
            filename=body.filename,
            content_type=body.content_type,
            declared_size=body.size,
        )
        presigned = services.presigner.presign_put(
            settings.bucket,
            key,
            content_type=body.content_type,
            content_length=body.size,
            expires_in=body.expires_in or settings.presign_expiry_seconds,
        )
        return {
            "photo_id": photo_id,
            "key": key,
            "upload": {
                "method": presigned.method,
                "url": presigned.url,
                "headers": presigned.headers,
            },
            "expires_at": iso_seconds(presigned.expires_at),
        }

    @router.get("/v1/upload-policy")
    def upload_policy() -> dict[str, Any]:
        """What the browser checks before it sends a byte (the API checks it again)."""
        return {
            "max_upload_bytes": settings.max_upload_bytes,
            "content_types": list(ALLOWED_CONTENT_TYPES),
            "presign_expiry_seconds": settings.presign_expiry_seconds,
        }

    return router


def _check_upload_request(body: UploadRequest, settings: Settings) -> None:
    if body.content_type not in ALLOWED_CONTENT_TYPES:
        named = (
            f"content_type {body.content_type!r}"
            if repeatable(body.content_type, MEDIA_TYPE)
            else "the content_type given"
        )
        raise ApiError(
            400,
            "upload.unsupported_type",
            f"{named} is not accepted; use one of {', '.join(ALLOWED_CONTENT_TYPES)}",
            "content_type",
        )
    if body.size > settings.max_upload_bytes:
        raise ApiError(
            400,
            "upload.too_large",
            f"size {body.size} bytes is over the {settings.max_upload_bytes}-byte limit",
            "size",
        )


def _upload_service(body: UploadRequest, principal: Principal) -> str:
    """The service an upload goes into: the key's own; the admin token names it."""
    if principal.service is not None:
        if body.service is not None and body.service != principal.service:
            raise album_not_found(body.album)  # as an album of its own it does not reach
        return principal.service
    if body.service is None:
        raise ApiError(
            400,
            "request.invalid",
            'service: the admin token uploads into a named service; add "service"',
            "service",
        )
    return body.service


def _check_rate(access: AccessControl, principal: Principal) -> None:
    retry_after = access.limiter.acquire(principal.key_id)
    if retry_after is not None:
        raise ApiError(
            429,
            "rate.limited",
            f"too many upload requests with this key; try again in {retry_after} s",
            headers={"Retry-After": str(retry_after)},
        )
