"""Bounds on every connection to the local S3 endpoint: how slow a client may be, how many at once.

:class:`BoundedHttpProtocol` is ``storage.bounded_protocol``'s (head deadline, head size cap,
connection cap, an answer to what is not HTTP) answering as S3 does, in XML: ``400
RequestTimeout``, ``400 RequestHeaderSectionTooLarge``, ``503 SlowDown``, ``400 BadRequest``.
It adds a deadline for the rest of a body the app answered early and a way for the app to drop a
client that stopped reading a response (:data:`CLOSE_EXTENSION`). The body's own deadline is kept
by the app, which reads the body (:class:`BodyDeadline`, used by ``storage.server``).
:func:`store_server_config` puts it together.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httptools
import uvicorn

from bakusoku.storage.bounded_protocol import (
    BoundedHeadProtocol,
    ConnectionLimits,
    Refusal,
    RefusalReason,
)
from bakusoku.storage.direct_body import (
    DIRECT_BODY_EXTENSION,
    MIN_DIRECT_BYTES,
    BodyReader,
    DirectBody,
)
from bakusoku.storage.errors import RequestTimeoutError, S3Error, SlowDownError
from bakusoku.storage.notifications import new_host_id, new_request_id

# The ASGI scope extension through which the app drops a client that stopped reading its response.
CLOSE_EXTENSION = "bakusoku.close_connection"


def request_timeout() -> RequestTimeoutError:
    return RequestTimeoutError(
        "Your socket connection to the server was not read from or written to within the"
        " timeout period."
    )


class BodyDeadline:
    """When the rest of a request body must have arrived, by :class:`ConnectionLimits`' rule."""

    def __init__(self, limits: ConnectionLimits) -> None:
        self._limits = limits
        self._started = time.monotonic()

    def seconds_left(self, received: int) -> float:
        allowance = self._limits.body_timeout_seconds
        if self._limits.body_min_bytes_per_second:
            allowance += received / self._limits.body_min_bytes_per_second
        return self._started + allowance - time.monotonic()


class StoreServerConfig(uvicorn.Config):
    """uvicorn's configuration plus the limits :class:`BoundedHttpProtocol` reads from it.

    A plain module-level class, so it pickles into uvicorn's worker processes.
    """

    def __init__(
        self,
        app: Any,
        *,
        limits: ConnectionLimits,
        direct_body_min_bytes: int = MIN_DIRECT_BYTES,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            app,
            http=BoundedHttpProtocol,
            ws="none",
            timeout_keep_alive=limits.idle_timeout_seconds,  # type: ignore[arg-type]
            **kwargs,
        )
        self.limits = limits
        self.direct_body_min_bytes = direct_body_min_bytes


def store_server_config(
    app: Any,
    limits: ConnectionLimits,
    *,
    direct_body_min_bytes: int = MIN_DIRECT_BYTES,
    **kwargs: Any,
) -> StoreServerConfig:
    """The uvicorn configuration of the store's endpoint (``app`` or its import string).

    PUT bodies of at least ``direct_body_min_bytes`` (0: none) are read with
    ``storage.direct_body``: the app must take them from the scope's ``bakusoku.direct_body``
    extension (``storage.server`` does).
    """
    return StoreServerConfig(
        app, limits=limits, direct_body_min_bytes=direct_body_min_bytes, **kwargs
    )


class BoundedHttpProtocol(BoundedHeadProtocol):
    """The store's protocol: the bounds of ``storage.bounded_protocol``, refused as S3 does.

    It also reads large PUT bodies straight into the app's buffers (``storage.direct_body``),
    bounds the reading of a body the app answered early, and lets the app drop a client that
    stopped reading a response (:data:`CLOSE_EXTENSION`).
    """

    config: StoreServerConfig

    def __init__(self, config: StoreServerConfig, *args: Any, **kwargs: Any) -> None:
        self.limits = config.limits
        super().__init__(config, *args, **kwargs)
        self._direct: BodyReader | None = None  # a body to hand over once this read is parsed
        self._body_reader: BodyReader | None = None  # the reader holding the transport now

    def refusal(self, reason: RefusalReason) -> Refusal:
        return s3_refusal(_S3_REFUSALS[reason](self.limits))

    # ---- a large PUT's body, straight to the app ---------------------------------------------

    def after_read(self) -> None:
        reader, self._direct = self._direct, None
        if reader is not None and reader.start():  # the rest goes straight to the app's buffers
            self._body_reader = reader

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        extensions: dict[str, Any] = self.scope.setdefault("extensions", {})
        extensions[CLOSE_EXTENSION] = {"close": self._drop_slow_reader}
        self._direct = self._direct_reader()
        if self._direct is not None:
            extensions[DIRECT_BODY_EXTENSION] = DirectBody(self._direct)

    def on_body(self, body: bytes) -> None:
        if self._direct is not None:  # body bytes that came with the head
            self._direct.add_head(body)
        else:
            super().on_body(body)

    def _direct_reader(self) -> BodyReader | None:
        """A reader for this request's body, if it is a large PUT the app will take directly."""
        minimum = self.config.direct_body_min_bytes
        if not minimum or self.scope["method"] != "PUT" or self.app is not self.config.loaded_app:
            return None  # (a refusal answers this request: uvicorn drops its body)
        if self.expect_100_continue or self.pipeline:  # keep uvicorn's handling of those
            return None
        length = None
        for name, value in self.headers:
            if name == b"transfer-encoding":
                return None
            if name == b"content-length":
                length = value
        if length is None or not length.isdigit() or int(length) < minimum:
            return None
        return BodyReader(self.transport, self, int(length), self._direct_body_read)

    def _direct_body_read(self) -> None:
        """The body arrived through a BodyReader: the parser, which never saw it, starts anew."""
        self._body_reader = None
        self.parser = httptools.HttpRequestParser(self)
        self.parser.set_dangerous_leniencies(lenient_data_after_close=True)
        self.on_message_complete()
        if (  # answered early, the rest now dropped: idle from here, as uvicorn would be
            self.cycle.response_complete
            and not self.pipeline
            and self.timeout_keep_alive_task is None
            and not self.transport.is_closing()
        ):
            self.timeout_keep_alive_task = self.loop.call_later(
                self.timeout_keep_alive, self.timeout_keep_alive_handler
            )

    def _drop_slow_reader(self) -> None:
        """Drop the connection now; the app gives up on a response the client does not read."""
        if self.cycle is not None:
            self.cycle.disconnected = True  # the response is abandoned, not an app error
        self.transport.abort()

    # ---- a body the app did not read -------------------------------------------------------

    def on_response_complete(self) -> None:
        super().on_response_complete()
        # The app answered before the whole body arrived (an early error): uvicorn reads and
        # drops the rest, and any byte would reset its idle timer, so bound that reading too.
        if self.cycle is not None and self.cycle.more_body and not self.transport.is_closing():
            self.arm(self.limits.body_timeout_seconds, self._drain_timed_out)
            if self._body_reader is not None:
                # A BodyReader drops the rest: the connection is not idle until it is done.
                self._unset_keepalive_if_required()

    def _drain_timed_out(self) -> None:
        self._deadline = None
        if not self.transport.is_closing():
            self.transport.close()


def s3_refusal(error: S3Error) -> Refusal:
    """``error`` as the store answers it by itself: S3's XML (``Retry-After`` on a 503)."""
    body = error.to_xml(request_id=new_request_id(), host_id=new_host_id())
    retry_after = 1 if error.status == 503 else None
    return Refusal(error.status, b"application/xml", body, retry_after)


def _head_too_large(limits: ConnectionLimits) -> S3Error:
    return S3Error(
        "Your request's header section exceeds the maximum allowed size of"
        f" {limits.max_header_bytes} bytes.",
        code="RequestHeaderSectionTooLarge",
        status=400,
        extra={"MaxSizeAllowed": str(limits.max_header_bytes)},
    )


_S3_REFUSALS: dict[RefusalReason, Callable[[ConnectionLimits], S3Error]] = {
    "busy": lambda _: SlowDownError(
        "Please reduce your request rate: the store serves too many connections."
    ),
    "head_timeout": lambda _: request_timeout(),
    "head_too_large": _head_too_large,
    "malformed": lambda _: S3Error(
        "An error occurred when parsing the HTTP request: it is not valid HTTP/1.1"
        " (its request line, a header or the body's framing).",
        code="BadRequest",
        status=400,
    ),
}
