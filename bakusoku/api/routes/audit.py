"""Keys and the audit log: the key in use (``/v1/whoami``) and audit entries (``/v1/audit``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from bakusoku.api.access import AccessControl, Caller, require_role
from bakusoku.api.errors import ApiError, error_responses
from bakusoku.api.quoting import WORD, repeatable
from bakusoku.api.schemas import AuditPage, WhoAmI, answers
from bakusoku.api.strict_requests import StrictRoute
from bakusoku.api.views import iso
from bakusoku.auth import audit


def audit_router(access: AccessControl) -> APIRouter:
    router = APIRouter(route_class=StrictRoute)

    @router.get("/v1/whoami", response_model=None, responses=answers(WhoAmI))
    def whoami(principal: Caller) -> dict[str, Any]:
        """The key in use: its service, albums and role (never the key itself)."""
        return {
            "key_id": principal.key_id,
            "service": principal.service,
            "albums": list(principal.albums) if principal.albums is not None else None,
            "role": principal.role,
        }

    @router.get(
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
        """Audit entries, newest first: an admin key sees its service's (a key of some albums,
        those albums'), the admin token all."""
        require_role(principal, "admin")
        if not principal.is_operator:
            if service is not None and service != principal.service:
                return {"items": [], "next_before": None}
            service = principal.service
        if action is not None and action not in audit.ACTIONS:
            named = f"action {action!r}" if repeatable(action, WORD) else "the action given"
            raise ApiError(
                400,
                "request.invalid",
                f"{named} is unknown; use one of {', '.join(audit.ACTIONS)}",
                "action",
            )
        if principal.albums is not None and principal.service is not None:
            # a key of some albums reads what was done in them, not in the service's others
            rows = access.audit.list_in_albums(
                principal.albums,
                access.upload_prefix,
                service=principal.service,
                action=action,
                before=before,
                limit=limit,
            )
        else:
            rows = access.audit.list(service=service, action=action, before=before, limit=limit)
        return {
            "items": [_entry_view(r) for r in rows],
            "next_before": rows[-1]["id"] if len(rows) == limit else None,
        }

    return router


def _entry_view(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "at": iso(row["at"]),
        "actor": row["actor"],
        "action": row["action"],
        "service": row["service"],
        "target": row["target"],
        "details": row["details"],
    }
