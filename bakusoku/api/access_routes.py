"""Access-control routes: who am I, the audit log, and originals for admins."""

from __future__ import annotations

import posixpath
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import FastAPI, Query

from bakusoku.api.access import (
    AccessControl,
    Caller,
    photo_not_found,
    require_role,
)
from bakusoku.api.errors import ApiError, error_responses
from bakusoku.api.schemas import AuditPage, OriginalGrant, WhoAmI, answers
from bakusoku.api.views import iso
from bakusoku.auth import audit
from bakusoku.domain.keys import owner_of
from bakusoku.utc import iso_seconds


def install_auth_routes(app: FastAPI, services: Any, access: AccessControl) -> None:
    """``GET /v1/whoami``, ``GET /v1/audit``, ``GET /v1/photos/{photo_id}/original``."""
    settings = services.settings

    @app.get("/v1/whoami", response_model=None, responses=answers(WhoAmI))
    def whoami(principal: Caller) -> dict[str, Any]:
        """The key in use: its service, albums and role (never the key itself)."""
        return {
            "key_id": principal.key_id,
            "service": principal.service,
            "albums": list(principal.albums) if principal.albums is not None else None,
            "role": principal.role,
        }

    @app.get(
        "/v1/audit", response_model=None, responses=answers(AuditPage) | error_responses(400, 403)
    )
    def list_audit(
        principal: Caller,
        action: str | None = Query(None, max_length=48, description="e.g. key.create"),
        service: str | None = Query(None, max_length=32),
        before: int | None = Query(
            None, ge=1, le=2**63 - 1, description="cursor: next_before of the last page"
        ),
        limit: int = Query(100, ge=1, le=1000),
    ) -> dict[str, Any]:
        """Audit entries, newest first: an admin key sees its service's, the admin token all."""
        require_role(principal, "admin")
        if not principal.is_operator:
            if service is not None and service != principal.service:
                return {"items": [], "next_before": None}
            service = principal.service
        if action is not None and action not in audit.ACTIONS:
            raise ApiError(
                400,
                "request.invalid",
                f"action {action!r} is unknown; use one of {', '.join(audit.ACTIONS)}",
                "action",
            )
        rows = access.audit.list(service=service, action=action, before=before, limit=limit)
        return {
            "items": [
                {
                    "id": r["id"],
                    "at": iso(r["at"]),
                    "actor": r["actor"],
                    "action": r["action"],
                    "service": r["service"],
                    "target": r["target"],
                    "details": r["details"],
                }
                for r in rows
            ],
            "next_before": rows[-1]["id"] if len(rows) == limit else None,
        }

    @app.get(
        "/v1/photos/{photo_id}/original",
        response_model=None,
        responses=answers(OriginalGrant) | error_responses(403, 404, 409),
    )
    def download_original(principal: Caller, photo_id: str) -> dict[str, Any]:
        """A signed GET of the photo as uploaded, valid for minutes: admin keys only; audited."""
        photo = services.photos.find(photo_id)
        if photo is None or not access.visible(principal, photo["object_key"]):
            raise photo_not_found(photo_id)
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
        owner = owner_of(photo["object_key"], access.upload_prefix)
        access.audit.record(
            principal.actor,
            audit.ORIGINAL_DOWNLOAD,
            service=owner[0] if owner else None,
            target=photo["object_key"],
            details={"photo_id": photo_id},
        )
        expires_at = datetime.now(UTC) + timedelta(seconds=expires_in)
        return {
            "photo_id": photo_id,
            "url": url,
            "expires_at": iso_seconds(expires_at),
        }
