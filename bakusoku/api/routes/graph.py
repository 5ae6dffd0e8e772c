"""The live system map: ``GET /v1/graph`` for operators and the page that draws it, ``/ops/graph``.

The map itself (``bakusoku.graph``) comes from whoever hosts the API, read from the stack's
template (``ApiServices.graph``); this router adds each edge's rate, p50 latency and error share
over the chosen window, read from the deployment's own records (``bakusoku.graph.live``), and
renders it as SVG and Mermaid text for the page and for anyone who curls it.
"""

from __future__ import annotations

import time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from bakusoku.api.access import Caller, require_operator
from bakusoku.api.errors import ApiError, error_responses
from bakusoku.api.routes.pages import page
from bakusoku.api.services import ApiServices
from bakusoku.api.strict_requests import StrictRoute
from bakusoku.graph.live import edge_stats, window_seconds
from bakusoku.graph.mermaid import to_mermaid
from bakusoku.graph.svg import RED_FROM, edge_colour, to_svg
from bakusoku.ops.recent import AnsweredRequest
from bakusoku.ops.service import Operations

# Not traffic through the pipeline: the map's own refreshes and the gallery's open event streams
# (whose duration is how long a page stayed open).
_NOT_MEASURED = {"/v1/graph", "/v1/events"}

Window = Literal["5m", "60m"]


def graph_router(services: ApiServices) -> APIRouter:
    router = APIRouter(route_class=StrictRoute)

    @router.get("/ops/graph", include_in_schema=False)
    def graph_page() -> HTMLResponse:
        return page("graph.html")

    @router.get("/v1/graph", responses=error_responses(400, 403, 404))
    def live_graph(
        request: Request,
        principal: Caller,
        window: Annotated[Window, Query(description="How far back each edge is measured.")] = "5m",
    ) -> dict[str, Any]:
        """The system map, each edge with its traffic over ``window`` (operators only).

        ``graph`` holds the nodes and edges; ``stats`` each measured edge's rate per minute,
        median latency and error share by edge key; ``svg`` and ``mermaid`` the map drawn with
        them (an edge is red from an error share of ``red_from``).
        """
        require_operator(principal)
        graph = services.graph
        if graph is None:
            raise ApiError(
                404,
                "graph.unavailable",
                "this deployment was started without its map; `bakusoku up` serves one, and "
                "`bakusoku graph` prints it",
            )
        seconds = window_seconds(window)
        stats = edge_stats(services.db, graph, seconds, requests=_answered(request, seconds))
        return {
            "window": window,
            "window_seconds": seconds,
            "red_from": RED_FROM,
            "graph": graph.to_json(),
            "stats": {key: s.to_json() | {"colour": edge_colour(s)} for key, s in stats.items()},
            "svg": to_svg(graph, stats),
            "mermaid": to_mermaid(
                graph,
                {key: s.summary() for key, s in stats.items() if s.count},
                {key: s.error_share for key, s in stats.items()},
            ),
        }

    return router


def _answered(request: Request, window: float) -> list[AnsweredRequest]:
    """The API's requests of the window, when operations are installed on this app."""
    ops = getattr(request.app.state, "ops", None)
    if not isinstance(ops, Operations):
        return []
    since = time.time() - window
    return [r for r in ops.metrics.recent_requests.since(since) if r.route not in _NOT_MEASURED]
