"""Requests read strictly: one value per JSON key and per query parameter, and numbers that
are numbers.

Python's ``json`` keeps the last of two equal keys and reads ``NaN`` and ``Infinity``, none of
which is JSON (RFC 8259); FastAPI keeps the last of a query parameter sent twice. A body such as
``{"album": "a", "album": "b"}``, or ``?album=a&album=b``, means one thing to a proxy or a log
that reads the first value and another to the route, and ``Infinity`` slips past every ``gt=0``
check; all are refused before a route sees them, as is NUL in a JSON string, which PostgreSQL
cannot store in text.

``StrictRoute`` is the route class of every API router: FastAPI's own body parsing reads
through ``loads`` here, and its ``JSONDecodeError`` becomes ``400 request.malformed_json`` whose
message says what to change (``refusal``); a repeated query parameter of the route is ``400
request.invalid`` for that parameter.
"""

from __future__ import annotations

import email.message
import json
import re
import types
import unicodedata
from collections.abc import Callable, Coroutine
from typing import Any, Union, get_args, get_origin

from fastapi import Request, Response, params
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute

from bakusoku.api.quoting import WORD, repeatable
from bakusoku.errors import BakusokuError

# The start of every message of a strict refusal: told apart from the parser's own errors.
_DUPLICATE = "a key appears twice in one object"
_NOT_A_NUMBER = "NaN and Infinity are not JSON numbers"
_NUL = "a string holds NUL (\\u0000)"  # refused for its field; race rows: in their message


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


def _decode(text: str | bytes) -> Any:
    return json.loads(text, object_pairs_hook=_unique_keys, parse_constant=_no_constant)


def loads(text: str | bytes) -> Any:
    """``json.loads``, refusing a repeated key, ``NaN``/``Infinity`` and NUL in a string
    (``JSONDecodeError``): for bodies a route reads itself (race rows)."""
    document = _decode(text)
    if (where := nul_path(document)) is not None:
        at = ".".join(map(str, where)) or "the body"
        raise json.JSONDecodeError(f"{_NUL} at {at}: no text here may hold it", "", 0)
    return document


def nul_path(document: Any) -> list[str | int] | None:
    """Where a string (a value or a key) of ``document`` holds NUL, which PostgreSQL refuses in
    text (the statement that carried it failed with a 500), as the keys and indexes leading to
    it, each shown only when it is a plain word or an index; None when none does."""
    pending: list[tuple[Any, list[str | int]]] = [(document, [])]
    while pending:
        item, path = pending.pop()
        if isinstance(item, str) and "\x00" in item:
            return path
        if isinstance(item, dict):
            for key, value in item.items():
                shown = [*path, key] if repeatable(key, WORD) else path
                pending += [(key, path), (value, shown)]
        elif isinstance(item, list):
            pending += [(value, [*path, n]) for n, value in enumerate(item)]
    return None


def refusal(parser_message: str) -> str | None:
    """What a strict refusal says the client should change; None for any other parse error."""
    strict = parser_message.startswith((_DUPLICATE, _NOT_A_NUMBER))
    return parser_message if strict else None


class _StrictJsonRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = _decode(await self.body())
        return self._json


class UnsupportedBodyTypeError(BakusokuError):
    """A body a route reads as JSON, sent as another type: FastAPI read it as no object at all,
    and answered that the body should be one."""

    def __init__(self) -> None:
        super().__init__(
            "this route reads a JSON body: send it with Content-Type: application/json",
            code="request.unsupported_media_type",
        )


class StrictRoute(APIRoute):
    """A route whose JSON body is read with ``loads`` and whose query parameters come once."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()
        # none of the API's query parameters is a list: each of the route's comes at most once
        single = frozenset(_query_names(self.dependant))
        whole = frozenset(_query_names(self.dependant, int))
        reads_json = self.body_field is not None and not isinstance(
            self.body_field.field_info,
            params.Form,  # File is a Form: multipart is read as such
        )

        async def strict(request: Request) -> Response:
            _check_sent_once(request, single)
            _check_printable(request, single)
            _check_integers(request, whole)
            if reads_json and not _is_json(request.headers.get("content-type")):
                raise UnsupportedBodyTypeError
            strict_request = _StrictJsonRequest(request.scope, request.receive)
            if reads_json:
                await _check_no_nul(strict_request)
            return await handle(strict_request)

        return strict


async def _check_no_nul(request: _StrictJsonRequest) -> None:
    """NUL in a string of the body is refused for its field, before the route stores it."""
    if not await request.body():
        return
    try:
        document = await request.json()
    except Exception:  # FastAPI reads the body again and says what is wrong with it
        return
    if (where := nul_path(document)) is not None:
        raise RequestValidationError(
            [
                {
                    "type": "value_error",
                    "loc": ("body", *where),
                    "msg": "must not hold NUL (\\u0000), which no text here may hold",
                }
            ]
        )


def _is_json(content_type: str | None) -> bool:
    """As FastAPI tells JSON (application/json or application/*+json); no type at all is read
    as JSON too."""
    if not content_type:
        return True
    message = email.message.Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (
        subtype == "json" or subtype.endswith("+json")
    )


def _query_names(dependant: Dependant, of_type: type | None = None) -> set[str]:
    """The route's query parameters (with ``of_type``: those declared of that type)."""
    names = {
        p.alias
        for p in dependant.query_params
        if of_type is None or _declared(p.field_info.annotation, of_type)
    }
    for sub in dependant.dependencies:
        names |= _query_names(sub, of_type)
    return names


def _declared(annotation: Any, of_type: type) -> bool:
    """Whether ``annotation`` is ``of_type`` or an optional one (``int | None``)."""
    if get_origin(annotation) in (Union, types.UnionType):
        return of_type in get_args(annotation)
    return annotation is of_type


# A whole number as JSON writes it: pydantic also reads "10.0", "1_0", "+10" and " 10" as 10.
_WHOLE_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)")


def _check_integers(request: Request, names: frozenset[str]) -> None:
    for name, value in request.query_params.multi_items():
        if name in names and not _WHOLE_NUMBER.fullmatch(value):
            raise RequestValidationError(
                [
                    {
                        "type": "value_error",
                        "loc": ("query", name),
                        "msg": "a whole number in plain digits, as JSON writes it (e.g. 50)",
                    }
                ]
            )


def _check_printable(request: Request, query_names: frozenset[str]) -> None:
    """No id, name or value the API takes in a path or query holds a control character: NUL
    reached PostgreSQL, which refuses it in text (a 500), and an escape sequence a log line."""
    sent = [
        *request.path_params.items(),
        *((n, v) for n, v in request.query_params.multi_items() if n in query_names),
    ]
    for name, value in sent:
        if isinstance(value, str) and any(unicodedata.category(c) == "Cc" for c in value):
            raise RequestValidationError(
                [
                    {
                        "type": "value_error",
                        "loc": ("path" if name in request.path_params else "query", name),
                        "msg": "must not hold a control character (such as NUL or ESC)",
                    }
                ]
            )


def _check_sent_once(request: Request, names: frozenset[str]) -> None:
    """Parameters the route does not take (a cache-buster) are not its to count; the refusal
    reads as every invalid parameter's (400 request.invalid naming it)."""
    sent = [name for name, _ in request.query_params.multi_items() if name in names]
    for name in dict.fromkeys(sent):
        if (times := sent.count(name)) > 1:
            raise RequestValidationError(
                [
                    {
                        "type": "value_error",
                        "loc": ("query", name),
                        "msg": f"given {times} times; send it once",
                    }
                ]
            )
