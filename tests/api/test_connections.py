"""The API port's connections on a real server: slow headers, silent and idle connections end,
and no more than the cap are served at once."""

from __future__ import annotations

import json
import socket
import time
from contextlib import ExitStack

import httpx
import pytest

from tests.api.conftest import HEADER_TIMEOUT, IDLE_TIMEOUT, MAX_CONNECTIONS, Bounded
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
