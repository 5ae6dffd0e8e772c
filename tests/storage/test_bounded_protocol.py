"""The answers the bounded protocol writes itself (the ports' behaviour is tested with real
sockets in tests/storage/test_http_limits.py and tests/api/test_connections.py)."""

from __future__ import annotations

import asyncio
from typing import Any

from bakusoku.storage.bounded_protocol import Refusal, closing_response, parsed_head_bytes


def test_a_closing_response_counts_its_body_and_closes() -> None:
    raw = closing_response(b"HTTP/1.1 408 Request Timeout", b"application/json", b'{"a": 1}')
    head, body = raw.split(b"\r\n\r\n", 1)
    assert head.split(b"\r\n") == [
        b"HTTP/1.1 408 Request Timeout",
        b"content-type: application/json",
        b"content-length: 8",
        b"connection: close",
    ]
    assert body == b'{"a": 1}'


def test_a_refusal_written_raw_has_its_status_phrase_and_retry_after() -> None:
    raw = Refusal(503, b"application/xml", b"<Error/>", retry_after_seconds=1).raw()
    head, body = raw.split(b"\r\n\r\n", 1)
    lines = head.split(b"\r\n")
    assert lines[0] == b"HTTP/1.1 503 Service Unavailable"
    assert b"retry-after: 1" in lines and b"connection: close" in lines
    assert body == b"<Error/>"


def test_a_refusal_answers_as_an_asgi_app_and_closes() -> None:
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    refusal = Refusal(431, b"application/json", b"{}")
    asyncio.run(refusal({"type": "http"}, None, send))
    start, body = sent
    assert start["status"] == 431
    assert (b"connection", b"close") in start["headers"]
    assert not any(name == b"retry-after" for name, _ in start["headers"])
    assert body == {"type": "http.response.body", "body": b"{}"}


def test_a_parsed_head_counts_the_target_and_each_header_line() -> None:
    headers = [(b"host", b"x"), (b"x-filler", b"f" * 100)]
    assert parsed_head_bytes(b"/a?b=c", headers) == 6 + (4 + 1 + 4) + (8 + 100 + 4)
