"""Access control on the HTTP API: bearer authentication, roles, scopes and security headers.

``AuthMiddleware`` authenticates every request except ``/healthz``, ``/readyz``, the web app's pages and static
files and the API description, so a route added later is never public by accident. Routes read
the caller with ``Depends(current_principal)`` and check their scope with the helpers here.
"""

from __future__ import annotations

import hmac
import json
import posixpath
import re
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Annotated, Any
from urllib.parse import urlsplit

import anyio.to_thread
import sqlalchemy as sa
from fastapi import Depends, FastAPI, Request, Security
from fastapi.openapi.utils import get_openapi
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic.json_schema import models_json_schema

from bakusoku.api.errors import (
    RETRY_AFTER_SECONDS,
    ApiError,
    ErrorResponse,
    db_unavailable_body,
    error_body,
    error_response_description,
    is_database_unavailable,
    never_repeat,
)
from bakusoku.api.parent_access import (
    COOKIE,
    SESSION_PATH,
    ParentAccess,
    parent_path,
    session_cookie,
)
from bakusoku.api.quoting import EXECUTION_NAME, PHOTO_ID, repeatable
from bakusoku.auth.admin_token import ensure_admin_token
from bakusoku.auth.audit import AuditLog
from bakusoku.auth.keys import KeyStore
from bakusoku.auth.principal import OPERATOR, Principal
from bakusoku.auth.ratelimit import RateLimiter
from bakusoku.auth.scope import key_visible
from bakusoku.config import ConfigError, Settings
from bakusoku.domain.keys import ALBUM_PATTERN, EXTENSIONS

MAX_PRESIGN_EXPIRY_SECONDS = 3600
MAX_RENDITION_URL_EXPIRY_SECONDS = 3600

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_PUBLIC_PATHS = {
    "/healthz",
    "/readyz",
    "/",
    "/upload",
    "/runner",  # a runner's page; its data comes from /v1/runner/ with a runner session
    "/line/webhook",  # LINE's webhook: its x-line-signature is the permission
    "/ops/graph",  # the system map's page; its data comes from /v1/graph with the admin token
    "/p",  # the parents' page; its data comes from /v1/parent with the session cookie
    "/p/",
    "/docs",
    "/docs/oauth2-redirect",
    "/openapi.json",
}
# The photo page and a race's bib review: their data comes from /v1 with the key.
_PAGE = re.compile(r"/photos/[^/]+|/races/[^/]+/bibs")
_WEB_PAGES = {"/", "/upload", "/runner", "/ops/graph", "/p", "/p/"}
_DOCS_PAGES = {"/docs", "/docs/oauth2-redirect"}

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="apiKey",
    description="An API key (`bakusoku keys create`) or the admin token.",
)


@dataclass
class AccessControl:
    """Keys, the admin token, presign limits and the audit log of one API deployment."""

    settings: Settings
    keys: KeyStore
    audit: AuditLog
    limiter: RateLimiter
    admin_token: str
    parents: ParentAccess
    store_origins: tuple[str, ...] = field(default=())
    # Where pages fetch /img pictures when that is not the API (transform_url, the edge).
    image_origins: tuple[str, ...] = field(default=())

    @classmethod
    def from_settings(cls, settings: Settings, engine: sa.Engine) -> AccessControl:
        if not 1 <= settings.presign_expiry_seconds <= MAX_PRESIGN_EXPIRY_SECONDS:
            raise ConfigError(
                f"setting 'presign_expiry_seconds' is {settings.presign_expiry_seconds}: presigned"
                f" uploads may live at most {MAX_PRESIGN_EXPIRY_SECONDS} seconds (1 hour)"
            )
        if not 1 <= settings.rendition_url_expiry_seconds <= MAX_RENDITION_URL_EXPIRY_SECONDS:
            raise ConfigError(
                "setting 'rendition_url_expiry_seconds' is"
                f" {settings.rendition_url_expiry_seconds}: rendition links may live at most"
                f" {MAX_RENDITION_URL_EXPIRY_SECONDS} seconds"
            )
        origins = [_origin(settings.store_url)]
        if settings.object_store == "s3":
            origins.append("https://*.amazonaws.com")
        return cls(
            settings=settings,
            keys=KeyStore(engine),
            audit=AuditLog(engine),
            limiter=RateLimiter(settings.presign_rate_per_minute, settings.presign_burst),
            admin_token=ensure_admin_token(settings),
            parents=ParentAccess.from_settings(settings, engine),
            store_origins=tuple(o for o in origins if o),
            image_origins=tuple(o for o in [_origin(settings.transform_url)] if o),
        )

    @property
    def upload_prefix(self) -> str:
        return self.settings.upload_prefix

    def authenticate(self, token: str) -> Principal | None:
        if self.admin_token and hmac.compare_digest(token.encode(), self.admin_token.encode()):
            return OPERATOR
        return self.keys.authenticate(token)

    def visible(self, principal: Principal, key: str | None) -> bool:
        return key_visible(principal, key, self.upload_prefix)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


# ---- request helpers ----------------------------------------------------------------------------


def current_principal(
    request: Request,
    _credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)] = None,
) -> Principal:
    """The caller, as AuthMiddleware authenticated it."""
    principal = request.scope.get("state", {}).get("principal")
    if not isinstance(principal, Principal):
        raise ApiError(401, "auth.required", _MISSING)
    return principal


# A route parameter ``principal: Caller`` is the authenticated caller of the request.
Caller = Annotated[Principal, Depends(current_principal)]


def require_role(principal: Principal, role: str) -> None:
    if not principal.has_role(role):
        raise ApiError(
            403,
            "auth.forbidden",
            f"this key's role is {principal.role}; this needs a {role} key"
            " (`bakusoku keys create --role ...`)",
        )


def require_operator(principal: Principal) -> None:
    if not principal.is_operator:
        raise ApiError(
            403,
            "auth.forbidden",
            "this is an operations endpoint: call it with the admin token, not a service key",
        )


# What a missing photo, album or execution answers, and so what one of another service (or of an
# album the key does not reach) answers too, byte for byte. The value asked for is repeated only
# when it has the shape of one (never a key pasted in its place).


def photo_not_found(photo_id: str) -> ApiError:
    if repeatable(photo_id, PHOTO_ID):
        return ApiError(404, "photo.not_found", f"no photo has the id {photo_id!r}")
    return ApiError(
        404,
        "photo.not_found",
        "no photo has the id given: photo ids are UUIDs such as"
        " 0b8e4c52-6f1d-4a7e-9c3b-2d5f8a1e7b90 (the value sent is not repeated here)",
    )


def album_not_found(album: str) -> ApiError:
    if repeatable(album, ALBUM_PATTERN):
        message = f"no album {album!r} is reachable with this key"
    else:
        message = (
            "no album of the name given is reachable with this key: album names are 1-64 ASCII"
            " letters, digits, '_' and '-' (the value sent is not repeated here)"
        )
    return ApiError(404, "album.not_found", message, "album")


def execution_not_found(name: str) -> ApiError:
    if repeatable(name, EXECUTION_NAME):
        return ApiError(404, "execution.not_found", f"execution {name!r} does not exist")
    return ApiError(
        404,
        "execution.not_found",
        "no execution has the name given: execution names are 1-80 letters, digits, '-' and"
        " '_' (the value sent is not repeated here)",
    )


def check_album(principal: Principal, album: str | None) -> None:
    """404 for an album the key does not reach (another service's looks like a missing one)."""
    if (
        album is not None
        and not principal.is_operator
        and not principal.allows(principal.service, album)
    ):
        raise album_not_found(album)


def rendition_url(presigner: Any, bucket: str, key: str, expires_in: int) -> str:
    """A signed GET of one rendition: its own type, inline, named after the rendition only."""
    name = posixpath.basename(key)
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    types = {v: k for k, v in EXTENSIONS.items()} | {"jpeg": "image/jpeg"}
    return str(
        presigner.presign_get(
            bucket,
            key,
            expires_in=expires_in,
            response_content_type=types.get(ext, "application/octet-stream"),
            response_content_disposition=f'inline; filename="{_safe_filename(name)}"',
        )
    )


def _safe_filename(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", name)[:100] or "file"


# ---- the middleware -----------------------------------------------------------------------------

_MISSING = (
    "this endpoint needs an API key: send 'Authorization: Bearer <key>'"
    " (create one with `bakusoku keys create --service S`)"
)
_INVALID = (
    "the API key is not valid or was revoked; check that it was copied whole,"
    " or create a new one with `bakusoku keys create`"
)
_NO_SESSION = (
    "this needs a parent's session: enter the album code on the parents' page (/p/); a session"
    " ends after a while, or when the code is withdrawn"
)


def is_public(path: str) -> bool:
    # /img/...: signed transform URLs carry their own permission (bakusoku.api.routes.transforms);
    # /v1/runner/...: a runner session (bakusoku.api.routes.runners), checked by the routes
    return (
        path in _PUBLIC_PATHS
        or path.startswith(("/static/", "/img/", "/v1/runner/"))
        or bool(_PAGE.fullmatch(path))
    )


class AuthMiddleware:
    """Authenticates API requests and adds security headers to every response."""

    def __init__(self, app: ASGIApp, access: AccessControl) -> None:
        self.app = app
        self.access = access
        store = " ".join(access.store_origins)
        # The pages' srcset points at the transform edge when there is one: pictures only, so
        # it joins img-src, never connect-src.
        images = " ".join((*access.store_origins, *access.image_origins))
        self.page_csp = (
            "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline';"
            f" img-src 'self' data: blob: {images}; connect-src 'self' {store};"
            " object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
        )
        # FastAPI's /docs page loads Swagger UI from jsDelivr and starts it with an inline script.
        self.docs_csp = (
            "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net;"
            " style-src 'self' https://cdn.jsdelivr.net; img-src 'self' data:"
            " https://fastapi.tiangolo.com; object-src 'none'; base-uri 'none';"
            " frame-ancestors 'none'"
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        public = is_public(path)
        send = self._with_headers(send, path, public)
        if parent_path(path):
            # Only the session cookie opens the parent API, and only it: never a bearer key.
            redeeming = path == SESSION_PATH and scope.get("method") == "POST"
            if not redeeming and not await self._parent(scope, send):
                return
        elif not public:
            if (count := _authorization_headers(scope)) > 1:
                await _refuse_malformed(send, count)
                return
            token = _bearer_token(scope)
            if token is None:
                await _reject(send, _MISSING)
                return
            try:
                principal = await anyio.to_thread.run_sync(self.access.authenticate, token)
            except Exception as exc:
                if not is_database_unavailable(exc):
                    raise
                await _unavailable(send)
                return
            if principal is None:
                await _reject(send, _INVALID)
                return
            scope.setdefault("state", {})["principal"] = principal
        await self.app(scope, receive, send)

    async def _parent(self, scope: Scope, send: Send) -> bool:
        """Put the parent's session on ``scope``; False (answered) when there is none."""
        token = session_cookie(scope)
        try:
            session = (
                await anyio.to_thread.run_sync(self.access.parents.authenticate, token)
                if token
                else None
            )
        except Exception as exc:
            if not is_database_unavailable(exc):
                raise
            await _unavailable(send)
            return False
        if session is None:
            await _reject(send, _NO_SESSION)
            return False
        state = scope.setdefault("state", {})
        state["principal"] = session.principal
        state["parent_session"] = session
        return True

    def _with_headers(self, send: Send, path: str, public: bool) -> Send:
        if path in _WEB_PAGES or _PAGE.fullmatch(path):
            csp = self.page_csp
        elif path in _DOCS_PAGES:
            csp = self.docs_csp
        else:
            csp = "default-src 'none'; frame-ancestors 'none'"

        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, v)
                    for k, v in message.get("headers", [])
                    # never a wildcard CORS grant on what needs a key
                    if public or not (k.lower() == b"access-control-allow-origin" and v == b"*")
                ]
                names = {k.lower() for k, _ in headers}
                extra = [
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"no-referrer"),
                    (b"x-frame-options", b"DENY"),
                    (b"content-security-policy", csp.encode()),
                ]
                # answers carry signed links (a runner's too): never cached
                if not public or path.startswith("/v1/runner/"):
                    headers = [(k, v) for k, v in headers if k.lower() != b"cache-control"]
                    extra.append((b"cache-control", b"no-store"))
                headers += [(k, v) for k, v in extra if k not in names or k == b"cache-control"]
                message["headers"] = headers
            await send(message)

        return wrapped


def _authorization_headers(scope: Scope) -> int:
    return sum(1 for name, _ in scope.get("headers", []) if name.lower() == b"authorization")


async def _refuse_malformed(send: Send, count: int) -> None:
    """Authorization is one field (RFC 9110): with two, the server would read the first and a
    proxy or log in front perhaps the other; neither is taken."""
    body = json.dumps(
        error_body(
            "request.malformed",
            f"the request has {count} Authorization headers; send one, with one key",
        )
    ).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    await send({"type": "http.response.start", "status": 400, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _bearer_token(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name.lower() == b"authorization":
            scheme, _, token = value.decode("latin-1").strip().partition(" ")
            token = token.strip()
            if scheme.lower() == "bearer" and token and len(token) <= 512:
                return token
            return None
    return None


async def _reject(send: Send, message: str) -> None:
    codes = {id(_MISSING): "auth.required", id(_NO_SESSION): "parent.session_required"}
    code = codes.get(id(message), "auth.invalid_key")
    body = json.dumps(error_body(code, message)).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    if message is _NO_SESSION:  # forget a cookie that no longer opens anything
        headers.append(
            (
                b"set-cookie",
                f"{COOKIE}=; Path=/v1/parent; Max-Age=0; HttpOnly; SameSite=Strict".encode(),
            )
        )
    else:
        headers.append((b"www-authenticate", b'Bearer realm="bakusoku"'))
    await send({"type": "http.response.start", "status": 401, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _unavailable(send: Send) -> None:
    """The key could not be checked: the database is down (503, so the client retries)."""
    body = json.dumps(db_unavailable_body()).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"retry-after", str(RETRY_AFTER_SECONDS).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


# ---- installing -----------------------------------------------------------------------------------


def _error_schema(schema: dict[str, Any]) -> dict[str, str]:
    """A reference to the error body's schema, added to ``schema``'s components if missing."""
    _, defs = models_json_schema(
        [(ErrorResponse, "serialization")], ref_template="#/components/schemas/{model}"
    )
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for name, definition in defs.get("$defs", {}).items():
        components.setdefault(name, definition)
    return {"$ref": f"#/components/schemas/{ErrorResponse.__name__}"}


def _error_response(ref: dict[str, str], status: int) -> dict[str, Any]:
    described = error_response_description(status)
    return described | {"content": {"application/json": {"schema": ref}}}


def install_access_control(app: FastAPI, access: AccessControl) -> None:
    """Authenticate every request of ``app`` and describe the bearer scheme in its OpenAPI."""
    app.state.access = access
    never_repeat(app, access.admin_token)
    app.add_middleware(AuthMiddleware, access=access)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title, version=app.version, routes=app.routes, description=app.description
        )
        schemes = schema.setdefault("components", {}).setdefault("securitySchemes", {})
        schemes["apiKey"] = {
            "type": "http",
            "scheme": "bearer",
            "description": bearer.model.description,
        }
        schemes["parentSession"] = {
            "type": "apiKey",
            "in": "cookie",
            "name": COOKIE,
            "description": "A parent's session, set by POST /v1/parent/session with an album code.",
        }
        error = _error_schema(schema)
        for path, operations in schema.get("paths", {}).items():
            for method, operation in operations.items():
                if not isinstance(operation, dict):
                    continue
                responses = operation.setdefault("responses", {})
                # Invalid input answers 400 with the error body, not FastAPI's 422 shape.
                if responses.pop("422", None) is not None:
                    responses.setdefault("400", _error_response(error, 400))
                if parent_path(path):
                    redeem = path == SESSION_PATH and method == "post"
                    operation["security"] = [] if redeem else [{"parentSession": []}]
                    if not redeem:
                        responses.setdefault("401", _error_response(error, 401))
                    responses["503"] = _error_response(error, 503)
                elif is_public(path):
                    operation["security"] = []
                    if path.startswith("/v1/"):  # a runner's routes: no key, but the database
                        responses["503"] = _error_response(error, 503)
                else:
                    operation["security"] = [{"apiKey": []}]
                    responses.setdefault("401", _error_response(error, 401))
                    # the key is checked in the database: any route may find it down
                    responses["503"] = _error_response(error, 503)
                if operation.get("requestBody"):
                    responses.setdefault("408", _error_response(error, 408))
                    responses.setdefault("413", _error_response(error, 413))
                    if "application/json" in operation["requestBody"].get("content", {}):
                        # a JSON body sent as another type (api.strict_requests)
                        responses.setdefault("415", _error_response(error, 415))
        for unused in ("HTTPValidationError", "ValidationError"):
            schema["components"].get("schemas", {}).pop(unused, None)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
