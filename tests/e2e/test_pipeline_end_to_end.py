"""One photo's whole path, for real: presign → PUT to the store → event → workflow → renditions."""

from __future__ import annotations

import io
import shutil
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from PIL import Image

from bakusoku.storage.presign import Presigner
from tests.conftest import MARKER, make_jpeg
from tests.e2e.server import RunningServer, auth, ended_execution

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    # These tests upload the same generated photo into one album again and again, each time
    # expecting it processed: duplicate marking (tests/e2e/test_imaging_pipeline.py) is off here.
    running = RunningServer(
        tmp_path_factory.mktemp("e2e") / "data", extra_env={"BAKUSOKU_MARK_DUPLICATES": "0"}
    ).start()
    yield running
    assert running.stop() == 0, running.log()


def presign(
    api: str,
    data: bytes,
    *,
    filename: str = "photo.jpg",
    album: str = "e2e",
    content_type: str = "image/jpeg",
) -> dict[str, Any]:
    body = {
        "filename": filename,
        "content_type": content_type,
        "size": len(data),
        "album": album,
        "service": "e2e",
    }
    response = httpx.post(f"{api}/v1/uploads", json=body, headers=auth(api))
    assert response.status_code == 201, response.text
    return response.json()


def put(grant: dict[str, Any], data: bytes) -> httpx.Response:
    upload = grant["upload"]
    return httpx.request(upload["method"], upload["url"], content=data, headers=upload["headers"])


def upload(api: str, data: bytes, **kwargs: Any) -> str:
    grant = presign(api, data, **kwargs)
    response = put(grant, data)
    assert response.status_code == 200, response.text
    return str(grant["photo_id"])


def wait_final(api: str, photo_id: str, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        photo = httpx.get(f"{api}/v1/photos/{photo_id}", headers=auth(api)).json()
        if photo["status"] in ("ready", "failed", "duplicate"):
            return photo
        time.sleep(0.2)
    raise AssertionError(f"photo {photo_id} still {photo['status']} after {timeout} s")


def fetch_image(url: str) -> Image.Image:
    response = httpx.get(url)
    assert response.status_code == 200, response.text
    return Image.open(io.BytesIO(response.content))


def is_marker(pixel: tuple[int, ...]) -> bool:
    return all(abs(a - b) < 40 for a, b in zip(pixel[:3], MARKER, strict=True))


# (stored width, stored height, EXIF orientation, displayed corner where the stored top-left lands)
ORIENTATION_CASES = [
    (1600, 1200, 1, "top-left"),
    (1600, 1200, 3, "bottom-right"),
    (1600, 1200, 6, "top-right"),
    (1600, 1200, 8, "bottom-left"),
    (4000, 3000, 1, "top-left"),  # 12 MP
]


@pytest.mark.parametrize(("width", "height", "orientation", "corner"), ORIENTATION_CASES)
def test_photo_becomes_ready_with_an_upright_exact_print_trim(
    server: RunningServer, width: int, height: int, orientation: int, corner: str
) -> None:
    data = make_jpeg(width, height, orientation=orientation, gps=True)
    photo = wait_final(server.api, upload(server.api, data))
    assert photo["status"] == "ready", photo["error"]
    upright_portrait = orientation in (5, 6, 7, 8)
    shown_w, shown_h = (height, width) if upright_portrait else (width, height)
    assert (photo["width"], photo["height"]) == (shown_w, shown_h)
    assert photo["size"] == len(data) and len(photo["sha256"]) == 64
    assert photo["taken_at"].startswith("2026-10-10T09:30:00")

    print_ = photo["renditions"]["print"]
    image = fetch_image(print_["url"])
    assert image.format == "JPEG"
    assert (image.width, image.height) == (print_["width"], print_["height"])
    short, long_ = sorted(image.size)
    assert abs(short * 127 / 89 - long_) <= 1.5, image.size  # 89:127 within ±1 px
    assert (image.height > image.width) == upright_portrait
    assert max(image.size) in (shown_w, shown_h)  # full resolution: one side untouched
    assert not image.getexif().get(0x8825), "GPS must not leak into renditions"
    x = image.width // 12 if "left" in corner else image.width - image.width // 12
    y = image.height // 12 if "top" in corner else image.height - image.height // 12
    assert is_marker(image.convert("RGB").getpixel((x, y))), f"marker not at {corner}"

    for name, long_edge in (("preview", 1600),):
        rendition = photo["renditions"][name]
        thumb = fetch_image(rendition["url"])
        assert max(thumb.size) == min(long_edge, max(shown_w, shown_h))
        assert (thumb.height > thumb.width) == upright_portrait
        assert not thumb.getexif()


def test_only_the_upload_sends_an_object_event(server: RunningServer) -> None:
    """Renditions are written under another prefix: no event, no outbox row, no trigger work."""
    photo_id = upload(server.api, make_jpeg(800, 600))
    photo = wait_final(server.api, photo_id)
    assert photo["status"] == "ready" and len(photo["renditions"]) >= 2
    with sqlite3.connect(server.data_dir / "bakusoku.db") as db:
        keys = [
            key
            for (key,) in db.execute(
                "SELECT object_key FROM object_events WHERE object_key LIKE ?", (f"%{photo_id}%",)
            )
        ]
    assert len(keys) == 1 and keys[0].startswith("uploads/"), keys


def test_execution_history_shows_every_state(server: RunningServer) -> None:
    photo_id = upload(server.api, make_jpeg(800, 600))
    assert wait_final(server.api, photo_id)["status"] == "ready"
    body = ended_execution(server.api, photo_id)
    assert body["execution"]["status"] == "SUCCEEDED"
    types = [event["type"] for event in body["events"]]
    assert types[0] == "ExecutionStarted" and types[-1] == "ExecutionSucceeded"
    entered = [e for e in body["events"] if e["type"] == "TaskStateEntered"]
    names = {e["details"]["name"] for e in entered}
    # MarkReady, IndexFaces and ReadBibs are the three branches of the Parallel state Finish.
    assert names == {"StorePhoto", "MakeRenditions", "MarkReady", "IndexFaces", "ReadBibs"}
    assert "ParallelStateEntered" in types
    assert all(event["timestamp"] for event in body["events"])


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (make_jpeg(1200, 900)[:5000], "image.corrupt"),
        (
            b"these are the minutes of the PTA meeting, not a photo\n" * 20,
            "image.unsupported_format",
        ),
        (b"", "image.empty"),
    ],
    ids=["truncated-jpeg", "text-renamed-jpg", "zero-bytes"],
)
def test_bad_files_end_failed_with_a_code_and_leave_nothing_behind(
    server: RunningServer, data: bytes, code: str
) -> None:
    photo_id = upload(server.api, data, filename="broken.jpg")
    photo = wait_final(server.api, photo_id)
    assert photo["status"] == "failed"
    assert photo["error"]["code"] == code
    assert photo["error"]["message"]
    assert photo["renditions"] == {}
    leftovers = list((server.data_dir / "objects").rglob(f"renditions/*/{photo_id}/*"))
    assert leftovers == []
    execution = httpx.get(
        f"{server.api}/v1/photos/{photo_id}/execution", headers=server.headers
    ).json()
    assert execution["execution"]["status"] == "FAILED"
    # the workers survived: a good photo still goes through
    assert wait_final(server.api, upload(server.api, make_jpeg(640, 480)))["status"] == "ready"


def _credentials(server: RunningServer) -> dict[str, str]:
    return yaml.safe_load((server.data_dir / "credentials.yml").read_text())


def test_expired_and_tampered_urls_are_refused_as_s3_does(server: RunningServer) -> None:
    data = make_jpeg(320, 240)
    creds = _credentials(server)
    presigner = Presigner(
        f"http://127.0.0.1:{server.store_port}",
        "us-east-1",
        creds["access_key_id"],
        creds["secret_access_key"],
    )
    short = presigner.presign_put(
        "bakusoku",
        "uploads/e2e/e2e/expiring.jpg",
        content_type="image/jpeg",
        content_length=len(data),
        expires_in=1,
    )
    time.sleep(2.1)
    expired = httpx.put(short.url, content=data, headers=short.headers)
    assert expired.status_code == 403
    assert "<Code>AccessDenied</Code>" in expired.text and "Request has expired" in expired.text

    grant = presign(server.api, data)
    tampered_url = grant["upload"]["url"].replace("/e2e/", "/other/")
    tampered = httpx.put(tampered_url, content=data, headers=grant["upload"]["headers"])
    assert tampered.status_code == 403
    assert "<Code>SignatureDoesNotMatch</Code>" in tampered.text

    no_type = {k: v for k, v in grant["upload"]["headers"].items() if k.lower() != "content-type"}
    missing = httpx.put(grant["upload"]["url"], content=data, headers=no_type)
    assert missing.status_code == 403

    assert put(grant, data).status_code == 200  # the untampered grant still works once
    again = put(grant, data)
    assert again.status_code == 412, "a presigned upload must never overwrite an object"


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_plain_curl_put_with_the_returned_headers_works(
    server: RunningServer, tmp_path: Path
) -> None:
    path = tmp_path / "photo.jpg"
    path.write_bytes(make_jpeg(640, 480))
    grant = presign(server.api, path.read_bytes())
    command = [
        "curl",
        "-sS",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        "-X",
        "PUT",
        "--data-binary",
        f"@{path}",
    ]
    for name, value in grant["upload"]["headers"].items():
        command += ["-H", f"{name}: {value}"]
    status = subprocess.run([*command, grant["upload"]["url"]], capture_output=True, text=True)
    assert status.stdout == "200", status.stderr
    assert wait_final(server.api, grant["photo_id"])["status"] == "ready"


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        ({"content_type": "image/jpeg", "size": 1, "album": "a"}, "filename", "request.invalid"),
        (
            {"filename": "a.gif", "content_type": "image/gif", "size": 1, "album": "a"},
            "content_type",
            "upload.unsupported_type",
        ),
        (
            {"filename": "a.jpg", "content_type": "image/jpeg", "size": 30 * 2**20, "album": "a"},
            "size",
            "upload.too_large",
        ),
        (
            {"filename": "a.jpg", "content_type": "image/jpeg", "size": 1, "album": "../etc"},
            "album",
            "request.invalid",
        ),
    ],
)
def test_malformed_upload_requests_get_json_errors_naming_the_field(
    server: RunningServer, body: dict[str, Any], field: str, code: str
) -> None:
    response = httpx.post(f"{server.api}/v1/uploads", json=body, headers=server.headers)
    assert response.status_code == 400
    assert response.json()["error"]["field"] == field
    assert response.json()["error"]["code"] == code


def test_invalid_json_and_unknown_photo(server: RunningServer) -> None:
    response = httpx.post(
        f"{server.api}/v1/uploads",
        content=b"{not json",
        headers={"content-type": "application/json", **server.headers},
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "request.malformed_json"
    missing = httpx.get(
        f"{server.api}/v1/photos/00000000-0000-0000-0000-000000000000", headers=server.headers
    )
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "photo.not_found"


def test_listing_filters_by_album_and_status_with_a_cursor(server: RunningServer) -> None:
    ids = [upload(server.api, make_jpeg(400, 300), album="listing") for _ in range(3)]
    for photo_id in ids:
        wait_final(server.api, photo_id)
    first = httpx.get(
        f"{server.api}/v1/photos", params={"album": "listing", "limit": 2}, headers=server.headers
    ).json()
    assert len(first["items"]) == 2 and first["next_cursor"]
    rest = httpx.get(
        f"{server.api}/v1/photos",
        params={"album": "listing", "limit": 2, "cursor": first["next_cursor"]},
        headers=server.headers,
    ).json()
    listed = [p["photo_id"] for p in first["items"] + rest["items"]]
    assert sorted(listed) == sorted(ids)
    failed = httpx.get(
        f"{server.api}/v1/photos",
        params={"album": "listing", "status": "failed"},
        headers=server.headers,
    )
    assert failed.json()["items"] == []
