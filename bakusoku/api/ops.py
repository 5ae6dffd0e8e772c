"""Operations routes: execution history search and detail, status, ``/metrics``, ``/readyz``.

Re-driving is ``POST /v1/executions/{name}/redrive`` (in ``bakusoku.api.live``).
"""

from __future__ import annotations

from typing import Any

import anyio.to_thread
import sqlalchemy as sa
from fastapi import FastAPI, Query, Request
from fastapi.responses import JSONResponse, Response

from bakusoku.api.access import Caller, execution_not_found, require_operator
from bakusoku.api.errors import ApiError, error_responses
from bakusoku.api.views import iso
from bakusoku.auth.scope import execution_key
from bakusoku.ops.errors import InvalidQueryError
from bakusoku.ops.history import ExecutionHistory, ExecutionQuery, parse_since
from bakusoku.ops.metrics import CONTENT_TYPE
from bakusoku.ops.redrive import Redriver
from bakusoku.ops.status import status_report
from bakusoku.ops.timeline import build_timeline
from bakusoku.workflow.errors import ExecutionDoesNotExistError, WorkflowError

_REDRIVABLE = ("FAILED", "TIMED_OUT", "ABORTED")


def install_ops_routes(app: FastAPI, services: Any) -> None:
    """Register the operations routes on ``app`` (``services``: the API's ApiServices)."""
    workflow = services.workflow
    db: sa.Engine = workflow.db
    history = ExecutionHistory(db, workflow, services.settings.upload_prefix)
    redriver = Redriver(workflow, db, services.settings.upload_prefix)

    @app.get("/v1/executions", responses=error_responses(400, 403))
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
        before: float | None = Query(None, description="cursor: next_before of the last page"),
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
            rows = history.search(query)
        except InvalidQueryError as exc:
            raise ApiError(400, "request.invalid", exc.message) from None
        return {
            "items": [_summary_view(r) for r in rows],
            "next_before": rows[-1]["started_at"] if len(rows) == limit else None,
        }

    @app.get("/v1/executions/{name}", responses=error_responses(404))
    def get_execution(principal: Caller, name: str) -> dict[str, Any]:
        """One execution: its timeline (durations per state, retries), failure and history events."""
        try:
            key = execution_key(workflow.describe_execution(name).input)
            if not app.state.access.visible(principal, key):
                raise execution_not_found(name)
            summary = history.summary(name)
            events = workflow.get_execution_history(name)
        except ExecutionDoesNotExistError as exc:
            raise ApiError(404, "execution.not_found", exc.message) from None
        timeline = build_timeline(events)
        links = {"self": f"/v1/executions/{summary['name']}"}
        if summary["photo_id"]:
            links["photo"] = f"/v1/photos/{summary['photo_id']}"
        reprocessed_as = redriver.reprocessed_as(summary["name"])
        if summary["status"] in _REDRIVABLE:
            links["redrive"] = f"/v1/executions/{summary['name']}/redrive"
        if reprocessed_as:
            links["reprocessed_as"] = f"/v1/executions/{reprocessed_as[-1]}"
        return {
            "execution": _summary_view(summary) | {"reprocessed_as": reprocessed_as},
            "timeline": _timeline_view(timeline.to_json()),
            "events": [e.to_aws() | {"stateName": e.state_name} for e in events],
            "links": links,
        }

    @app.get("/v1/status", responses=error_responses(403))
    def get_status(principal: Caller) -> dict[str, Any]:
        """Photos by status, running executions, failure rate, upload-to-ready, slowest state."""
        require_operator(principal)
        return status_report(db)

    @app.get("/metrics", include_in_schema=False)
    async def metrics(request: Request, principal: Caller) -> Response:
        require_operator(principal)
        ops = getattr(request.app.state, "ops", None)
        if ops is None:
            raise ApiError(404, "not_found", "metrics are served by `bakusoku up` only")
        body = await anyio.to_thread.run_sync(ops.metrics.render)
        return Response(body, media_type=CONTENT_TYPE)

    @app.get(
        "/readyz", responses={503: {"description": "not ready: `checks` names the failing check"}}
    )
    def readyz() -> JSONResponse:
        """Ready to take uploads: the database answers and the workflow engine runs.

        Public like ``/healthz``: load balancers and orchestrators probe it without a token, and
        it says only which check failed.
        """
        checks: dict[str, str] = {}
        try:
            with db.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
            checks["database"] = "ok"
        except sa.exc.SQLAlchemyError as exc:
            checks["database"] = f"unavailable: {type(exc).__name__}"
        try:
            workflow.ensure_running()
            checks["workflow"] = "ok"
        except WorkflowError as exc:
            checks["workflow"] = exc.message
        ready = all(v == "ok" for v in checks.values())
        return JSONResponse(
            {"status": "ready" if ready else "not_ready", "checks": checks}, 200 if ready else 503
        )


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
