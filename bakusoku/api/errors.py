"""API error responses: JSON ``{"error": {"code", "message", "field"?}}`` for every failure."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from bakusoku.api.executions import ExecutionsUnsupportedError
from bakusoku.db.photos import InvalidCursorError, PhotoNotFoundError
from bakusoku.errors import BakusokuError


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
    409: "not possible in the resource's current state",
    429: "too many requests with this key: see Retry-After",
    503: "a dependency is unavailable: try again",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` of a route: the error statuses it answers, each with the error body."""
    return {s: {"model": ErrorResponse, "description": _MEANINGS[s]} for s in statuses}


def error_body(code: str, message: str, field: str | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if field:
        error["field"] = field
    return {"error": error}


def _field_name(location: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in location if p not in ("body", "query", "path")]
    return ".".join(parts) or "body"


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    first = exc.errors()[0]
    field = _field_name(first.get("loc", ()))
    if first.get("type") == "json_invalid":
        return JSONResponse(
            error_body("request.malformed_json", "the request body is not valid JSON", "body"), 400
        )
    message = f"{field}: {first.get('msg', 'invalid value')}"
    return JSONResponse(error_body("request.invalid", message, field), 400)


async def _api_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return JSONResponse(error_body(exc.code, exc.message, exc.field), exc.status, exc.headers)


async def _not_found(_request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse(error_body(getattr(exc, "code", "not_found"), str(exc)), 404)


async def _bad_cursor(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, InvalidCursorError)
    return JSONResponse(error_body(exc.code, exc.message, "cursor"), 400)


async def _unsupported(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ExecutionsUnsupportedError)
    return JSONResponse(error_body(exc.code, exc.message), 501)


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return JSONResponse(error_body(code, str(exc.detail)), exc.status_code)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(PhotoNotFoundError, _not_found)
    app.add_exception_handler(InvalidCursorError, _bad_cursor)
    app.add_exception_handler(ExecutionsUnsupportedError, _unsupported)
    app.add_exception_handler(StarletteHTTPException, _http_error)
