"""Health and metrics: ``/healthz`` (alive), ``/readyz`` (ready to take uploads), ``/metrics``.

``/healthz`` and ``/readyz`` are public: load balancers and orchestrators probe them without a
token, and they say only which check failed. ``/metrics`` is for the admin token.
"""

from __future__ import annotations

import anyio.to_thread
import sqlalchemy as sa
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from bakusoku import __version__
from bakusoku.api.access import Caller, require_operator
from bakusoku.api.errors import ApiError
from bakusoku.api.services import ApiServices
from bakusoku.api.strict_requests import StrictRoute
from bakusoku.ops.metrics import CONTENT_TYPE
from bakusoku.workflow.errors import WorkflowError


def health_router(services: ApiServices) -> APIRouter:
    router = APIRouter(route_class=StrictRoute)

    @router.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    @router.get("/metrics", include_in_schema=False)
    async def metrics(request: Request, principal: Caller) -> Response:
        require_operator(principal)
        ops = getattr(request.app.state, "ops", None)
        if ops is None:
            raise ApiError(404, "not_found", "metrics are served by `bakusoku up` only")
        body = await anyio.to_thread.run_sync(ops.metrics.render)
        return Response(body, media_type=CONTENT_TYPE)

    @router.get(
        "/readyz", responses={503: {"description": "not ready: `checks` names the failing check"}}
    )
    def readyz() -> JSONResponse:
        """Ready to take uploads: the database answers and the workflow engine runs.

        Public like ``/healthz``: load balancers and orchestrators probe it without a token, and
        it says only which check failed.
        """
        checks = {"database": _database_check(services.db), "workflow": _workflow_check(services)}
        ready = all(v == "ok" for v in checks.values())
        return JSONResponse(
            {"status": "ready" if ready else "not_ready", "checks": checks}, 200 if ready else 503
        )

    return router


def _database_check(db: sa.Engine) -> str:
    try:
        with db.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError as exc:
        return f"unavailable: {type(exc).__name__}"
    return "ok"


def _workflow_check(services: ApiServices) -> str:
    try:
        services.executions.check_ready()
    except WorkflowError as exc:
        return exc.message
    return "ok"
