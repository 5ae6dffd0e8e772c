"""The S3 store's errors when S3 cannot serve a request: a real HTTP server on loopback answers as a
throttled or failing S3 does (``503 SlowDown`` and friends, as XML), or never answers at all.

moto always serves, so these answers come from a small server of our own. The store is given a client
that does not retry, so each case is one request (the store's own client retries 5 times first).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import botocore.session
import pytest
from botocore.config import Config

from bakusoku.storage.errors import S3Error, StorageUnavailableError
from bakusoku.storage.s3 import S3ObjectStore
from tests.conftest import free_port

pytestmark = pytest.mark.integration

REGION = "us-east-1"
BUCKET = "photos"
KEY = "uploads/sports-day/photo.jpg"

Operation = Callable[[S3ObjectStore], object]
SESSION = botocore.session.get_session()  # one session: its service models load once

OPERATIONS: dict[str, Operation] = {
    "put": lambda store: store.put_object(BUCKET, KEY, b"jpeg", content_type="image/jpeg"),
    "get": lambda store: store.get_object(BUCKET, KEY),
    "head": lambda store: store.head_object(BUCKET, KEY),
    "list": lambda store: store.list_objects(BUCKET, "uploads/"),
    "delete": lambda store: store.delete_object(BUCKET, KEY),
}


def error_xml(code: str, message: str) -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code>'
        f"<Message>{message}</Message><RequestId>TEST</RequestId></Error>"
    ).encode()


@contextmanager
def s3_answering(status: int, code: str, *, delay: float = 0.0) -> Iterator[str]:
    """An HTTP server on loopback that answers every request with S3's error ``code``, ``status``
    (after ``delay`` seconds); yields its URL."""

    class Answer(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            time.sleep(delay)
            body = b"" if self.command == "HEAD" else error_xml(code, "Please reduce your rate.")
            self.send_response(status)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_PUT = do_HEAD = do_DELETE = do_POST = _answer

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Answer)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def store_at(endpoint: str) -> S3ObjectStore:
    """The S3 store on ``endpoint`` with a client that tries each request once, briefly."""
    client = SESSION.create_client(
        "s3",
        region_name=REGION,
        endpoint_url=endpoint,
        aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
        aws_secret_access_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        config=Config(
            signature_version="s3v4",
            s3={"addressing_style": "path"},
            retries={"total_max_attempts": 1},
            connect_timeout=2,
            read_timeout=0.5,
        ),
    )
    return S3ObjectStore(REGION, client=client)


@pytest.mark.parametrize("operation", OPERATIONS)
def test_a_throttling_s3_makes_every_operation_unavailable(operation: str) -> None:
    with (
        s3_answering(503, "SlowDown") as endpoint,
        pytest.raises(StorageUnavailableError) as caught,
    ):
        OPERATIONS[operation](store_at(endpoint))
    error = caught.value
    assert error.code == "storage.unavailable"
    assert error.status == 503
    # A HEAD answer has no body to name the error: botocore reports the status instead.
    assert error.reason == ("503" if operation == "head" else "SlowDown")
    assert f"{BUCKET}/uploads/" in error.message  # where, as the key or the listed prefix
    assert "try again later" in error.message


@pytest.mark.parametrize(
    ("status", "code"),
    [(503, "ServiceUnavailable"), (500, "InternalError"), (502, "BadGateway"), (504, "Timeout")],
)
def test_a_failing_s3_is_unavailable(status: int, code: str) -> None:
    with s3_answering(status, code) as endpoint, pytest.raises(StorageUnavailableError) as caught:
        store_at(endpoint).get_object(BUCKET, KEY)
    assert (caught.value.reason, caught.value.status) == (code, status)


def test_a_refused_request_is_not_unavailable() -> None:
    with s3_answering(403, "AccessDenied") as endpoint, pytest.raises(S3Error) as caught:
        store_at(endpoint).get_object(BUCKET, KEY)
    assert (caught.value.code, caught.value.status) == ("AccessDenied", 403)


def test_an_endpoint_nobody_listens_on_is_unavailable() -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(StorageUnavailableError) as caught:
        store_at(closed).head_object(BUCKET, KEY)
    assert caught.value.reason == "EndpointConnectionError"
    assert caught.value.status is None
    assert "could not be reached" in caught.value.message


def test_an_s3_that_does_not_answer_in_time_is_unavailable() -> None:
    with (
        s3_answering(200, "", delay=2.0) as endpoint,
        pytest.raises(StorageUnavailableError) as caught,
    ):
        store_at(endpoint).get_object(BUCKET, KEY)
    assert caught.value.reason == "ReadTimeoutError"
