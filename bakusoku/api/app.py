"""The HTTP API: presigned uploads, photo status and listings, execution histories."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from typing import Any

from fastapi import FastAPI, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse

from bakusoku import __version__
from bakusoku.api.errors import ApiError, install_error_handlers
from bakusoku.api.models import ALLOWED_CONTENT_TYPES, UploadRequest
from bakusoku.api.ops import install_ops_routes
from bakusoku.api.views import iso, photo_view
from bakusoku.config import Settings
from bakusoku.db.photos import STATUSES, PhotoRepository
from bakusoku.pipeline.keys import upload_key
from bakusoku.storage.presign import Presigner
from bakusoku.workflow.engine import WorkflowEngine


@dataclass
class ApiServices:
    """What the API needs, built by whoever hosts it (``bakusoku up``, a Lambda, a test)."""

    settings: Settings
    photos: PhotoRepository
    presigner: Presigner
    workflow: WorkflowEngine
    # Bench-only: the pre-presigned design, where the API stores the bytes and runs the pipeline.
    direct_upload: Callable[[str, str, str, bytes], dict[str, Any]] | None = None


def create_api_app(services: ApiServices) -> FastAPI:
    app = FastAPI(title="bakusoku", version=__version__, docs_url="/docs")
    install_error_handlers(app)
    settings = services.settings

    def sign_get(bucket: str, key: str) -> str:
        return services.presigner.presign_get(
            bucket, key, expires_in=settings.rendition_url_expiry_seconds
        )

    @app.get("/", include_in_schema=False)
    def gallery() -> HTMLResponse:
        page = resources.files("bakusoku.api") / "static" / "index.html"
        return HTMLResponse(page.read_text())

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    @app.post("/v1/uploads", status_code=201)
    def create_upload(body: UploadRequest) -> dict[str, Any]:
        _check_upload_request(body, settings)
        photo_id = str(uuid.uuid4())
        key = upload_key(settings.upload_prefix, body.album, photo_id, body.content_type)
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
            expires_in=settings.presign_expiry_seconds,
        )
        return {
            "photo_id": photo_id,
            "key": key,
            "upload": {
                "method": presigned.method,
                "url": presigned.url,
                "headers": presigned.headers,
            },
            "expires_at": presigned.expires_at.astimezone(UTC)
            .isoformat(timespec="seconds")
            .replace("+00:00", "Z"),
        }

    @app.get("/v1/photos/{photo_id}")
    def get_photo(photo_id: str) -> dict[str, Any]:
        return photo_view(services.photos.get(photo_id), sign_get)

    @app.get("/v1/photos")
    def list_photos(
        album: str | None = None,
        status: str | None = None,
        cursor: str | None = None,
        limit: int = Query(50, ge=1, le=500),
    ) -> dict[str, Any]:
        statuses = _parse_statuses(status)
        page = services.photos.list(album=album, statuses=statuses, cursor=cursor, limit=limit)
        return {
            "items": [photo_view(p, sign_get) for p in page.items],
            "next_cursor": page.next_cursor,
        }

    @app.get("/v1/photos/{photo_id}/execution")
    def get_photo_execution(photo_id: str) -> dict[str, Any]:
        photo = services.photos.get(photo_id)
        name = photo["execution_name"]
        if not name:
            raise ApiError(
                404,
                "execution.not_found",
                f"photo {photo_id} has no execution yet: its upload has not been stored "
                "(status is still pending)",
            )
        return execution_view(services.workflow, name)

    install_ops_routes(app, services)
    if services.direct_upload is not None:
        _add_bench_routes(app, services)

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


def _add_bench_routes(app: FastAPI, services: ApiServices) -> None:
    assert services.direct_upload is not None
    direct_upload = services.direct_upload

    @app.post("/v1/bench/direct-upload")
    async def direct(request: Request, album: str, filename: str) -> JSONResponse:
        """The design presigned uploads replaced: bytes through the API, processed before answering."""
        data = await request.body()
        content_type = request.headers.get("content-type", "image/jpeg")
        from starlette.concurrency import run_in_threadpool

        result = await run_in_threadpool(direct_upload, album, filename, content_type, data)
        return JSONResponse(result, 201)
