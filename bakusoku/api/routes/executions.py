"""Executions and operations: history search, one execution, re-drive, and the status report.

Every route reads executions through the deployment's ``ExecutionsPort``. Searching and the
status report are for the admin token; one execution is shown, and re-driven by admin keys, only
when the caller's key reaches its photo.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from bakusoku.api.access import (
    AccessControl,
    Caller,
    execution_not_found,
    require_operator,
    require_role,
)
from bakusoku.api.deletion import photo_was_deleted
from bakusoku.api.errors import ApiError, error_responses
from bakusoku.api.services import ApiServices
from bakusoku.api.strict_requests import StrictRoute
from bakusoku.api.views import iso
from bakusoku.auth import audit
from bakusoku.auth.principal import Principal
from bakusoku.auth.scope import execution_key
from bakusoku.domain.keys import owner_of
from bakusoku.ops.errors import InvalidQueryError
from bakusoku.ops.history import ExecutionQuery, parse_since
from bakusoku.ops.redrive import AlreadyReprocessedError, RedriveOutcome
from bakusoku.ops.timeline import build_timeline
from bakusoku.workflow.errors import ExecutionDoesNotExistError, ExecutionNotRedrivableError

_REDRIVABLE = ("FAILED", "TIMED_OUT", "ABORTED")


def executions_router(services: ApiServices, access: AccessControl) -> APIRouter:
    router = APIRouter(route_class=StrictRoute)
    executions = services.executions
    upload_prefix = services.settings.upload_prefix

    def visible_key(principal: Principal, name: str) -> str | None:
        """The object key of execution ``name``'s photo; 404 when the caller does not reach it."""
        try:
            key = execution_key(executions.describe_execution(name).input)
        except ExecutionDoesNotExistError:
            raise execution_not_found(name) from None
        if not access.visible(principal, key):
            raise execution_not_found(name)
        return key

    @router.post("/v1/executions/{name}/redrive", responses=error_responses(403, 404, 409))
    def redrive_execution(principal: Caller, name: str) -> dict[str, Any]:
        """Process a failed execution's photo again.

        An unhandled failure (a task without a Catch, a timeout) restarts from the state that
        failed (``action: redriven``). A handled one, which ended in a Fail state through a
        Catch, is reprocessed by a new execution with the same input (``action: reprocessed``,
        ``name`` the new execution); asking again while it runs starts nothing new.
        """
        key = visible_key(principal, name)
        require_role(principal, "admin")
        if photo_was_deleted(services.photos, key, upload_prefix):
            raise ApiError(
                409, "photo.deleted", f"the photo of execution {name} was deleted: nothing to redo"
            )
        outcome = _redrive(services, name)
        access.audit.record(
            principal.actor,
            audit.EXECUTION_REDRIVE,
            service=principal.service or _service_of(key, upload_prefix),
            target=name,
            details={
                "object_key": key,
                "photo_id": outcome.photo_id,
                "action": outcome.action,
                "execution": outcome.execution.name,
                "started": outcome.started,
                "redrive_count": outcome.execution.redrive_count,
            },
        )
        return _redrive_view(outcome)

    @router.get("/v1/executions", responses=error_responses(400, 403))
    def list_executions(
        principal: Caller,
        status: str | None = None,
        since: str | None = None,
        until: str | None = None,
        photo: str | None = Query(None, max_length=36),
        album: str | None = Query(None, max_length=128),
        error: str | None = Query(
            None, max_length=64, description="error code, e.g. image.corrupt"
        ),
        state: str | None = Query(None, max_length=80, description="went through this state"),
        failed_state: str | None = Query(None, max_length=80),
        # a finite time: NaN would silently match nothing, as if there were no executions
        before: float | None = Query(
            None, allow_inf_nan=False, description="cursor: next_before of the last page"
        ),
        limit: int = Query(50, ge=1, le=1000),
    ) -> dict[str, Any]:
        """Search the execution history, newest first (the admin token: every service's)."""
        require_operator(principal)
        try:
            query = ExecutionQuery(
                statuses=ExecutionQuery.statuses_from(status),
                since=parse_since(since),
                until=parse_since(until),
                photo_id=photo,
                album=album,
                error_code=error,
                state=state,
                failed_state=failed_state,
                before=before,
                limit=limit,
            )
            rows = executions.search_executions(query)
        except InvalidQueryError as exc:
            raise ApiError(400, "request.invalid", exc.message) from None
        return {
            "items": [_summary_view(r) for r in rows],
            "next_before": rows[-1]["started_at"] if len(rows) == limit else None,
        }

    @router.get("/v1/executions/{name}", responses=error_responses(404))
    def get_execution(principal: Caller, name: str) -> dict[str, Any]:
        """One execution: its timeline (durations per state, retries), failure and history events."""
        visible_key(principal, name)
        try:
            summary = executions.execution_summary(name)
            events = executions.get_execution_history(name)
        except ExecutionDoesNotExistError:
            raise execution_not_found(name) from None
        reprocessed_as = executions.reprocessed_as(summary["name"])
        return {
            "execution": _summary_view(summary) | {"reprocessed_as": reprocessed_as},
            "timeline": _timeline_view(build_timeline(events).to_json()),
            "events": [e.to_aws() | {"stateName": e.state_name} for e in events],
            "links": _execution_links(summary, reprocessed_as),
        }

    @router.get("/v1/status", responses=error_responses(403))
    def get_status(principal: Caller) -> dict[str, Any]:
        """Photos by status, running executions, failure rate, upload-to-ready, slowest state."""
        require_operator(principal)
        return executions.status_report()

    return router


def _redrive(services: ApiServices, name: str) -> RedriveOutcome:
    try:
        return services.executions.redrive(name)
    except ExecutionDoesNotExistError:
        raise execution_not_found(name) from None
    except ExecutionNotRedrivableError as exc:
        raise ApiError(409, "execution.not_redrivable", exc.message) from None
    except AlreadyReprocessedError as exc:
        raise ApiError(409, "execution.already_reprocessed", exc.message) from None


def _service_of(key: str | None, upload_prefix: str) -> str | None:
    owner = owner_of(key or "", upload_prefix)
    return owner[0] if owner else None


def _redrive_view(outcome: RedriveOutcome) -> dict[str, Any]:
    described = outcome.execution
    return {
        "name": described.name,
        "redriven_from": outcome.requested,
        "action": outcome.action,
        "started": outcome.started,
        "photo_id": outcome.photo_id,
        "status": described.status,
        "redrive_count": described.redrive_count,
        "start_date": iso(described.start_date.timestamp()),
        "stop_date": iso(described.stop_date.timestamp()) if described.stop_date else None,
    }


def _execution_links(summary: dict[str, Any], reprocessed_as: list[str]) -> dict[str, str]:
    links = {"self": f"/v1/executions/{summary['name']}"}
    if summary["photo_id"]:
        links["photo"] = f"/v1/photos/{summary['photo_id']}"
    if summary["status"] in _REDRIVABLE:
        links["redrive"] = f"/v1/executions/{summary['name']}/redrive"
    if reprocessed_as:
        links["reprocessed_as"] = f"/v1/executions/{reprocessed_as[-1]}"
    return links


def _summary_view(row: dict[str, Any]) -> dict[str, Any]:
    view = dict(row)
    view["started_at"] = iso(row["started_at"])
    view["stopped_at"] = iso(row["stopped_at"])
    return view


def _timeline_view(timeline: dict[str, Any]) -> dict[str, Any]:
    view = dict(timeline)
    view["started"] = iso(timeline["started"])
    view["ended"] = iso(timeline["ended"])
    view["states"] = [
        {
            **s,
            "entered": iso(s["entered"]),
            "exited": iso(s["exited"]),
            "errors": [{**e, "at": iso(e["at"])} for e in s["errors"]],
        }
        for s in timeline["states"]
    ]
    return view
