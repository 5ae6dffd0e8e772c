"""JSON request bodies read strictly: one value per key, and numbers that are numbers.

Python's ``json`` keeps the last of two equal keys and reads ``NaN`` and ``Infinity``, none of
which is JSON (RFC 8259). A body such as ``{"album": "a", "album": "b"}`` means one thing to a
proxy or a log that reads the first key and another to the route, and ``Infinity`` slips past
every ``gt=0`` check; both are refused before a route sees the body.

``StrictJsonRoute`` is the route class of every API router: FastAPI's own body parsing reads
through ``loads`` here, and its ``JSONDecodeError`` becomes ``400 request.malformed_json`` whose
message says what to change (``refusal``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

from bakusoku.api.quoting import WORD, repeatable

# The start of every message of a strict refusal: told apart from the parser's own errors.
_DUPLICATE = "a key appears twice in one object"
_NOT_A_NUMBER = "NaN and Infinity are not JSON numbers"


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            named = f" ({key!r})" if repeatable(key, WORD) else ""
            raise json.JSONDecodeError(f"{_DUPLICATE}{named}: send each key once", "", 0)
        seen[key] = value
    return seen


def _no_constant(name: str) -> Any:
    raise json.JSONDecodeError(f"{_NOT_A_NUMBER} ({name}): send a finite number", "", 0)


def loads(text: str | bytes) -> Any:
    """``json.loads``, refusing a repeated key and ``NaN``/``Infinity`` (``JSONDecodeError``)."""
    return json.loads(text, object_pairs_hook=_unique_keys, parse_constant=_no_constant)


def refusal(parser_message: str) -> str | None:
    """What a strict refusal says the client should change; None for any other parse error."""
    return parser_message if parser_message.startswith((_DUPLICATE, _NOT_A_NUMBER)) else None


class _StrictJsonRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = loads(await self.body())
        return self._json


class StrictJsonRoute(APIRoute):
    """A route whose JSON body is read with ``loads``."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def strict(request: Request) -> Response:
            return await handle(_StrictJsonRequest(request.scope, request.receive))

        return strict
