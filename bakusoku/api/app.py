"""The HTTP API: presigned uploads, photo status and listings, execution histories."""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from typing import Any

from fastapi import FastAPI, Query
from fastapi.responses import HTMLResponse, Response

from bakusoku import __version__
from bakusoku.api.access import (
    MAX_PRESIGN_EXPIRY_SECONDS,
    AccessControl,
    Caller,
    check_album,
    install_access_control,
    photo_not_found,
    rendition_url,
    require_role,
)
from bakusoku.api.access_routes import install_auth_routes
from bakusoku.api.deletion import delete_photo
from bakusoku.api.errors import ApiError, error_responses, install_error_handlers
from bakusoku.api.live import install_web_app
from bakusoku.api.models import ALLOWED_CONTENT_TYPES, UploadRequest
from bakusoku.api.ops import install_ops_routes
from bakusoku.api.schemas import PhotoPage, PhotoView, UploadGrant, answers
from bakusoku.api.views import iso, photo_view
from bakusoku.auth import audit
from bakusoku.auth.principal import Principal
from bakusoku.auth.scope import list_photos as list_visible_photos
from bakusoku.config import Settings
from bakusoku.db.photos import STATUSES, PhotoRepository
from bakusoku.domain.keys import owner_of, upload_key
from bakusoku.storage.base import ObjectStore
from bakusoku.storage.presign import Presigner
from bakusoku.utc import iso_seconds
from bakusoku.workflow.engine import WorkflowEngine


@dataclass
class ApiServices:
    """What the API needs, built by whoever hosts it (``bakusoku up``, a Lambda, a test)."""

    settings: Settings
    photos: PhotoRepository
    presigner: Presigner
    workflow: WorkflowEngine
    # Where originals and renditions are removed when a photo is deleted.
    store: ObjectStore | None = None


def create_api_app(services: ApiServices) -> FastAPI:
    app = FastAPI(title="bakusoku", version=__version__, docs_url="/docs")
    install_error_handlers(app)
    settings = services.settings
    access = AccessControl.from_settings(settings, services.photos._engine)
    install_access_control(app, access)

    def sign_get(bucket: str, key: str) -> str:
        return rendition_url(services.presigner, bucket, key, settings.rendition_url_expiry_seconds)

    def visible_photo(photo_id: str, principal: Principal) -> dict[str, Any]:
        photo = services.photos.find(photo_id)
        if photo is None or not access.visible(principal, photo["object_key"]):
            raise photo_not_found(photo_id)
        return photo

    @app.get("/", include_in_schema=False)
    def gallery() -> HTMLResponse:
        page = resources.files("bakusoku.api") / "static" / "index.html"
        return HTMLResponse(page.read_text())

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    @app.post(
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
        retry_after = access.limiter.acquire(principal.key_id)
        if retry_after is not None:
            raise ApiError(
                429,
                "rate.limited",
                f"too many upload requests with this key; try again in {retry_after} s",
                headers={"Retry-After": str(retry_after)},
            )
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

    @app.get(
        "/v1/photos/{photo_id}",
        response_model=None,
        responses=answers(PhotoView) | error_responses(404),
    )
    def get_photo(principal: Caller, photo_id: str) -> dict[str, Any]:
        return photo_view(visible_photo(photo_id, principal), sign_get)

    @app.delete(
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
        photo = visible_photo(photo_id, principal)
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
        owner = owner_of(photo["object_key"], access.upload_prefix)
        access.audit.record(
            principal.actor,
            audit.PHOTO_DELETE,
            service=owner[0] if owner else None,
            target=photo["object_key"],
            details={
                "photo_id": photo_id,
                "album": photo["album"],
                "status": deleted.status,
                "objects": len(deleted.objects),
            },
        )
        return Response(status_code=204)

    @app.get(
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
            services.photos._engine,
            principal,
            settings.upload_prefix,
            album=album or None,
            statuses=statuses,
            cursor=cursor,
            limit=limit,
        )
        return {
            "items": [photo_view(p, sign_get) for p in page.items],
            "next_cursor": page.next_cursor,
        }

    @app.get("/v1/photos/{photo_id}/execution", responses=error_responses(404))
    def get_photo_execution(principal: Caller, photo_id: str) -> dict[str, Any]:
        photo = visible_photo(photo_id, principal)
        name = photo["execution_name"]
        if not name:
            raise ApiError(
                404,
                "execution.not_found",
                f"photo {photo_id} has no execution yet: its upload has not been stored "
                "(status is still pending)",
            )
        return execution_view(services.workflow, name)

    install_web_app(app, services)
    install_ops_routes(app, services)
    install_auth_routes(app, services, access)

    return app


def execution_view(workflow: WorkflowEngine, name: str) -> dict[str, Any]:
    described = workflow.describe_execution(name)
    history = workflow.get_execution_history(name)
    return {
        "execution": _jsonable(described),
        "events": [_jsonable(event) for event in history],
    }


def _jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {k: _jsonable(v) for k, v in dataclasses.asdict(value).items()}
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime):
        return iso(value.timestamp())
    return value


def _check_upload_request(body: UploadRequest, settings: Settings) -> None:
    if body.content_type not in ALLOWED_CONTENT_TYPES:
        raise ApiError(
            400,
            "upload.unsupported_type",
            f"content_type {body.content_type!r} is not accepted; "
            f"use one of {', '.join(ALLOWED_CONTENT_TYPES)}",
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
            raise ApiError(
                404, "album.not_found", f"no album {body.album!r} is reachable with this key"
            )
        return principal.service
    if body.service is None:
        raise ApiError(
            400,
            "request.invalid",
            'service: the admin token uploads into a named service; add "service"',
            "service",
        )
    return body.service


def _parse_statuses(status: str | None) -> list[str]:
    if not status:
        return []
    statuses = [s.strip() for s in status.split(",") if s.strip()]
    unknown = [s for s in statuses if s not in STATUSES]
    if unknown:
        raise ApiError(
            400,
            "request.invalid",
            f"status {unknown[0]!r} is unknown; use one of {', '.join(STATUSES)}",
            "status",
        )
    return statuses
