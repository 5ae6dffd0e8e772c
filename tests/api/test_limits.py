"""Request bodies on a real server: over the cap is refused before it is read, and a body that
trickles in answers 408; both close the connection."""

from __future__ import annotations

import json
import select
import time

import httpx
import pytest

from tests.api.conftest import BODY_TIMEOUT, MAX_BODY_BYTES, Bounded
from tests.api.sockets import body_of, connect, read_until_closed, request_head, status_of

pytestmark = pytest.mark.integration

HUNDRED_MB = 100 * 1024 * 1024


def _headers(key: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", "Content-Type": "application/json", **extra}


def test_a_declared_100_mb_json_body_is_refused_at_once_without_a_byte_read(
    bounded: Bounded,
) -> None:
    with connect(bounded.port) as sock:
        head = request_head(
            "POST", "/v1/uploads", _headers(bounded.key, **{"Content-Length": str(HUNDRED_MB)})
        )
        sock.sendall(head + b'{"filename": "')
        response, took = read_until_closed(sock, 5)
    assert status_of(response) == 413, response[:300]
    error = json.loads(body_of(response))["error"]
    assert error["code"] == "request.too_large" and str(MAX_BODY_BYTES) in error["message"]
    assert took < 2


def test_a_streamed_body_is_counted_and_refused_once_over_the_cap(bounded: Bounded) -> None:
    """No Content-Length (chunked): the server answers 413 after the cap, long before 100 MB."""
    chunk = b"x" * 65536
    framed = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
    sent = 0
    with connect(bounded.port) as sock:
        sock.sendall(
            request_head(
                "POST", "/v1/uploads", _headers(bounded.key, **{"Transfer-Encoding": "chunked"})
            )
        )
        try:
            while sent < HUNDRED_MB:
                readable, _, _ = select.select([sock], [], [], 0)
                if readable:
                    break  # the server has answered
                sock.sendall(framed)
                sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass
        response, _ = read_until_closed(sock, 5)
    assert status_of(response) == 413, response[:300]
    assert json.loads(body_of(response))["error"]["code"] == "request.too_large"
    assert sent < 16 * 1024 * 1024  # socket buffers at most, never the whole body


def test_a_body_trickled_byte_by_byte_answers_408_and_closes(bounded: Bounded) -> None:
    body = json.dumps(
        {"filename": "a.jpg", "content_type": "image/jpeg", "size": 10, "album": "sports"}
    ).encode()
    with connect(bounded.port) as sock:
        sock.sendall(
            request_head(
                "POST", "/v1/uploads", _headers(bounded.key, **{"Content-Length": str(len(body))})
            )
        )
        started = time.monotonic()
        for byte in body[:8]:  # 1 byte every 0.5 s: each arrives well within any per-read wait
            sock.sendall(bytes([byte]))
            time.sleep(0.5)
            if select.select([sock], [], [], 0)[0]:
                break
        response, _ = read_until_closed(sock, BODY_TIMEOUT + 3)
        took = time.monotonic() - started
    assert status_of(response) == 408, response[:300]
    assert json.loads(body_of(response))["error"]["code"] == "request.timeout"
    assert BODY_TIMEOUT - 0.5 < took < BODY_TIMEOUT + 3


def test_a_body_under_the_cap_is_served_as_usual(bounded: Bounded) -> None:
    body = {"filename": "a.jpg", "content_type": "image/jpeg", "size": 10, "album": "sports"}
    response = httpx.post(f"{bounded.api}/v1/uploads", json=body, headers=_headers(bounded.key))
    assert response.status_code == 201, response.text
