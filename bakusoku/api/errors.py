"""API error responses: JSON ``{"error": {"code", "message", "field"?}}`` for every failure.

A database that cannot be reached answers ``503`` with ``db.unavailable`` and ``Retry-After``,
whichever route met it; anything unexpected answers ``500`` with ``internal``. Every error body
is redacted (``bakusoku.api.quoting``) before it is sent: no part of the request's Authorization
header or of the credentials the server holds (``never_repeat``) is in it.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from bakusoku.api.executions import ExecutionsUnsupportedError
from bakusoku.api.quoting import redact
from bakusoku.api.strict_requests import UnsupportedBodyTypeError, refusal
from bakusoku.db.errors import DatabaseUnavailableError
from bakusoku.db.photos import InvalidCursorError, PhotoNotFoundError
from bakusoku.db.retry import is_transient
from bakusoku.errors import BakusokuError

log = logging.getLogger(__name__)

# How long a client waits before trying again after a 503: a database restart, a failover.
RETRY_AFTER_SECONDS = 5
DB_UNAVAILABLE = "db.unavailable"
_DB_UNAVAILABLE_MESSAGE = (
    "the database cannot be reached right now; nothing was changed: try again after"
    " Retry-After seconds (operators: check the database is running and reachable)"
)


class ApiError(BakusokuError):
    """Raised by endpoints to answer with an HTTP status, a code, a message and the field at fault."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        field: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message, code=code)
        self.status = status
        self.field = field
        self.headers = headers


class ErrorDetail(BaseModel):
    code: str = Field(description="stable identifier, e.g. photo.not_found")
    message: str = Field(description="what was wrong and what to do")
    field: str | None = Field(None, description="the request field at fault, if one is")


class ErrorResponse(BaseModel):
    """The body of every answer of 400 and above."""

    error: ErrorDetail


_MEANINGS = {
    400: "the request is not valid: `error.field` names the part at fault",
    401: "no API key, or not a valid one",
    403: "the key's role does not allow this",
    404: "not found, or not reachable with this key",
    408: "the request was not sent in time: send it again, whole",
    409: "not possible in the resource's current state",
    413: "the request body is over the API's limit",
    415: "the body's Content-Type is not one this route reads",
    429: "too many requests with this key: see Retry-After",
    503: "a dependency is unavailable (`db.unavailable`: the database, `storage.unavailable`:"
    " the object store): try again after Retry-After seconds",
}
RETRY_AFTER_HEADER = {
    "Retry-After": {
        "description": "seconds to wait before trying again",
        "schema": {"type": "integer"},
    }
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` of a route: the error statuses it answers, each with the error body."""
    return {s: error_response_description(s) | {"model": ErrorResponse} for s in statuses}


def error_response_description(status: int) -> dict[str, Any]:
    """An error status as OpenAPI describes it (without the body's schema)."""
    description: dict[str, Any] = {"description": _MEANINGS[status]}
    if status in (429, 503):
        description["headers"] = RETRY_AFTER_HEADER
    return description


def error_body(code: str, message: str, field: str | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if field:
        error["field"] = field
    return {"error": error}


def db_unavailable_body() -> dict[str, Any]:
    return error_body(DB_UNAVAILABLE, _DB_UNAVAILABLE_MESSAGE)


def is_database_unavailable(exc: BaseException) -> bool:
    """A database failure that passes by itself (lost, refused, busy): a 503, not a 500."""
    return isinstance(exc, DatabaseUnavailableError) or (
        isinstance(exc, sa.exc.SQLAlchemyError) and is_transient(exc)
    )


def never_repeat(app: FastAPI, *credentials: str) -> None:
    """Credentials the server holds (the admin token) that no error answer of ``app`` repeats
    any part of, whoever asks, as it never repeats the caller's own Authorization header."""
    app.state.never_repeated = tuple(c for c in credentials if c)


def _credentials(request: Request) -> list[str]:
    """What an error answer to ``request`` repeats no part of."""
    state = getattr(request.scope.get("app"), "state", None)
    held: tuple[str, ...] = getattr(state, "never_repeated", ())
    return [*request.headers.getlist("authorization"), *held]


def error_json(
    request: Request,
    status: int,
    code: str,
    message: str,
    field: str | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """The error answer, without any part of the caller's or server's credentials and without
    anything shaped like a key: every error answer of a route is made here."""
    credentials = _credentials(request)
    body = error_body(
        code,
        redact(message, *credentials),
        redact(field, *credentials) if field else None,
    )
    return JSONResponse(body, status, headers)


def _field_name(location: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in location if p not in ("body", "query", "path")]
    return ".".join(parts) or "body"


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    first = exc.errors()[0]
    field = _field_name(first.get("loc", ()))
    if first.get("type") == "json_invalid":
        strict = refusal(str((first.get("ctx") or {}).get("error", "")))
        message = f"{_MALFORMED}: {strict}" if strict else _MALFORMED
        return error_json(request, 400, "request.malformed_json", message, "body")
    message = f"{field}: {first.get('msg', 'invalid value')}"
    return error_json(request, 400, "request.invalid", message, field)


_MALFORMED = "the request body is not valid JSON"
# FastAPI's detail when it cannot decode a JSON body at all (bytes that are not UTF-8 text).
_BODY_UNREADABLE = "There was an error parsing the body"


async def _api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    headers = exc.headers
    if exc.status == 503:  # a dependency is down: say when to come back
        headers = {"Retry-After": str(RETRY_AFTER_SECONDS), **(headers or {})}
    return error_json(request, exc.status, exc.code, exc.message, exc.field, headers)


async def _not_found(request: Request, exc: Exception) -> JSONResponse:
    return error_json(request, 404, getattr(exc, "code", "not_found"), str(exc))


async def _bad_cursor(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, InvalidCursorError)
    return error_json(request, 400, exc.code, exc.message, "cursor")


async def _unsupported_body(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, UnsupportedBodyTypeError)
    return error_json(request, 415, exc.code, exc.message)


async def _unsupported(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ExecutionsUnsupportedError)
    return error_json(request, 501, exc.code, exc.message)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400 and exc.detail == _BODY_UNREADABLE:  # e.g. not UTF-8
        return error_json(request, 400, "request.malformed_json", _MALFORMED, "body")
    if exc.status_code == 405:
        return _method_not_allowed(request, exc)
    if exc.status_code == 404:  # no route has the path: the router's "Not Found" says no more
        return error_json(request, 404, "not_found", _NO_ROUTE)
    return error_json(request, exc.status_code, "http_error", str(exc.detail))


_NO_ROUTE = (
    "nothing is at this path (the value sent is not repeated here): the API's routes are listed"
    " in /openapi.json and described at /docs"
)


def _allowed_methods(request: Request, exc: StarletteHTTPException) -> list[str]:
    """Every method the request's path takes: the router's Allow names only the first route
    whose path matched, and a path such as a photo's has one route per method, all of which
    the API description lists."""
    allowed = {m.strip() for m in (exc.headers or {}).get("Allow", "").split(",") if m.strip()}
    path = request.scope["path"]
    for template, operations in request.app.openapi().get("paths", {}).items():
        if _template_pattern(template).fullmatch(path):
            allowed |= {m.upper() for m in operations if m.upper() in _METHOD_ORDER}
    return sorted(allowed & set(_METHOD_ORDER), key=_METHOD_ORDER.index)


def _template_pattern(template: str) -> re.Pattern[str]:
    """``/v1/photos/{photo_id}`` as a pattern of the paths it describes."""
    parts = re.split(r"(\{[^}/]+\})", template)
    return re.compile("".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts))


_METHOD_ORDER = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def _method_not_allowed(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    """405 that says what to send instead, and Allow, which RFC 9110 asks of every 405."""
    allowed = _allowed_methods(request, exc)
    # a method is a short token (the HTTP parser takes known ones only): named, as sent
    method = request.method if re.fullmatch(r"[A-Z-]{1,16}", request.method) else "the method"
    message = f"{method} is not a method of this path; use {' or '.join(allowed)}"
    return error_json(
        request, 405, "method_not_allowed", message, headers={"Allow": ", ".join(allowed)}
    )


def db_unavailable_response() -> JSONResponse:
    return JSONResponse(db_unavailable_body(), 503, {"Retry-After": str(RETRY_AFTER_SECONDS)})


async def _database_error(_request: Request, exc: Exception) -> JSONResponse:
    """A route met the database down: 503, so the client retries; another database error is a
    bug and goes on to the 500 answer."""
    if not is_database_unavailable(exc):
        raise exc
    log.warning("answered 503 db.unavailable: %s", str(exc).splitlines()[0][:300])
    return db_unavailable_response()


async def _internal_error(_request: Request, exc: Exception) -> JSONResponse:
    """Anything else: a JSON 500 that says nothing of the request (the server logs the error)."""
    if is_database_unavailable(exc):
        return db_unavailable_response()
    return JSONResponse(
        error_body(
            "internal",
            "the server failed to answer this request; try again, and tell the operators if it"
            " persists",
        ),
        500,
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(PhotoNotFoundError, _not_found)
    app.add_exception_handler(InvalidCursorError, _bad_cursor)
    app.add_exception_handler(ExecutionsUnsupportedError, _unsupported)
    app.add_exception_handler(UnsupportedBodyTypeError, _unsupported_body)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(DatabaseUnavailableError, _database_error)
    app.add_exception_handler(sa.exc.SQLAlchemyError, _database_error)
    app.add_exception_handler(Exception, _internal_error)
