"""Execution histories as GetExecutionHistory returns them, read into the engine's ``HistoryEvent``.

Step Functions names the state only on its ``StateEntered``/``StateExited`` events (and a few
others); the events of a try (``LambdaFunctionScheduled``, ``LambdaFunctionFailed``,
``TaskFailed``...) carry no name. Each such event points through ``previousEventId`` at the event
it follows inside the same state, so its state is the one its chain leads back to. Without that,
a caught failure would look unhandled and a re-drive would re-run only the final Fail state.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bakusoku.workflow.history import HistoryEvent, details_key

# A Parallel or Map state's own events between its entry and its exit: their previousEventId
# may point into a branch, so their state is the scope they close.
_SCOPE_EVENTS = ("ParallelState", "MapState")


def history_events(raw_events: Sequence[dict[str, Any]]) -> list[HistoryEvent]:
    """``raw_events`` (GetExecutionHistory's, oldest first) with each event's state name."""
    by_id: dict[int, dict[str, Any]] = {int(raw["id"]): raw for raw in raw_events}
    names: dict[int, str | None] = {}
    events: list[HistoryEvent] = []
    for raw in raw_events:
        event_id = int(raw["id"])
        names[event_id] = _state_name(raw, by_id, names)
        events.append(_event(raw, names[event_id]))
    return events


def _state_name(
    raw: dict[str, Any], by_id: dict[int, dict[str, Any]], names: dict[int, str | None]
) -> str | None:
    kind: str = raw["type"]
    own = _details(raw).get("name")
    if isinstance(own, str) and own:
        return own
    if kind.startswith("Execution"):
        return None
    scope = next((s for s in _SCOPE_EVENTS if kind.startswith(s)), None)
    if scope is not None:
        return _enclosing_scope(raw, scope, by_id, names)
    return names.get(int(raw.get("previousEventId", 0)))


def _enclosing_scope(
    raw: dict[str, Any],
    scope: str,
    by_id: dict[int, dict[str, Any]],
    names: dict[int, str | None],
) -> str | None:
    """The Parallel/Map state a scope event belongs to: back along the chain to its entry."""
    depth = 0
    current = by_id.get(int(raw.get("previousEventId", 0)))
    while current is not None:
        kind = current["type"]
        if kind == f"{scope}Entered":
            if depth == 0:
                return names.get(int(current["id"]))
            depth -= 1
        elif kind.startswith(scope) and kind.endswith(("Succeeded", "Failed", "Aborted")):
            depth += 1  # a nested scope of the same kind closed on the way back
        current = by_id.get(int(current.get("previousEventId", 0)))
    return None


def _details(raw: dict[str, Any]) -> dict[str, Any]:
    key = details_key(raw["type"])
    details = raw.get(key) if key else None
    return details if isinstance(details, dict) else {}


def _event(raw: dict[str, Any], state_name: str | None) -> HistoryEvent:
    key = details_key(raw["type"])
    details = raw.get(key) if key else None
    timestamp: datetime = raw["timestamp"]
    return HistoryEvent(
        id=int(raw["id"]),
        previous_event_id=int(raw.get("previousEventId", 0)),
        type=raw["type"],
        timestamp=timestamp,
        details=details,
        state_name=state_name,
    )
