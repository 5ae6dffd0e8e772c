"""Streams an already opened object to the client: its bytes always match the headers sent.

A client that stops reading is dropped once a chunk could not be sent for ``write_timeout``
seconds (through the serving protocol's ``http_limits.CLOSE_EXTENSION``).
"""

from __future__ import annotations

import re

import anyio
import anyio.to_thread
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from bakusoku.storage.errors import S3Error
from bakusoku.storage.http_limits import CLOSE_EXTENSION
from bakusoku.storage.local import ObjectReader

CHUNK = 256 * 1024
_RANGE_RE = re.compile(r"^bytes=(\d*)-(\d*)$")


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """``(first, last)`` byte positions of a single ``Range: bytes=...``; ``None`` means whole.

    As on S3, a malformed or multi-range header is ignored (whole object) and an unsatisfiable
    one is 416 ``InvalidRange``.
    """
    if header is None:
        return None
    match = _RANGE_RE.match(header.strip())
    if match is None:
        return None
    start_text, end_text = match.groups()
    if not start_text and not end_text:
        return None
    if not start_text:  # suffix range: the last N bytes
        length = int(end_text)
        if length == 0:
            raise _invalid_range(size)
        return max(size - length, 0), size - 1
    first = int(start_text)
    last = int(end_text) if end_text else size - 1
    if first >= size:
        raise _invalid_range(size)
    if last < first:
        return None
    return first, min(last, size - 1)


def _invalid_range(size: int) -> S3Error:
    return S3Error(
        "The requested range is not satisfiable",
        code="InvalidRange",
        status=416,
        extra={"ActualObjectSize": str(size)},
    )


class ObjectResponse(Response):
    """A 200 (or 206 for a range) response whose body is read from ``reader`` in a thread.

    The reader was opened together with its metadata, so a concurrent overwrite or delete of the
    key cannot make the bytes disagree with the ETag already sent.
    """

    def __init__(
        self,
        reader: ObjectReader,
        *,
        headers: dict[str, str],
        media_type: str,
        byte_range: tuple[int, int] | None,
        head_only: bool,
        write_timeout: float | None = None,
    ) -> None:
        self.reader = reader
        self.head_only = head_only
        self.write_timeout = write_timeout
        size = reader.info.size
        if byte_range is None:
            self.first, self.length, status = 0, size, 200
        else:
            first, last = byte_range
            self.first, self.length, status = first, last - first + 1, 206
            headers = {**headers, "Content-Range": f"bytes {first}-{last}/{size}"}
        super().__init__(status_code=status, headers=headers)
        # Exactly the stored type: Starlette would append a charset to text/* types.
        self.headers["content-type"] = media_type
        self.headers["content-length"] = str(self.length)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": self.status_code,
                    "headers": self.raw_headers,
                }
            )
            if self.head_only:
                await send({"type": "http.response.body", "body": b""})
                return
            if self.first:
                await anyio.to_thread.run_sync(self.reader.seek, self.first)
            remaining = self.length
            while remaining > 0:
                chunk = await anyio.to_thread.run_sync(self.reader.read, min(CHUNK, remaining))
                if not chunk:
                    break
                remaining -= len(chunk)
                message = {"type": "http.response.body", "body": chunk, "more_body": remaining > 0}
                if not await self._send_in_time(scope, send, message):
                    return
            if remaining > 0:  # the file was truncated underneath us: end the body anyway
                await send({"type": "http.response.body", "body": b""})
        finally:
            self.reader.close()

    async def _send_in_time(self, scope: Scope, send: Send, message: dict[str, object]) -> bool:
        """Send ``message``; False if the client did not take it in time (then it is dropped)."""
        with anyio.move_on_after(self.write_timeout):
            await send(message)
            return True
        close = scope.get("extensions", {}).get(CLOSE_EXTENSION, {}).get("close")
        if close is not None:
            close()
        return False

    def close(self) -> None:
        """Release the file if the response is dropped without being sent."""
        self.reader.close()
