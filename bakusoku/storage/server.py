"""The local S3 endpoint: an ASGI app serving presigned PUT, POST, GET, HEAD and DELETE.

Every other S3 operation (multipart uploads, ACLs, tagging, versions...) answers S3's
``501 NotImplemented`` and stores nothing. Request bodies are read against a deadline
(``http_limits.BodyDeadline``): a client that trickles its body gets S3's ``RequestTimeout``.
What a PUT's headers promise of its body is held to (``put_headers``) before it is stored.
"""

from __future__ import annotations

import errno
import functools
import logging
import re
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import quote, unquote, urlencode

import anyio
import anyio.to_thread
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from bakusoku.storage.base import DEFAULT_CONTENT_TYPE, ObjectInfo
from bakusoku.storage.blocking_body import BlockingBody, BodyTimeout
from bakusoku.storage.cors import CorsRule
from bakusoku.storage.direct_body import DirectBody, direct_body
from bakusoku.storage.errors import (
    ClientDisconnected,
    EntityTooLargeError,
    ObjectExistsError,
    RequestTimeoutError,
    S3Error,
    StorageUnavailableError,
)
from bakusoku.storage.form_upload import (
    FormUpload,
    multipart_boundary,
    post_response_fields,
    post_response_xml,
)
from bakusoku.storage.http_limits import BodyDeadline, ConnectionLimits, request_timeout
from bakusoku.storage.local import LocalObjectStore
from bakusoku.storage.notifications import (
    EVENT_POST,
    EVENT_PUT,
    RequestContext,
    new_host_id,
    new_request_id,
)
from bakusoku.storage.object_response import ObjectResponse, parse_range
from bakusoku.storage.post_policy import PostPolicy
from bakusoku.storage.put_headers import BodyChecks, body_checks, unimplemented_header
from bakusoku.storage.sigv4 import (
    PresignedAuth,
    has_query_auth,
    parse_query,
    uri_encode,
    verify_presigned_request,
)

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
Buffer = bytes | memoryview

# A POST body is the file plus the form fields and boundaries; refuse early only well past that.
_FORM_OVERHEAD = 64 * 1024
# GET/HEAD ?response-* parameters and the response header each one sets, as on S3.
_RESPONSE_OVERRIDES = {
    "response-content-type": "content-type",
    "response-content-disposition": "content-disposition",
    "response-content-language": "content-language",
    "response-content-encoding": "content-encoding",
    "response-cache-control": "cache-control",
    "response-expires": "expires",
}
# Write errors of a disk that cannot hold an object now: full, over quota, over a file size limit,
# failing, or read-only. The upload is not at fault, and can succeed once someone acts.
_DISK_FAILURES = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO, errno.EROFS})
# A chunk at least this large is hashed in a worker thread (hashlib releases the GIL for it).
_THREAD_HASH_BYTES = 64 * 1024
# What a response header's value may hold: Latin-1 text with tabs, no other control character.
_HEADER_VALUE = re.compile(r"[\t\x20-\x7e\x80-\xff]*")
# Query parameters that select an S3 operation (a "subresource") this store does not implement.
_UNSUPPORTED_SUBRESOURCES = frozenset(
    {
        "accelerate", "acl", "analytics", "attributes", "cors", "delete", "encryption",
        "intelligent-tiering", "inventory", "legal-hold", "lifecycle", "list-type", "location",
        "logging", "metrics", "notification", "object-lock", "ownershipControls", "partNumber",
        "policy", "policyStatus", "publicAccessBlock", "replication", "requestPayment", "restore",
        "retention", "select", "select-type", "session", "tagging", "torrent", "uploadId",
        "uploads", "versionId", "versioning", "versions", "website",
    }
)  # fmt: skip


# Worker threads that may each receive and store one upload at once (mostly waiting on a socket).
LENDING_THREADS = 32


def create_store_app(
    store: LocalObjectStore,
    *,
    credentials: Mapping[str, str],
    region: str,
    max_object_size: int,
    limits: ConnectionLimits,
    cors_origins: Sequence[str] = ("*",),
    clock: Clock | None = None,
    on_upload: Callable[[], None] | None = None,
    lending_threads: int = LENDING_THREADS,
) -> StoreApp:
    """The ASGI app of the local S3 endpoint for ``store`` (path-style ``/{bucket}/{key}``).

    Every request must be presigned with SigV4 by a key in ``credentials`` (access key -> secret)
    for ``region``; ``clock`` (UTC ``datetime``) decides expiry and can be moved in tests. PUT
    bodies over ``max_object_size`` are refused before they are read, and every body must arrive
    by ``limits``' body deadline. The store's event sink runs in a worker thread, once per stored
    object, before the client gets its 200/204. Serve it with
    ``http_limits.store_server_config`` so the connection limits hold too. ``on_upload`` is
    called as each part of an upload's body arrives (the embedded deployment holds its background
    processing meanwhile: ``local.upload_priority``); it must return at once. Up to
    ``lending_threads`` large PUTs at once are each received and stored by one worker thread
    (``storage.blocking_body``); more are read by the event loop.
    """
    return StoreApp(
        store,
        credentials=dict(credentials),
        region=region,
        max_object_size=max_object_size,
        limits=limits,
        cors=CorsRule(allowed_origins=tuple(cors_origins)),
        clock=clock or _utc_now,
        on_upload=on_upload or _nothing,
        lending_threads=lending_threads,
    )


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _nothing() -> None:
    return None


@dataclass
class _Request:
    method: str
    raw_path: str
    raw_query: str
    headers: list[tuple[str, str]]
    client_ip: str
    request_id: str
    host_id: str
    direct: DirectBody | None  # a large PUT's body, read straight into buffers

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key == name:
                return value
        return None

    @property
    def resource(self) -> str:
        return unquote(self.raw_path)


class StoreApp:
    """Plain ASGI, so request bodies stream from the socket to the temp file untouched."""

    def __init__(
        self,
        store: LocalObjectStore,
        *,
        credentials: Mapping[str, str],
        region: str,
        max_object_size: int,
        limits: ConnectionLimits,
        cors: CorsRule,
        clock: Clock,
        on_upload: Callable[[], None],
        lending_threads: int = LENDING_THREADS,
    ) -> None:
        self.store = store
        self.credentials = credentials
        self.region = region
        self.max_object_size = max_object_size
        self.limits = limits
        self.cors = cors
        self.clock = clock
        self.on_upload = on_upload
        self._lending_count = lending_threads
        self._lending: anyio.CapacityLimiter | None = None

    def _lending_threads(self) -> anyio.CapacityLimiter:
        if self._lending is None:  # made on the serving event loop, by its first upload
            self._lending = anyio.CapacityLimiter(self._lending_count)
        return self._lending

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        request = _request(scope)
        try:
            response = await self._handle(request, receive)
        except ClientDisconnected:
            if request.direct is not None:
                request.direct.abandon()
            return
        except S3Error as exc:
            response = self._error(request, exc)
            if isinstance(
                exc, RequestTimeoutError
            ):  # the rest of its body is not worth waiting for
                response.headers["connection"] = "close"
        except StorageUnavailableError as exc:  # e.g. the event outbox's database is down
            log.warning(
                "store request %s %s answered 503: %s", request.method, request.resource, exc
            )
            response = self._unavailable(request)
        except OSError as exc:
            if exc.errno not in _DISK_FAILURES:
                log.exception("store request %s %s failed", request.method, request.resource)
                response = self._internal_error(request)
            else:  # nothing was stored (the write is undone); the upload can succeed later
                log.error(
                    "store request %s %s answered 503: the object store's disk refused the"
                    " write (%s); free space under the data directory or check the disk",
                    request.method,
                    request.resource,
                    exc,
                )
                response = self._unavailable(request)
        except Exception:
            log.exception("store request %s %s failed", request.method, request.resource)
            response = self._internal_error(request)
        if request.direct is not None:  # answered: whatever is left of the body is dropped
            request.direct.abandon()
        response.headers["x-amz-request-id"] = request.request_id
        response.headers["x-amz-id-2"] = request.host_id
        response.headers["x-content-type-options"] = "nosniff"  # served as stored, never sniffed
        if request.method != "OPTIONS":
            origin = request.header("origin")
            for name, value in self.cors.response_headers(origin, request.method).items():
                response.headers[name] = value
        await response(scope, receive, send)

    async def _handle(self, request: _Request, receive: Receive) -> Response:
        method = request.method
        if method == "OPTIONS":
            return Response(
                status_code=200,
                headers=self.cors.preflight(
                    request.header("origin"),
                    request.header("access-control-request-method"),
                    request.header("access-control-request-headers") or "",
                ),
            )
        bucket, key = _split_path(request.raw_path)
        unsupported = _unsupported_subresource(request.raw_query)
        if unsupported is not None:
            self._authenticate(request)
            raise _not_implemented(
                f"The local store does not implement the S3 operation selected by the query"
                f" parameter {unsupported!r}: upload with one presigned PUT or POST; multipart"
                " uploads, ACLs, tagging and versions are not supported."
            )
        if not bucket:
            raise _not_implemented("Listing buckets is not supported by the local store.")
        if key is None:
            if method == "POST":
                return await self._post(request, receive, bucket)
            raise _not_implemented(
                "Bucket operations other than POST form uploads are not supported by the local"
                " store."
            )
        if method == "PUT":
            return await self._put(request, receive, bucket, key)
        if method in ("GET", "HEAD"):
            return await self._get(request, bucket, key)
        if method == "DELETE":
            self._authenticate(request)
            await anyio.to_thread.run_sync(self.store.delete_object, bucket, key)
            return Response(status_code=204)
        raise S3Error(
            "The specified method is not allowed against this resource.",
            code="MethodNotAllowed",
            status=405,
            extra={"Method": method, "ResourceType": "OBJECT"},
        )

    # ---- authentication ------------------------------------------------------------------------

    def _authenticate(self, request: _Request) -> PresignedAuth:
        if not has_query_auth(parse_query(request.raw_query)):
            if request.header("authorization") is not None:
                raise _not_implemented(
                    "The local store accepts presigned (query-string) SigV4 requests only;"
                    " presign with bakusoku.storage.presign.Presigner."
                )
            raise S3Error(
                "Access Denied: the request is not signed; use a presigned URL.",
                code="AccessDenied",
                status=403,
            )
        if request.header("authorization") is not None:  # which of the two would be verified?
            raise S3Error(
                "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter,"
                " Signature query string parameter or the Authorization header should be"
                " specified. Send the presigned URL without an Authorization header.",
                code="InvalidArgument",
                status=400,
                extra={"ArgumentName": "Authorization", "ArgumentValue": "(not repeated)"},
            )
        return verify_presigned_request(
            method=request.method,
            raw_path=request.raw_path,
            raw_query=request.raw_query,
            headers=request.headers,
            credentials=self.credentials,
            region=self.region,
            now=self.clock(),
        )

    def _context(self, request: _Request, access_key: str, event_name: str) -> RequestContext:
        return RequestContext(
            event_name=event_name,
            principal_id=f"AWS:{access_key}",
            source_ip=request.client_ip,
            request_id=request.request_id,
            host_id=request.host_id,
        )

    # ---- PUT -----------------------------------------------------------------------------------

    async def _put(self, request: _Request, receive: Receive, bucket: str, key: str) -> Response:
        auth = self._authenticate(request)
        size = int(_declared_length(request))
        if size > self.max_object_size:
            raise EntityTooLargeError(
                f"Your proposed upload exceeds the maximum allowed size: {size} bytes, limit"
                f" {self.max_object_size}.",
                extra={"ProposedSize": str(size), "MaxSizeAllowed": str(self.max_object_size)},
            )
        for unsupported in ("if-match", "x-amz-copy-source"):
            if request.header(unsupported) is not None:
                raise _not_implemented(
                    "A header you provided implies functionality that is not implemented",
                    header=unsupported,
                )
        unkept = unimplemented_header(request.headers)
        if unkept is not None:
            raise _not_implemented(
                f"A header you provided implies functionality that is not implemented: {unkept}."
                " This store keeps an object's bytes, type and x-amz-meta-* metadata only (no"
                " tags, ACLs, storage classes, encryption settings or object lock); send the PUT"
                " without it.",
                header=unkept,
            )
        if_none_match = request.header("if-none-match")
        if if_none_match is not None and if_none_match.strip() != "*":
            raise _not_implemented(
                "A header you provided implies functionality that is not implemented: PUT supports"
                " only If-None-Match: *.",
                header="If-None-Match",
            )
        checks = body_checks(request.headers)
        metadata = {
            name[len("x-amz-meta-") :]: value
            for name, value in request.headers
            if name.startswith("x-amz-meta-")
        }
        deadline = BodyDeadline(self.limits)
        options: dict[str, Any] = {
            "content_type": request.header("content-type") or DEFAULT_CONTENT_TYPE,
            "metadata": metadata,
            "if_none_match": if_none_match is not None,
            "max_size": size,
            "context": self._context(request, auth.access_key, EVENT_PUT),
            "content_md5": request.header("content-md5"),
        }
        direct = request.direct
        # The whole upload in one worker thread, while one is free; beyond that (e.g. many slow
        # clients at once) the event loop reads the body, so a queued upload never waits for a
        # thread while its deadline runs.
        lending = self._lending_threads()
        lent = direct.lend() if direct and lending.available_tokens >= 1 else None
        if direct is not None and lent is not None:
            body = _lent_body(lent, deadline, checks, self.on_upload)
            put = functools.partial(self.store.put_object, bucket, key, body, **options)
            try:
                info = await anyio.to_thread.run_sync(put, limiter=lending)
            finally:
                direct.returned(lent)
            return self._put_response(info, checks)
        chunks: AsyncIterator[Buffer] = (
            _direct_body(direct, deadline, self.on_upload)
            if direct
            else _body(receive, size, deadline, self.on_upload)
        )
        info = await self.store.put_stream(
            bucket,
            key,
            chunks if checks is None else _checked(chunks, checks),
            release=direct.release if direct else None,
            **options,
        )
        return self._put_response(info, checks)

    @staticmethod
    def _put_response(info: ObjectInfo, checks: BodyChecks | None) -> Response:
        answer = {"ETag": info.etag}
        if checks is not None:
            answer.update(checks.response_headers)
        return Response(status_code=200, headers=answer)

    # ---- POST (browser form) -------------------------------------------------------------------

    async def _post(self, request: _Request, receive: Receive, bucket: str) -> Response:
        boundary = multipart_boundary(request.header("content-type"))
        declared = _declared_length(request)  # a chunked form could stream ignored parts for ever
        if int(declared) > self.max_object_size + _FORM_OVERHEAD:
            raise EntityTooLargeError(
                "Your proposed upload exceeds the maximum allowed size",
                extra={"ProposedSize": declared, "MaxSizeAllowed": str(self.max_object_size)},
            )

        def context(policy: PostPolicy) -> RequestContext:
            return self._context(request, policy.access_key, EVENT_POST)

        form = FormUpload(
            self.store,
            bucket,
            boundary,
            credentials=self.credentials,
            region=self.region,
            now=self.clock(),
            max_object_size=self.max_object_size,
            context=context,
        )
        try:
            async for chunk in _body(receive, None, BodyDeadline(self.limits), self.on_upload):
                form.write(chunk)
        except BaseException:
            form.abort()
            raise
        pending = form.finish()
        info = await anyio.to_thread.run_sync(pending.commit)
        return self._post_response(request, info, form.fields)

    def _post_response(
        self, request: _Request, info: ObjectInfo, fields: Mapping[str, str]
    ) -> Response:
        host = request.header("host") or "localhost"
        location = f"http://{host}/{quote(info.bucket)}/{quote(info.key)}"
        headers = {"ETag": info.etag, "Location": location}
        redirect, status = post_response_fields(fields)
        if redirect:
            query = urlencode({"bucket": info.bucket, "key": info.key, "etag": info.etag})
            separator = "&" if "?" in redirect else "?"
            headers["Location"] = f"{redirect}{separator}{query}"
            return Response(status_code=303, headers=headers)
        if status == "201":
            return Response(
                post_response_xml(location, info),
                status_code=201,
                headers=headers,
                media_type="application/xml",
            )
        return Response(status_code=200 if status == "200" else 204, headers=headers)

    # ---- GET / HEAD ----------------------------------------------------------------------------

    async def _get(self, request: _Request, bucket: str, key: str) -> Response:
        self._authenticate(request)
        reader = await anyio.to_thread.run_sync(self.store.open_object, bucket, key)
        try:
            info = reader.info
            headers = {
                "ETag": info.etag,
                "Last-Modified": format_datetime(info.last_modified.astimezone(UTC), usegmt=True),
                "Accept-Ranges": "bytes",
            }
            headers.update({f"x-amz-meta-{name}": value for name, value in info.metadata.items()})
            not_modified = _conditional(request, info)
            if not_modified is not None:
                not_modified.headers.update(headers)
                reader.close()
                return not_modified
            content_type = info.content_type
            for param, value in parse_query(request.raw_query):
                header = _RESPONSE_OVERRIDES.get(param)
                if header is not None:
                    _check_header_value(param, value)
                if header == "content-type":
                    content_type = value
                elif header is not None:
                    headers[header] = value
            return ObjectResponse(
                reader,
                headers=headers,
                media_type=content_type,
                byte_range=parse_range(request.header("range"), info.size),
                head_only=request.method == "HEAD",
                write_timeout=self.limits.body_timeout_seconds,
            )
        except BaseException:
            reader.close()
            raise

    # ---- errors --------------------------------------------------------------------------------

    def _unavailable(self, request: _Request) -> Response:
        """S3's 503 ServiceUnavailable: nothing was stored, the same request may succeed later."""
        response = self._error(
            request,
            S3Error(
                "Service is unable to handle request right now. Please try again.",
                code="ServiceUnavailable",
                status=503,
            ),
        )
        response.headers["retry-after"] = "1"
        return response

    def _internal_error(self, request: _Request) -> Response:
        return self._error(
            request,
            S3Error(
                "We encountered an internal error. Please try again.",
                code="InternalError",
                status=500,
            ),
        )

    def _error(self, request: _Request, exc: S3Error) -> Response:
        if request.method == "HEAD":
            # A HEAD response has no body, so S3 reports only the status.
            return Response(status_code=exc.status)
        told = S3Error(
            self._without_secrets(exc.message),
            code=exc.code,
            status=exc.status,
            extra={name: self._without_secrets(value) for name, value in exc.extra.items()},
        )
        body = told.to_xml(
            resource=self._without_secrets(request.resource),
            request_id=request.request_id,
            host_id=request.host_id,
        )
        return Response(body, status_code=exc.status, media_type="application/xml")

    def _without_secrets(self, text: str) -> str:
        """``text`` with every secret access key taken out, as sent or URL-encoded.

        An error repeats what the request sent (its credential, its canonical request); a client
        that put a secret there must not have it echoed into consoles, proxies and logs.
        """
        for secret in filter(None, self.credentials.values()):
            for form in {secret, uri_encode(secret)}:
                text = text.replace(form, "(a secret access key, not repeated)")
        return text


def _declared_length(request: _Request) -> str:
    """The body's Content-Length (digits), or S3's error: every body the store reads has an end
    it knows before the first byte (411 ``MissingContentLength`` for a chunked one)."""
    declared = request.header("content-length")
    if declared is None or request.header("transfer-encoding") is not None:
        raise S3Error(
            "You must provide the Content-Length HTTP header.",
            code="MissingContentLength",
            status=411,
        )
    if not declared.isdigit():
        raise S3Error(
            f"Content-Length must be a whole number, got {declared!r}.",
            code="InvalidArgument",
            status=400,
        )
    return declared


def _check_header_value(param: str, value: str) -> None:
    """400 ``InvalidArgument`` for a ``response-*`` value that cannot be sent as a header.

    A line break or another control character would end or split the header (uvicorn refuses
    to send it and drops the connection); HTTP header values are Latin-1.
    """
    if _HEADER_VALUE.fullmatch(value) is None:
        raise S3Error(
            f"The {param} parameter is not a valid HTTP header value: {value!r}. Use printable"
            " text without line breaks; for a non-Latin file name use RFC 6266's"
            " filename*=UTF-8''<percent-encoded name>.",
            code="InvalidArgument",
            status=400,
            extra={"ArgumentName": param, "ArgumentValue": value},
        )


def _conditional(request: _Request, info: ObjectInfo) -> Response | None:
    """S3's If-Match (412) and If-None-Match (304) checks for GET and HEAD."""
    if_match = request.header("if-match")
    if if_match is not None and not _etag_matches(if_match, info.etag):
        raise ObjectExistsError(
            "At least one of the pre-conditions you specified did not hold",
            extra={"Condition": "If-Match"},
        )
    if_none_match = request.header("if-none-match")
    if if_none_match is not None and _etag_matches(if_none_match, info.etag):
        return Response(status_code=304)
    return None


def _etag_matches(header: str, etag: str) -> bool:
    candidates = [c.strip().removeprefix("W/") for c in header.split(",")]
    return "*" in candidates or etag in candidates or etag.strip('"') in candidates


async def _body(
    receive: Receive,
    expected: int | None,
    deadline: BodyDeadline,
    on_part: Callable[[], None],
) -> AsyncIterator[bytes]:
    """The request body as it arrives, ``on_part`` called for each part; raises
    ClientDisconnected if the client leaves early.

    Past ``deadline`` it raises S3's ``RequestTimeout`` (the caller stores nothing).
    """
    received = 0
    while True:
        try:
            with anyio.fail_after(max(deadline.seconds_left(received), 0.0)):
                message = await receive()
        except TimeoutError:
            raise request_timeout() from None
        if message["type"] == "http.disconnect":
            raise ClientDisconnected
        chunk: bytes = message.get("body", b"")
        if chunk:
            received += len(chunk)
            on_part()
            yield chunk
        if not message.get("more_body", False):
            break
    if expected is not None and received < expected:
        raise S3Error(
            "You did not provide the number of bytes specified by the Content-Length HTTP header",
            code="IncompleteBody",
            status=400,
            extra={"NumberBytesExpected": str(expected), "NumberBytesProvided": str(received)},
        )


async def _direct_body(
    body: DirectBody, deadline: BodyDeadline, on_part: Callable[[], None]
) -> AsyncIterator[memoryview]:
    """A body read by ``storage.direct_body``, in buffers, ``on_part`` called for each; past
    ``deadline``, RequestTimeout.

    The deadline counts every byte that arrived, also those still filling a buffer.
    """
    while True:
        try:
            chunk = await body.next_chunk(timeout=max(deadline.seconds_left(body.received), 0.0))
        except TimeoutError:
            if deadline.seconds_left(body.received) > 0:
                continue  # bytes came in meanwhile: the allowance grew
            raise request_timeout() from None
        if chunk is None:
            return
        on_part()
        yield chunk


def _lent_body(
    body: BlockingBody,
    deadline: BodyDeadline,
    checks: BodyChecks | None,
    on_part: Callable[[], None],
) -> Iterator[memoryview]:
    """A lent body's buffers, in the worker thread that stores them: hashed by ``checks`` as they
    come and compared after the last one (before the store commits); past ``deadline``,
    RequestTimeout."""
    try:
        for chunk in body.chunks(deadline.seconds_left):
            on_part()
            if checks is not None:
                checks.update(chunk)
            yield chunk
    except BodyTimeout:
        raise request_timeout() from None
    if checks is not None:
        checks.verify()


async def _checked(chunks: AsyncIterator[Buffer], checks: BodyChecks) -> AsyncIterator[Buffer]:
    """``chunks`` as they come, each hashed by ``checks`` first; after the last one, the digests
    the headers promised are compared, so a body that differs is refused before it is stored."""
    async for chunk in chunks:
        if len(chunk) >= _THREAD_HASH_BYTES:  # a large body's hashing does not stall the loop
            await anyio.to_thread.run_sync(checks.update, chunk)
        else:
            checks.update(chunk)
        yield chunk
    checks.verify()


def _request(scope: Scope) -> _Request:
    raw_path = scope.get("raw_path") or quote(scope["path"]).encode()
    client = scope.get("client")
    return _Request(
        method=scope["method"].upper(),
        raw_path=raw_path.decode("latin-1"),
        raw_query=scope.get("query_string", b"").decode("latin-1"),
        headers=[(k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in scope["headers"]],
        client_ip=client[0] if client else "127.0.0.1",
        request_id=new_request_id(),
        host_id=new_host_id(),
        direct=direct_body(scope),
    )


def _split_path(raw_path: str) -> tuple[str, str | None]:
    """``(bucket, key)`` from a path-style ``/bucket/key`` path; key ``None`` for ``/bucket[/]``."""
    bucket, _, rest = raw_path.lstrip("/").partition("/")
    try:
        key = unquote(rest, errors="strict") if rest else None
        return unquote(bucket, errors="strict"), key
    except UnicodeDecodeError:
        raise S3Error(
            "Couldn't parse the specified URI: the path is not valid percent-encoded UTF-8.",
            code="InvalidURI",
            status=400,
        ) from None


def _unsupported_subresource(raw_query: str) -> str | None:
    """The first query parameter that selects an S3 operation this store does not implement."""
    for name, _value in parse_query(raw_query):
        if name in _UNSUPPORTED_SUBRESOURCES:
            return name
    return None


def _not_implemented(message: str, *, header: str | None = None) -> S3Error:
    extra = {"Header": header} if header else None
    return S3Error(message, code="NotImplemented", status=501, extra=extra)


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message: Any = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
