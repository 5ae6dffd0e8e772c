"""Amazon Rekognition's JSON API on loopback, answered by the Rekognition-shaped fake.

moto's Rekognition implements none of the collection operations the face index calls (no
CreateCollection, IndexFaces, SearchFaces, SearchFacesByImage, DeleteFaces, DeleteCollection), so
the deployed stack's functions reach this endpoint instead (``AWS_ENDPOINT_URL_REKOGNITION``, which
botocore reads by itself: nothing of bakusoku is changed). Every request is checked against
botocore's ``rekognition`` service model and every answer has the documented shape; the face model
behind it is a stand-in (see ``tests.faces.rekognition_fake``). Each request is also kept with its
``Authorization`` header's signing scope, so a test can see that the function signed it with its
role's session for Rekognition in the stack's region.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.faces.rekognition_fake import FakeRekognition


@dataclass
class RekognitionEndpoint:
    url: str
    fake: FakeRekognition
    scopes: list[str] = field(default_factory=list)  # each request's SigV4 credential scope


@contextmanager
def rekognition_endpoint(region: str, account: str) -> Iterator[RekognitionEndpoint]:
    """Serve the fake's six operations on a free loopback port until the block ends."""
    fake = FakeRekognition(region=region, account=account)
    scopes: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            authorization = self.headers.get("Authorization", "")
            scopes.append(_scope(authorization))
            status, payload = fake.serve_wire(self.headers.get("X-Amz-Target", ""), body)
            self.send_response(status)
            self.send_header("Content-Type", "application/x-amz-json-1.1")
            self.send_header("x-amzn-RequestId", "fake-rekognition")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield RekognitionEndpoint(f"http://127.0.0.1:{server.server_address[1]}", fake, scopes)
    finally:
        server.shutdown()
        server.server_close()


def _scope(authorization: str) -> str:
    """``AKID/20261207/ap-northeast-1/rekognition/aws4_request`` → its last three parts."""
    credential = authorization.partition("Credential=")[2].split(",", 1)[0]
    return "/".join(credential.split("/")[2:4])
