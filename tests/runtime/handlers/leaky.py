"""Handlers for the state-leak tests: one keeps request data in a module-level list."""

from __future__ import annotations

from typing import Any

# The bug Lambda's environment reuse exposes: this list outlives the invocation that filled it.
_renditions: list[str] = []


def buggy(event: dict[str, Any], context: Any) -> dict[str, Any]:
    _renditions.append(f"{event['key']}.thumb.jpg")
    return {"renditions": list(_renditions), "request": context.aws_request_id}


def fixed(event: dict[str, Any], context: Any) -> dict[str, Any]:
    renditions = [f"{event['key']}.thumb.jpg"]
    return {"renditions": renditions, "request": context.aws_request_id}
