"""The store port's connection limits, driven with raw sockets against a real server on loopback.

The server runs with short limits so each case takes about a second; what is checked is the
behaviour at the limit (what the client receives, when the connection closes, what is stored).
"""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest

from bakusoku.storage.http_limits import ConnectionLimits
from bakusoku.storage.notifications import encode_event_key

from .conftest import BUCKET, RunningStore, serve_store

pytestmark = pytest.mark.integration

LIMITS = ConnectionLimits(
    header_timeout_seconds=1.0,
    body_timeout_seconds=1.0,
    body_min_bytes_per_second=64 * 1024,
    idle_timeout_seconds=1.0,
    max_connections=4,
    max_header_bytes=8 * 1024,
)
# How long past a limit the server may take to act on it (a loaded CI machine is slow).
SLACK = 3.0
TIMEOUT_MESSAGE = (
    "Your socket connection to the server was not read from or written to within the timeout"
    " period."
)


@pytest.fixture(scope="module")
def limited_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStore]:
    with serve_store(tmp_path_factory.mktemp("limited"), LIMITS) as running:
        yield running


def _connect(store: RunningStore) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", store.port))
    sock.settimeout(LIMITS.header_timeout_seconds + LIMITS.body_timeout_seconds + SLACK + 5)
    return sock


def _read_until_closed(sock: socket.socket) -> tuple[bytes, float]:
    """Everything the server sends until it closes the connection, and when it closed it."""
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received, time.monotonic()


def _put_head(store: RunningStore, key: str, size: int) -> bytes:
    grant = store.presigner.presign_put(
        BUCKET, key, content_type="image/jpeg", content_length=size, expires_in=600
    )
    lines = [
        f"PUT {grant.url.removeprefix(store.base_url)} HTTP/1.1",
        f"Host: 127.0.0.1:{store.port}",
    ]
    lines += [f"{name}: {value}" for name, value in grant.headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def test_connection_that_sends_nothing_is_closed_after_the_header_timeout(
    limited_store: RunningStore,
) -> None:
    with _connect(limited_store) as sock:
        opened = time.monotonic()
        received, closed = _read_until_closed(sock)
    assert received == b""  # no request, so nothing to answer
    assert (
        LIMITS.header_timeout_seconds - 0.1
        <= closed - opened
        <= LIMITS.header_timeout_seconds + SLACK
    )


def test_half_sent_headers_get_request_timeout_and_close(limited_store: RunningStore) -> None:
    with _connect(limited_store) as sock:
        opened = time.monotonic()
        sock.sendall(b"PUT /photos/uploads/x.jpg HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Le")
        received, closed = _read_until_closed(sock)
    assert received.startswith(b"HTTP/1.1 400 ")
    assert b"<Code>RequestTimeout</Code>" in received
    assert TIMEOUT_MESSAGE.encode() in received
    assert closed - opened <= LIMITS.header_timeout_seconds + SLACK


def test_trickled_put_body_is_cut_off_with_request_timeout_and_nothing_is_stored(
    limited_store: RunningStore,
) -> None:
    key = f"uploads/trickle/{uuid.uuid4().hex}.jpg"
    size = 1000
    before = limited_store.bucket_files()
    with _connect(limited_store) as sock:
        sock.sendall(_put_head(limited_store, key, size))
        started = time.monotonic()
        sock.sendall(b"x")  # then one byte per 5 s: the next never comes before the deadline
        sock.settimeout(5)
        try:
            received = sock.recv(65536)
        except TimeoutError:
            received = b""
        answered = time.monotonic()
        sock.settimeout(SLACK)
        rest, _ = _read_until_closed(sock)  # and the server closes the connection
    response = received + rest
    assert response.startswith(b"HTTP/1.1 400 "), response
    assert b"<Code>RequestTimeout</Code>" in response
    assert TIMEOUT_MESSAGE.encode() in response
    assert b"connection: close" in response.lower()
    assert answered - started <= LIMITS.body_timeout_seconds + SLACK
    assert limited_store.bucket_files() == before  # no object, no half-written temp file
    assert not limited_store.store.object_path(BUCKET, key).exists()
    assert limited_store.sink.for_key(encode_event_key(key)) == []


def test_steady_body_slower_than_the_base_timeout_is_stored(limited_store: RunningStore) -> None:
    """The deadline grows with what arrives: a body at the minimum rate is not cut off."""
    key = f"uploads/steady/{uuid.uuid4().hex}.jpg"
    piece = LIMITS.body_min_bytes_per_second // 4
    pieces = 8  # about 2 s of sending, twice the base body timeout
    with _connect(limited_store) as sock:
        sock.sendall(_put_head(limited_store, key, piece * pieces))
        for _ in range(pieces):
            sock.sendall(b"y" * piece)
            time.sleep(0.25)
        response = sock.recv(65536)
    assert response.startswith(b"HTTP/1.1 200 "), response
    assert limited_store.store.get_object(BUCKET, key) == b"y" * piece * pieces


def test_idle_keep_alive_connection_is_closed_after_the_idle_timeout(
    limited_store: RunningStore,
) -> None:
    key = f"uploads/idle/{uuid.uuid4().hex}.jpg"
    with _connect(limited_store) as sock:
        sock.sendall(_put_head(limited_store, key, 3) + b"abc")
        response = sock.recv(65536)
        answered = time.monotonic()
        assert response.startswith(b"HTTP/1.1 200 "), response
        rest, closed = _read_until_closed(sock)
    assert rest == b""
    assert (
        LIMITS.idle_timeout_seconds - 0.1
        <= closed - answered
        <= LIMITS.idle_timeout_seconds + SLACK
    )


def test_oversized_request_head_is_refused(limited_store: RunningStore) -> None:
    with _connect(limited_store) as sock:
        sock.sendall(b"GET /photos/a HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        sock.sendall(b"X-Filler: " + b"f" * (LIMITS.max_header_bytes + 1024) + b"\r\n")
        received, _ = _read_until_closed(sock)
    assert received.startswith(b"HTTP/1.1 400 ")
    assert b"<Code>RequestHeaderSectionTooLarge</Code>" in received


def test_a_whole_head_over_the_cap_sent_at_once_is_refused(limited_store: RunningStore) -> None:
    """The head arrives whole in one or two reads, so only the parsed head shows its size."""
    filler = b"f" * (LIMITS.max_header_bytes + 1024)
    with _connect(limited_store) as sock:
        sock.sendall(
            b"GET /photos/a HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Filler: " + filler + b"\r\n\r\n"
        )
        received, _ = _read_until_closed(sock)
    assert received.startswith(b"HTTP/1.1 400 "), received[:200]
    assert b"<Code>RequestHeaderSectionTooLarge</Code>" in received


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"PUT /b/k HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"PUT /b/k HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
        b"GET /b/\xff\x00 HTTP/1.1\r\nHost: x\r\n\r\n",
    ],
    ids=["length-and-chunked", "negative-length", "control-bytes-in-path"],
)
def test_a_request_that_is_not_http_gets_s3s_bad_request_xml(
    limited_store: RunningStore, request_bytes: bytes
) -> None:
    with _connect(limited_store) as sock:
        sock.sendall(request_bytes)
        received, _ = _read_until_closed(sock)
    assert received.startswith(b"HTTP/1.1 400 "), received[:200]
    assert b"content-type: application/xml" in received.lower()
    assert b"<Code>BadRequest</Code>" in received


def test_connections_past_the_cap_get_slow_down_and_the_port_recovers(
    limited_store: RunningStore,
) -> None:
    held = [_connect(limited_store) for _ in range(LIMITS.max_connections)]
    try:
        time.sleep(0.2)  # let the server accept them all
        with _connect(limited_store) as extra:
            extra.sendall(b"GET /photos/a HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            received, _ = _read_until_closed(extra)
        assert received.startswith(b"HTTP/1.1 503 ")
        assert b"<Code>SlowDown</Code>" in received
    finally:
        for sock in held:
            sock.close()
    key = f"uploads/after-cap/{uuid.uuid4().hex}.jpg"
    grant = limited_store.presigner.presign_put(
        BUCKET, key, content_type="image/jpeg", content_length=2, expires_in=60
    )
    deadline = time.monotonic() + SLACK
    while True:  # the server notices the closed connections within a moment
        response = httpx.put(grant.url, content=b"ok", headers=grant.headers)
        if response.status_code != 503 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert response.status_code == 200, response.text


def test_client_that_stops_reading_a_download_is_dropped(limited_store: RunningStore) -> None:
    key = f"uploads/big/{uuid.uuid4().hex}.bin"
    size = 64 * 1024 * 1024  # far more than the socket buffers on both sides hold
    limited_store.store.put_object(
        BUCKET, key, b"z" * size, content_type="application/octet-stream"
    )
    url = limited_store.presigner.presign_get(BUCKET, key, expires_in=60)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", limited_store.port))
    with sock:
        path = url.removeprefix(limited_store.base_url)
        host = f"127.0.0.1:{limited_store.port}"
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
        sock.settimeout(SLACK)
        first = sock.recv(4096)
        time.sleep(LIMITS.body_timeout_seconds + SLACK)  # then read nothing for a while
        received = len(first)
        try:
            while chunk := sock.recv(1024 * 1024):
                received += len(chunk)
        except ConnectionResetError:
            pass
    assert first.startswith(b"HTTP/1.1 200 "), first
    assert received < size  # the server gave up instead of waiting for the reader forever
