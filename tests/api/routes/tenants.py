"""What the route attacks share: two services' keys on one real server, things to paste where an
id goes, and answers compared byte for byte."""

from __future__ import annotations

import json
import select
import struct
import time
import uuid
import zlib
from dataclasses import dataclass
from typing import Any

import httpx
import sqlalchemy as sa

from bakusoku.db.engine import create_db_engine
from tests.api.sockets import body_of, connect, read_until_closed, request_head, status_of
from tests.conftest import make_jpeg
from tests.e2e.server import RunningServer, ended_execution

# Secrets a client may paste where an id, a name or a value goes: none is ever repeated.
PASTED = {
    "api key": "bks_0123456789ab_" + "Q" * 43,
    "admin token": "bka_" + "Z" * 43,
    "parent session": "bkp_800fda9d6eda9458ff_" + "T" * 43,
    "album code": "DZ3S-F3T5-ZJJJ",
    "runner token": "eyJzIjoic2Nob29sLWEiLCJhIjoibTEiLCJiIjoiMSJ9." + "k" * 24,
}


@dataclass
class Tenants:
    server: RunningServer
    a: str  # an admin key of school-a, whose things are attacked
    b: str  # an admin key of school-b, the attacker
    a_other_album: str  # an admin key of school-a that reaches only the album "elsewhere"

    @property
    def api(self) -> str:
        return self.server.api

    @property
    def port(self) -> int:
        return self.server.port

    def engine(self) -> sa.Engine:
        return create_db_engine(f"sqlite:///{(self.server.data_dir / 'bakusoku.db').resolve()}")


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def new_album() -> str:
    return f"album-{uuid.uuid4().hex[:10]}"


def answer(response: httpx.Response) -> tuple[int, bytes]:
    """What a client can tell apart: the status and the body, byte for byte."""
    return response.status_code, response.content


def assert_json_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json"), response.headers
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == code, response.text
    return error


def assert_not_repeated(response: httpx.Response, pasted: str) -> None:
    assert pasted not in response.text, response.text
    assert pasted.lower() not in response.text.lower(), response.text


def race(tenants: Tenants, album: str, key: str, entries: str = "") -> None:
    httpx.put(
        f"{tenants.api}/v1/races/{album}",
        json={"name": "湘南マラソン", "date": "2026-12-06"},
        headers=bearer(key),
    ).raise_for_status()
    if entries:
        httpx.post(
            f"{tenants.api}/v1/races/{album}/entries",
            content=entries,
            headers=bearer(key) | {"Content-Type": "text/csv"},
        ).raise_for_status()


def ready_photo(tenants: Tenants, album: str, key: str, seed: int) -> str:
    """A photo uploaded into ``album`` with ``key`` and processed to ready."""
    data = make_jpeg(640 + seed, 480)
    grant = httpx.post(
        f"{tenants.api}/v1/uploads",
        json={
            "filename": f"IMG_{seed}.jpg",
            "content_type": "image/jpeg",
            "size": len(data),
            "album": album,
        },
        headers=bearer(key),
    )
    assert grant.status_code == 201, grant.text
    upload = grant.json()["upload"]
    httpx.request(
        upload["method"], upload["url"], content=data, headers=upload["headers"]
    ).raise_for_status()
    photo_id = str(grant.json()["photo_id"])
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        photo = httpx.get(f"{tenants.api}/v1/photos/{photo_id}", headers=bearer(key)).json()
        if photo["status"] in ("ready", "failed", "duplicate"):
            assert photo["status"] == "ready", photo
            # Faces and bibs are recorded in branches that may end after ready: what a test
            # records next must not be replaced by them.
            ended = ended_execution(tenants.api, photo_id, timeout=60)["execution"]
            assert ended["status"] == "SUCCEEDED", ended
            return photo_id
        time.sleep(0.2)
    raise AssertionError(f"photo {photo_id} not ready")


def refused_unread(port: int, method: str, path: str, headers: dict[str, str], length: int) -> int:
    """Declare a ``length``-byte body, send its first bytes only: the status of the answer, which
    must come at once (the rest is never read) and close the connection."""
    with connect(port) as sock:
        sock.sendall(request_head(method, path, headers | {"Content-Length": str(length)}) + b"{")
        response, took = read_until_closed(sock, 5)
    assert took < 2, took
    assert json.loads(body_of(response))["error"]["code"] == "request.too_large", response[:300]
    return status_of(response)


def refused_streamed(
    port: int, method: str, path: str, headers: dict[str, str], start: bytes = b""
) -> tuple[int, int]:
    """Stream a chunked body (``start``, then x's) until the server answers: its status, and how
    much was sent."""
    chunk = b"x" * 65536
    framed = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
    sent = 0
    with connect(port) as sock:
        sock.sendall(request_head(method, path, headers | {"Transfer-Encoding": "chunked"}))
        if start:
            sock.sendall(f"{len(start):x}\r\n".encode() + start + b"\r\n")
        try:
            while sent < 200 * 1024 * 1024 and not select.select([sock], [], [], 0)[0]:
                sock.sendall(framed)
                sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass
        response, _ = read_until_closed(sock, 5)
    assert json.loads(body_of(response))["error"]["code"] == "request.too_large", response[:300]
    return status_of(response), sent


def flat_png(width: int, height: int, *, deep: bool = False) -> bytes:
    """A PNG of one colour: a few kilobytes that declare (and decode to) width x height; ``deep``:
    16-bit RGBA (8 bytes a pixel, the slowest PNG to decode) instead of 8-bit RGB."""
    depth, colour, pixel_bytes = (16, 6, 8) if deep else (8, 2, 3)
    row = b"\x00" + bytes(width * pixel_bytes)
    packer = zlib.compressobj(9)
    data = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")
    )
