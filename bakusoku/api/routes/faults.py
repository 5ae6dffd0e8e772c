"""Fault injection for chaos experiments: ``/v1/faults``, for the admin token only.

``bakusoku chaos run`` injects its faults here, and removes them when it ends; each fault also ends
by itself after its ``duration_seconds`` (at most ``fault_max_seconds``), so a command that died
leaves nothing behind. A deployment that takes no faults (AWS, where AWS FIS injects them, or
``fault_injection: false``) answers ``404 faults.unavailable``.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field

from bakusoku.api.access import Caller, require_operator
from bakusoku.api.errors import ApiError, error_responses
from bakusoku.api.services import ApiServices
from bakusoku.api.strict_requests import StrictRoute
from bakusoku.auth.principal import Principal
from bakusoku.faults import KINDS, FaultControl, FaultError
from bakusoku.pipeline.functions import ALL_FUNCTIONS, declared

log = logging.getLogger("bakusoku.chaos")


class FaultRequest(BaseModel):
    """``POST /v1/faults``: one fault, in force from now for ``duration_seconds``."""

    model_config = ConfigDict(extra="forbid", strict=True)

    kind: str = Field(json_schema_extra={"enum": list(KINDS)})
    duration_seconds: float = Field(gt=0, description="the fault ends by itself after this")
    target: str = Field("", max_length=64, description="a function's name; empty: every one")
    percentage: float = Field(100.0, gt=0, le=100, description="share of calls it hits")
    latency_ms: int | None = Field(None, gt=0, description="db.slow, store.slow: delay per call")
    interval_seconds: float | None = Field(None, gt=0, description="workers.kill: how often")


def faults_router(services: ApiServices) -> APIRouter:
    router = APIRouter(route_class=StrictRoute)
    # A fault's target is one of this deployment's functions: another name would hit nothing
    # (and a key pasted there would be kept and shown with the fault).
    targets = frozenset(f.name for f in (*ALL_FUNCTIONS, *declared(services.settings)))

    def control(principal: Principal) -> FaultControl:
        require_operator(principal)
        if services.faults is None:
            raise ApiError(
                404,
                "faults.unavailable",
                "this deployment takes no injected faults: on AWS run the stack's AWS FIS "
                "experiment templates; with `bakusoku up`, set fault_injection to true",
            )
        return services.faults

    @router.get("/v1/faults", responses=error_responses(403, 404))
    def list_faults(principal: Caller) -> dict[str, Any]:
        """The faults in force, each with its kind, target and expiry (operators only)."""
        return {"faults": [f.as_dict() for f in control(principal).faults()], "kinds": KINDS}

    @router.post("/v1/faults", status_code=201, responses=error_responses(400, 403, 404))
    def inject_fault(principal: Caller, body: FaultRequest) -> dict[str, Any]:
        """Put a fault in force for ``duration_seconds`` (operators only)."""
        faults = control(principal)
        if body.target and body.target not in targets:
            raise ApiError(
                400,
                "request.invalid",
                "target: name one of this deployment's functions (e.g. make-renditions), or none"
                " for every one",
                "target",
            )
        try:
            fault = faults.inject(
                body.kind,
                body.duration_seconds,
                target=body.target,
                percentage=body.percentage,
                latency_ms=body.latency_ms,
                interval_seconds=body.interval_seconds,
            )
        except FaultError as exc:
            raise ApiError(400, "request.invalid", exc.message) from None
        log.warning(
            "chaos: fault %s injected: %s on %s for %g s",
            fault.id,
            fault.kind,
            fault.target or "everything",
            body.duration_seconds,
        )
        return {"fault": fault.as_dict()}

    @router.delete("/v1/faults/{fault_id}", status_code=204, responses=error_responses(403, 404))
    def end_fault(principal: Caller, fault_id: str) -> Response:
        """End one fault now (operators only)."""
        if not control(principal).remove(fault_id):
            raise ApiError(404, "fault.not_found", "no fault in force has this id")
        log.warning("chaos: fault %s ended", fault_id)
        return Response(status_code=204)

    @router.delete("/v1/faults", responses=error_responses(403, 404))
    def end_all_faults(principal: Caller) -> dict[str, int]:
        """End every fault now (operators only); how many were in force."""
        ended = control(principal).clear()
        log.warning("chaos: every fault ended (%d in force)", ended)
        return {"ended": ended}

    return router
