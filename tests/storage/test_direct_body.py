"""Large PUT bodies read straight into the store's buffers, over raw sockets on loopback.

What must hold as with uvicorn's own body handling: the bytes stored are the bytes sent, the
connection stays usable for the next request (keep-alive), an early answer drops the rest of
the body, a body that stops coming gets RequestTimeout, and concurrent uploads never see each
other's buffers.
"""

from __future__ import annotations

import base64
import ctypes
import dataclasses
import hashlib
import mmap
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from bakusoku.storage.direct_body import BUFFER_BYTES, MIN_DIRECT_BYTES, direct_body
from bakusoku.storage.http_limits import ConnectionLimits
from bakusoku.storage.notifications import encode_event_key

from .conftest import BUCKET, MAX_OBJECT_SIZE, RunningStore, ThreadedServer, serve_store

pytestmark = pytest.mark.integration

LIMITS = ConnectionLimits(
    header_timeout_seconds=2.0,
    body_timeout_seconds=1.0,
    body_min_bytes_per_second=64 * 1024,
    idle_timeout_seconds=5.0,
    max_connections=64,
    max_header_bytes=8 * 1024,
)
SLACK = 3.0  # how long past a limit a loaded machine may take to act on it


@pytest.fixture(scope="module", params=["uvloop", "asyncio"])
def store(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[RunningStore]:
    """The store on each event loop: they hand a buffered protocol its buffers differently."""
    with serve_store(tmp_path_factory.mktemp("direct"), LIMITS, request.param) as running:
        yield running


def _key() -> str:
    return f"uploads/direct/{uuid.uuid4().hex}.jpg"


def _put_head(store: RunningStore, key: str, size: int, **extra: str) -> bytes:
    grant = store.presigner.presign_put(
        BUCKET, key, content_type="image/jpeg", content_length=size, expires_in=600
    )
    lines = [
        f"PUT {grant.url.removeprefix(store.base_url)} HTTP/1.1",
        f"Host: 127.0.0.1:{store.port}",
    ]
    lines += [f"{name}: {value}" for name, value in {**grant.headers, **extra}.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _get_head(store: RunningStore, key: str) -> bytes:
    url = store.presigner.presign_get(BUCKET, key, expires_in=600)
    target = url.removeprefix(store.base_url)
    return f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1:{store.port}\r\n\r\n".encode()


def _response(sock: socket.socket) -> tuple[bytes, bytes]:
    """One response (head, body) read off a keep-alive connection."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"connection closed mid-response: {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        chunk = sock.recv(65536)
        assert chunk, "connection closed mid-body"
        body += chunk
    return head, body


def _connect(store: RunningStore) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", store.port))
    sock.settimeout(30)
    return sock


@pytest.mark.parametrize(
    "size",
    [MIN_DIRECT_BYTES, MIN_DIRECT_BYTES + 1, BUFFER_BYTES - 1, MAX_OBJECT_SIZE],
    ids=["at-threshold", "threshold+1", "one-buffer-less-a-byte", "max-size"],
)
def test_body_is_stored_as_sent_and_the_connection_serves_the_next_request(
    store: RunningStore, size: int
) -> None:
    key, data = _key(), os.urandom(size)
    with _connect(store) as sock:
        sock.sendall(_put_head(store, key, size))
        for start in range(0, size, 100_000):  # pieces, so the body spans many reads
            sock.sendall(data[start : start + 100_000])
        head, _ = _response(sock)
        assert head.startswith(b"HTTP/1.1 200 "), head
        assert f'"{hashlib.md5(data).hexdigest()}"'.encode() in head.lower()
        sock.sendall(_get_head(store, key))  # same connection: the parser starts anew
        head, body = _response(sock)
    assert head.startswith(b"HTTP/1.1 200 "), head
    assert body == data
    assert len(store.sink.for_key(encode_event_key(key))) == 1


def test_body_that_arrives_with_its_head_is_stored(store: RunningStore) -> None:
    key, data = _key(), os.urandom(MIN_DIRECT_BYTES + 1000)
    with _connect(store) as sock:
        sock.sendall(_put_head(store, key, len(data)) + data)  # most likely one read
        head, _ = _response(sock)
        assert head.startswith(b"HTTP/1.1 200 "), head
        sock.sendall(_get_head(store, key))
        _, body = _response(sock)
    assert body == data


def test_early_answer_drops_the_rest_of_the_body_and_keeps_the_connection(
    store: RunningStore,
) -> None:
    key, data = _key(), os.urandom(512 * 1024)
    store.store.put_object(BUCKET, key, b"first", content_type="image/jpeg")
    with _connect(store) as sock:
        # If-None-Match on an existing key: 412 before any of the body is needed.
        sock.sendall(_put_head(store, key, len(data)))
        sock.sendall(data[:100_000])
        head, body = _response(sock)
        assert head.startswith(b"HTTP/1.1 412 "), head
        assert b"<Code>PreconditionFailed</Code>" in body
        sock.sendall(data[100_000:])  # read and dropped
        sock.sendall(_get_head(store, key))
        head, body = _response(sock)
    assert head.startswith(b"HTTP/1.1 200 "), head
    assert body == b"first"


def test_dropping_the_rest_of_an_answered_body_is_not_idleness(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """As with uvicorn's own draining: the idle timeout starts once the body is done."""
    limits = dataclasses.replace(LIMITS, idle_timeout_seconds=0.5, body_timeout_seconds=5.0)
    with serve_store(tmp_path_factory.mktemp("drain"), limits) as running:
        key, data = _key(), os.urandom(512 * 1024)
        running.store.put_object(BUCKET, key, b"first", content_type="image/jpeg")
        with _connect(running) as sock:
            sock.sendall(_put_head(running, key, len(data)))
            sock.sendall(data[:100_000])
            head, _ = _response(sock)
            assert head.startswith(b"HTTP/1.1 412 "), head
            rest = data[100_000:]
            for start in range(0, len(rest), len(rest) // 6 + 1):  # over ~1.5 s: 3 idle timeouts
                time.sleep(0.25)
                sock.sendall(rest[start : start + len(rest) // 6 + 1])
            sock.sendall(_get_head(running, key))
            head, body = _response(sock)
        assert head.startswith(b"HTTP/1.1 200 "), head
        assert body == b"first"


def test_bad_digest_is_refused_after_the_whole_body_and_nothing_is_stored(
    store: RunningStore,
) -> None:
    key, data = _key(), os.urandom(300 * 1024)
    wrong = base64.b64encode(hashlib.md5(b"other").digest()).decode()
    with _connect(store) as sock:
        sock.sendall(_put_head(store, key, len(data), **{"Content-MD5": wrong}))
        sock.sendall(data)
        head, body = _response(sock)
    assert head.startswith(b"HTTP/1.1 400 "), head
    assert b"<Code>BadDigest</Code>" in body
    assert not store.store.object_path(BUCKET, key).exists()


def test_body_that_stops_coming_gets_request_timeout_and_nothing_is_stored(
    store: RunningStore,
) -> None:
    key, size, sent = _key(), 512 * 1024, 200 * 1024
    before = store.bucket_files()
    with _connect(store) as sock:
        sock.sendall(_put_head(store, key, size))
        started = time.monotonic()
        sock.sendall(os.urandom(sent))  # then nothing
        head, body = _response(sock)
        answered = time.monotonic()
        assert sock.recv(1) == b""  # and the server closes the connection
    assert head.startswith(b"HTTP/1.1 400 "), head
    assert b"<Code>RequestTimeout</Code>" in body
    # The allowance counts every byte that arrived, even those not yet handed to the app.
    allowance = LIMITS.body_timeout_seconds + sent / LIMITS.body_min_bytes_per_second
    assert allowance - 0.5 <= answered - started <= allowance + SLACK
    assert store.bucket_files() == before
    assert store.sink.for_key(encode_event_key(key)) == []


def test_concurrent_uploads_each_store_their_own_bytes(store: RunningStore) -> None:
    uploads = {_key(): os.urandom(MAX_OBJECT_SIZE - i * 4099) for i in range(12)}
    statuses: list[bytes] = []

    def upload(key: str, data: bytes) -> None:
        with _connect(store) as sock:
            sock.sendall(_put_head(store, key, len(data)))
            for start in range(0, len(data), 65_536):
                sock.sendall(data[start : start + 65_536])
            head, _ = _response(sock)
            statuses.append(head.split(b"\r\n")[0])

    threads = [threading.Thread(target=upload, args=item) for item in uploads.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert statuses == [b"HTTP/1.1 200 OK"] * len(uploads)
    for key, data in uploads.items():
        assert store.store.get_object(BUCKET, key) == data
        assert store.store.head_object(BUCKET, key).etag == f'"{hashlib.md5(data).hexdigest()}"'


def test_only_large_puts_are_handed_to_the_app_as_a_direct_body() -> None:
    """The protocol's contract with any app it serves: the extension, and the whole body in it."""
    seen: list[tuple[str, int, bool, str]] = []
    direct_chunks: list[list[tuple[int, int]]] = []  # (length, address modulo a page) per body

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = direct_body(scope)
        md5 = hashlib.md5(usedforsecurity=False)
        if body is not None:
            direct_chunks.append([])
            while (chunk := await body.next_chunk()) is not None:
                md5.update(chunk)
                address = ctypes.addressof(ctypes.c_char.from_buffer(chunk))
                direct_chunks[-1].append((len(chunk), address % mmap.PAGESIZE))
                body.release(chunk)
        else:
            more = True
            while more:
                message = await receive()
                md5.update(message.get("body", b""))
                more = message.get("more_body", False)
        seen.append((scope["method"], int(dict(scope["headers"])[b"content-length"]),
                     body is not None, md5.hexdigest()))  # fmt: skip
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    server = ThreadedServer(app, LIMITS).start()
    try:
        sizes = {
            "PUT": [MIN_DIRECT_BYTES - 1, MIN_DIRECT_BYTES, 3 * BUFFER_BYTES + 5],
            "POST": [MIN_DIRECT_BYTES],
        }
        sent = []
        with socket.create_connection(("127.0.0.1", server.port)) as sock:
            sock.settimeout(30)
            for method, lengths in sizes.items():
                for length in lengths:
                    data = os.urandom(length)
                    head = f"{method} /b/k HTTP/1.1\r\nHost: x\r\nContent-Length: {length}\r\n\r\n"
                    sock.sendall(head.encode() + data)
                    assert _response(sock)[0].startswith(b"HTTP/1.1 204 ")
                    sent.append(hashlib.md5(data).hexdigest())
    finally:
        server.stop()
    assert [(m, n, d) for m, n, d, _ in seen] == [
        ("PUT", MIN_DIRECT_BYTES - 1, False),
        ("PUT", MIN_DIRECT_BYTES, True),
        ("PUT", 3 * BUFFER_BYTES + 5, True),
        ("POST", MIN_DIRECT_BYTES, False),
    ]
    assert [digest for *_, digest in seen] == sent
    # The body bytes that came with the head start the first buffer: every chunk but the last
    # is a whole, page-aligned buffer (so the store can write it with O_DIRECT).
    assert direct_chunks == [[(MIN_DIRECT_BYTES, 0)], [(BUFFER_BYTES, 0)] * 3 + [(5, 0)]]


@pytest.mark.parametrize("loop", ["uvloop", "asyncio"])
def test_uploads_beyond_the_lending_threads_are_read_by_the_event_loop(
    tmp_path_factory: pytest.TempPathFactory, loop: str
) -> None:
    """A slow client holds the only worker thread that receives bodies: the next upload does not
    wait for it (its deadline would run meanwhile), and both end stored."""
    limits = dataclasses.replace(LIMITS, body_timeout_seconds=10.0)
    with serve_store(tmp_path_factory.mktemp("lending"), limits, loop, lending_threads=1) as store:
        slow_key, slow_data = _key(), os.urandom(600 * 1024)
        fast_key, fast_data = _key(), os.urandom(900 * 1024)
        with _connect(store) as slow, _connect(store) as fast:
            slow.sendall(_put_head(store, slow_key, len(slow_data)) + slow_data[:100_000])
            time.sleep(0.3)  # its thread now waits for the rest
            started = time.monotonic()
            fast.sendall(_put_head(store, fast_key, len(fast_data)) + fast_data)
            head, _ = _response(fast)
            assert head.startswith(b"HTTP/1.1 200 "), head
            assert time.monotonic() - started < SLACK
            slow.sendall(slow_data[100_000:])
            head, _ = _response(slow)
            assert head.startswith(b"HTTP/1.1 200 "), head
        assert store.store.get_object(BUCKET, slow_key) == slow_data
        assert store.store.get_object(BUCKET, fast_key) == fast_data
