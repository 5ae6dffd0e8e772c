"""The API port's connections on a real server: slow headers, silent and idle connections end,
and no more than the cap are served at once."""

from __future__ import annotations

import json
import socket
import time
from contextlib import ExitStack

import httpx
import pytest

from tests.api.conftest import (
    HEADER_TIMEOUT,
    IDLE_TIMEOUT,
    MAX_CONNECTIONS,
    MAX_HEADER_BYTES,
    Bounded,
)
from tests.api.sockets import (
    body_of,
    connect,
    read_response,
    read_until_closed,
    request_head,
    status_of,
)

pytestmark = pytest.mark.integration

MARGIN = 3


def test_a_connection_that_sends_nothing_is_closed(bounded: Bounded) -> None:
    with connect(bounded.port) as sock:
        response, took = read_until_closed(sock, HEADER_TIMEOUT + MARGIN)
    assert response == b"" and took > HEADER_TIMEOUT - 0.5


def test_half_sent_headers_answer_408_and_close(bounded: Bounded) -> None:
    with connect(bounded.port) as sock:
        sock.sendall(b"GET /v1/whoami HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        response, took = read_until_closed(sock, HEADER_TIMEOUT + MARGIN)
    assert status_of(response) == 408, response[:300]
    assert json.loads(body_of(response))["error"]["code"] == "request.timeout"
    assert HEADER_TIMEOUT - 0.5 < took < HEADER_TIMEOUT + MARGIN


def test_headers_trickled_a_byte_at_a_time_still_meet_one_deadline(bounded: Bounded) -> None:
    head = request_head("GET", "/v1/whoami", {"X-Slow": "y" * 40})
    started = time.monotonic()
    with connect(bounded.port) as sock:
        try:
            for byte in head:
                sock.sendall(bytes([byte]))
                time.sleep(0.25)
                if time.monotonic() - started > HEADER_TIMEOUT + MARGIN:
                    break
        except (BrokenPipeError, ConnectionResetError):
            pass
        response, _ = read_until_closed(sock, MARGIN)
    assert status_of(response) == 408, response[:300]
    assert time.monotonic() - started < HEADER_TIMEOUT + 2 * MARGIN


def test_an_idle_kept_alive_connection_is_closed(bounded: Bounded) -> None:
    with connect(bounded.port) as sock:
        sock.sendall(request_head("GET", "/healthz", {}))
        assert status_of(read_response(sock)) == 200
        response, took = read_until_closed(sock, IDLE_TIMEOUT + MARGIN)
    assert response == b"" and took > IDLE_TIMEOUT - 0.5


def test_twenty_slow_clients_are_all_gone_after_the_timeouts(bounded: Bounded) -> None:
    """The attack that kept 20 connections open for minutes: silent, half-headers, trickled body."""
    with ExitStack() as stack:
        sockets = [stack.enter_context(connect(bounded.port)) for _ in range(20)]
        for i, sock in enumerate(sockets):
            if i % 3 == 1:
                sock.sendall(b"GET /v1/photos HTTP/1.1\r\nHost: x\r\n")
            elif i % 3 == 2:
                sock.sendall(request_head("POST", "/v1/uploads", {"Content-Length": "100"}) + b"{")
        deadline = time.monotonic() + max(HEADER_TIMEOUT, IDLE_TIMEOUT) + 2 * MARGIN
        for sock in sockets:
            read_until_closed(sock, max(0.1, deadline - time.monotonic()))


def test_connections_past_the_cap_are_refused_until_some_end(bounded: Bounded) -> None:
    with ExitStack() as stack:
        held: list[socket.socket] = [
            stack.enter_context(connect(bounded.port)) for _ in range(MAX_CONNECTIONS)
        ]
        time.sleep(0.3)
        refused = httpx.get(f"{bounded.api}/healthz", timeout=5)
        assert refused.status_code == 503
        assert refused.json()["error"]["code"] == "server.busy"
        assert refused.headers["retry-after"] == "1"
        for sock in held:
            sock.close()
    time.sleep(0.5)
    assert httpx.get(f"{bounded.api}/healthz", timeout=5).status_code == 200


def test_a_head_over_the_cap_is_refused_with_431_before_it_is_whole(bounded: Bounded) -> None:
    """A head that never ends (300 MB were once read whole) is cut off at the cap."""
    with connect(bounded.port) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Filler: ")
        try:
            for _ in range(64):  # up to 4 MiB, never finished
                sock.sendall(b"f" * 65536)
        except (BrokenPipeError, ConnectionResetError):
            pass
        response, _ = read_until_closed(sock, MARGIN + 5)
    assert status_of(response) == 431, response[:300]
    assert json.loads(body_of(response))["error"]["code"] == "request.headers_too_large"


def test_a_whole_head_over_the_cap_sent_at_once_is_refused_with_431(bounded: Bounded) -> None:
    head = request_head("GET", "/healthz", {"X-Filler": "f" * (MAX_HEADER_BYTES + 1024)})
    with connect(bounded.port) as sock:
        sock.sendall(head)
        response, _ = read_until_closed(sock, MARGIN + 5)
    assert status_of(response) == 431, response[:300]
    assert json.loads(body_of(response))["error"]["code"] == "request.headers_too_large"


def test_a_head_under_the_cap_is_served(bounded: Bounded) -> None:
    head = request_head("GET", "/healthz", {"X-Filler": "f" * (MAX_HEADER_BYTES // 2)})
    with connect(bounded.port) as sock:
        sock.sendall(head)
        assert status_of(read_response(sock)) == 200


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"POST /v1/uploads HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n",
        b"POST /v1/uploads HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        b"GET /v1/\xff\x00 HTTP/1.1\r\nHost: x\r\n\r\n",
    ],
    ids=["length-and-chunked", "two-lengths", "control-bytes-in-path"],
)
def test_a_request_that_is_not_http_gets_a_json_400(bounded: Bounded, request_bytes: bytes) -> None:
    with connect(bounded.port) as sock:
        sock.sendall(request_bytes)
        response, _ = read_until_closed(sock, MARGIN + 5)
    assert status_of(response) == 400, response[:300]
    assert json.loads(body_of(response))["error"]["code"] == "request.malformed"


def test_a_json_body_that_is_not_utf8_is_malformed_json(bounded: Bounded) -> None:
    response = httpx.post(
        f"{bounded.api}/v1/uploads",
        content=b'{"filename": "\xff\xfe.jpg"}',
        headers={"Authorization": f"Bearer {bounded.key}", "Content-Type": "application/json"},
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "request.malformed_json"
