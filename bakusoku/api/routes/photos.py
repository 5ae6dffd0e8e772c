"""Photos: listing, one photo, its execution, its original (admins), and deleting it (admins).

Every answer goes through the caller's scope: a photo the key does not reach answers exactly as
a missing one does.
"""

from __future__ import annotations

import dataclasses
import posixpath
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Query
from fastapi.responses import Response

from bakusoku.api.access import (
    MAX_PRESIGN_EXPIRY_SECONDS,
    AccessControl,
    Caller,
    check_album,
    execution_not_found,
    require_role,
)
from bakusoku.api.deletion import delete_photo
from bakusoku.api.errors import ApiError, error_responses
from bakusoku.api.quoting import WORD, repeatable
from bakusoku.api.routes.faces import photo_album
from bakusoku.api.routes.shared import rendition_signer, transform_signer, visible_photo
from bakusoku.api.schemas import OriginalGrant, PhotoPage, PhotoView, answers
from bakusoku.api.services import ApiServices
from bakusoku.api.strict_requests import StrictRoute
from bakusoku.api.views import iso, photo_view
from bakusoku.auth import audit
from bakusoku.auth.scope import list_photos as list_visible_photos
from bakusoku.db.photos import STATUSES
from bakusoku.domain.keys import owner_of
from bakusoku.races.repository import PhotoBibs, RaceRef
from bakusoku.races.review import BibReview
from bakusoku.utc import iso_seconds
from bakusoku.workflow.errors import ExecutionDoesNotExistError


def photos_router(services: ApiServices, access: AccessControl) -> APIRouter:
    router = APIRouter(route_class=StrictRoute)
    settings = services.settings
    sign_get = rendition_signer(services)
    sign_transform = transform_signer(services.settings)

    @router.get(
        "/v1/photos/{photo_id}",
        response_model=None,
        responses=answers(PhotoView) | error_responses(404),
    )
    def get_photo(principal: Caller, photo_id: str) -> dict[str, Any]:
        return photo_view(
            visible_photo(services, access, photo_id, principal), sign_get, sign_transform
        )

    @router.delete(
        "/v1/photos/{photo_id}",
        summary="Delete Photo",
        status_code=204,
        response_class=Response,
        responses=error_responses(403, 404, 409, 503),
    )
    def delete_photo_route(principal: Caller, photo_id: str) -> Response:
        """Delete the photo for good: its original, every rendition and its row; admin keys only;
        audited. A photo still being uploaded or processed answers 409: try again once settled.
        """
        photo = visible_photo(services, access, photo_id, principal)
        require_role(principal, "admin")
        if services.store is None:
            raise ApiError(
                503,
                "storage.unavailable",
                "this deployment's API has no object store to delete from; nothing was deleted",
            )
        deleted = delete_photo(
            photo,
            services.store,
            services.photos,
            rendition_prefix=settings.rendition_prefix,
            upload_window_seconds=MAX_PRESIGN_EXPIRY_SECONDS,
        )
        # Its face vectors go with it (its face cuts were under its rendition prefix).
        faces = services.faces.erase_photo(photo_album(photo, settings.upload_prefix), photo_id)
        # So do the bibs read or tagged in it and staff's decision on it (a race's photo).
        owner = owner_of(photo["object_key"], settings.upload_prefix)
        if owner is not None:
            race = RaceRef(*owner)
            PhotoBibs(services.db).forget_photo(race, photo_id)
            BibReview(services.db, settings.upload_prefix).forget_photo(race, photo_id)
        access.audit.record(
            principal.actor,
            audit.PHOTO_DELETE,
            service=_service_of(photo, access),
            target=photo["object_key"],
            details={
                "photo_id": photo_id,
                "album": photo["album"],
                "status": deleted.status,
                "objects": len(deleted.objects),
                "faces": len(faces.face_ids),
            },
        )
        return Response(status_code=204)

    @router.get(
        "/v1/photos", response_model=None, responses=answers(PhotoPage) | error_responses(400, 404)
    )
    def list_photos(
        principal: Caller,
        album: str | None = None,
        status: str | None = None,
        cursor: str | None = None,
        limit: int = Query(50, ge=1, le=500),
    ) -> dict[str, Any]:
        statuses = _parse_statuses(status)
        check_album(principal, album or None)
        page = list_visible_photos(
            services.db,
            principal,
            settings.upload_prefix,
            album=album or None,
            statuses=statuses,
            cursor=cursor,
            limit=limit,
        )
        return {
            "items": [photo_view(p, sign_get, sign_transform) for p in page.items],
            "next_cursor": page.next_cursor,
        }

    @router.get("/v1/photos/{photo_id}/execution", responses=error_responses(404))
    def get_photo_execution(principal: Caller, photo_id: str) -> dict[str, Any]:
        photo = visible_photo(services, access, photo_id, principal)
        name = photo["execution_name"]
        if not name:
            raise ApiError(
                404,
                "execution.not_found",
                f"photo {photo_id} has no execution yet: its upload has not been stored "
                "(status is still pending)",
            )
        try:
            described = services.executions.describe_execution(name)
            events = services.executions.get_execution_history(name)
        except ExecutionDoesNotExistError:  # its history outlived the retention period
            raise execution_not_found(name) from None
        return {"execution": _jsonable(described), "events": [_jsonable(e) for e in events]}

    @router.get(
        "/v1/photos/{photo_id}/original",
        response_model=None,
        responses=answers(OriginalGrant) | error_responses(403, 404, 409),
    )
    def download_original(principal: Caller, photo_id: str) -> dict[str, Any]:
        """A signed GET of the photo as uploaded, valid for minutes: admin keys only; audited."""
        photo = visible_photo(services, access, photo_id, principal)
        require_role(principal, "admin")
        if photo["status"] == "pending":
            raise ApiError(
                409, "photo.not_uploaded", f"photo {photo_id} has no bytes yet: it is still pending"
            )
        expires_in = settings.rendition_url_expiry_seconds
        ext = posixpath.splitext(photo["object_key"])[1] or ".bin"
        url = services.presigner.presign_get(
            photo["bucket"],
            photo["object_key"],
            expires_in=expires_in,
            response_content_type=photo["content_type"] or "application/octet-stream",
            response_content_disposition=f'attachment; filename="{photo_id}{ext}"',
        )
        access.audit.record(
            principal.actor,
            audit.ORIGINAL_DOWNLOAD,
            service=_service_of(photo, access),
            target=photo["object_key"],
            details={"photo_id": photo_id},
        )
        expires_at = datetime.now(UTC) + timedelta(seconds=expires_in)
        return {
            "photo_id": photo_id,
            "url": url,
            "expires_at": iso_seconds(expires_at),
        }

    return router


def _service_of(photo: dict[str, Any], access: AccessControl) -> str | None:
    owner = owner_of(photo["object_key"], access.upload_prefix)
    return owner[0] if owner else None


def _parse_statuses(status: str | None) -> list[str]:
    if not status:
        return []
    statuses = [s.strip() for s in status.split(",") if s.strip()]
    unknown = [s for s in statuses if s not in STATUSES]
    if unknown:
        named = f"status {unknown[0]!r}" if repeatable(unknown[0], WORD) else "a status given"
        raise ApiError(
            400,
            "request.invalid",
            f"{named} is unknown; use one of {', '.join(STATUSES)}",
            "status",
        )
    return statuses


def _jsonable(value: Any) -> Any:
    """An execution record as JSON: dataclasses as objects, times as ISO-8601 UTC."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {k: _jsonable(v) for k, v in dataclasses.asdict(value).items()}
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime):
        return iso(value.timestamp())
    return value
