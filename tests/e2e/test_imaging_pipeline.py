"""Print-ready imaging through the running pipeline: face-aware trim, extra print aspects, WebP
renditions, placeholder and metadata on the photo, duplicates, and bad or hostile uploads."""

from __future__ import annotations

import io
import re
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from PIL import Image

from bakusoku.imaging import load_face_detector
from bakusoku.imaging.lossless import lossless_available
from tests.e2e.server import RunningServer, auth, ended_execution
from tests.e2e.test_pipeline_end_to_end import fetch_image, upload
from tests.imaging.photos import (
    SVG,
    animated_gif,
    encode,
    jpeg_header_bomb,
    marked_picture,
    noisy_picture,
    png_header_bomb,
    psd_header,
    scene_with_face,
)
from tests.imaging.test_metadata import SERIAL, full_camera_jpeg

pytestmark = pytest.mark.integration

EXTRA_PRINTS = {"print-2l": (127, 178), "print-6x4": (4, 6)}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = RunningServer(
        tmp_path_factory.mktemp("imaging") / "data",
        extra_env={
            "BAKUSOKU_EXTRA_PRINTS": ",".join(f"{n}={a}:{b}" for n, (a, b) in EXTRA_PRINTS.items()),
            "BAKUSOKU_STORE_GPS": "1",
            "BAKUSOKU_MIN_PRINT_SHORT_EDGE": "300",
        },
    ).start()
    yield running
    assert running.stop() == 0, running.log()


def settled(api: str, photo_id: str, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        photo = httpx.get(f"{api}/v1/photos/{photo_id}", headers=auth(api)).json()
        if photo["status"] in ("ready", "failed", "duplicate"):
            # Faces and bibs are recorded in Parallel branches that may end after the photo is
            # ready: the photo is settled once its execution has ended.
            ended_execution(api, photo_id)
            settled_photo: dict[str, Any] = httpx.get(
                f"{api}/v1/photos/{photo_id}", headers=auth(api)
            ).json()
            return settled_photo
        time.sleep(0.1)
    raise AssertionError(f"photo {photo_id} still {photo['status']} after {timeout} s")


def _retries(events: list[dict[str, Any]]) -> int:
    """Task calls beyond one per Task state entered: each retry schedules the task again."""
    calls = sum(1 for e in events if e["type"] in ("TaskScheduled", "LambdaFunctionScheduled"))
    entered = sum(1 for e in events if e["type"] == "TaskStateEntered")
    return calls - entered


def _states_entered(api: str, photo_id: str) -> set[str]:
    events = ended_execution(api, photo_id)["events"]
    return {e["details"]["name"] for e in events if e["type"].endswith("StateEntered")}


def _inside(box: tuple[int, ...] | list[int], frame: list[int]) -> bool:
    return frame[0] <= box[0] and frame[1] <= box[1] and box[2] <= frame[2] and box[3] <= frame[3]


def test_photo_with_a_face_gets_every_rendition_and_its_facts(server: RunningServer) -> None:
    # Landscape 3000x1500 with a face at the far right: a centred 127:89 trim would cut it off.
    scene, face = scene_with_face((3000, 1500), (2650, 300), 320)
    photo = settled(server.api, upload(server.api, encode(scene, "JPEG", quality=90)))
    assert photo["status"] == "ready", photo["error"]
    renditions = photo["renditions"]
    expected = {"print", "preview", *EXTRA_PRINTS}
    assert set(renditions) == expected

    crop = photo["crop_box"]
    assert renditions["print"]["crop_box"] == crop
    # A JPEG original's prints are cut from its blocks where the transform is installed, and say so.
    cut = lossless_available() is None
    for name in ("print", *EXTRA_PRINTS):
        assert renditions[name]["lossless"] is cut, renditions[name]
        assert ("reencoded_because" in renditions[name]) is not cut
    if load_face_detector() is not None:
        assert len(photo["faces"]) == 1
        assert _inside(face, crop), (face, crop)
        printed = fetch_image(renditions["print"]["url"]).convert("RGB")
        # The face's skin is in the print, where the crop box says it is.
        centre = ((face[0] + face[2]) // 2 - crop[0], (face[1] + face[3]) * 6 // 10 - crop[1])
        red, green, blue = printed.getpixel(centre)  # type: ignore[misc]
        assert red > green > blue and red > 150, (red, green, blue)
    else:
        assert photo["faces"] is None
        assert abs(crop[0] - 430) < 16 and crop[2] - crop[0] == 2140 and crop[3] == 1500

    for name, (short, long) in EXTRA_PRINTS.items():
        image = fetch_image(renditions[name]["url"])
        w, h = sorted(image.size)
        assert abs(h - w * long / short) <= 1, (name, image.size)
        assert image.width > image.height  # landscape photo, landscape print
        assert renditions[name]["crop_box"][2] - renditions[name]["crop_box"][0] == image.width

    for name, edge, fmt in (("preview", 1600, "JPEG"),):
        image = fetch_image(renditions[name]["url"])
        assert image.format == fmt and max(image.size) == edge
    assert isinstance(photo["placeholder"], str) and 20 <= len(photo["placeholder"]) <= 40


def test_camera_metadata_reaches_the_photo_and_no_rendition(server: RunningServer) -> None:
    photo = settled(server.api, upload(server.api, full_camera_jpeg(), album="meta"))
    assert photo["status"] == "ready", photo["error"]
    assert photo["taken_at"] == "2026-10-10T09:30:05-05:30"
    meta = photo["metadata"]
    assert meta["format"] == "JPEG" and meta["orientation"] == 1
    assert (meta["camera_make"], meta["camera_model"]) == ("FUJIFILM", "X-T5")
    assert meta["lens"] == "FUJIFILM XF35mmF1.4 R"
    assert meta["exposure"]["iso"] == 400 and meta["exposure"]["f_number"] == 2.8
    # This server is configured with store_gps; by default the column stays empty.
    assert meta["gps"] == {"latitude": -33.865, "longitude": -151.21, "altitude": 42.5}
    for name, item in photo["renditions"].items():
        raw = httpx.get(item["url"]).content
        for secret in (b"Exif\x00\x00", b"adobe:ns:meta", b"8BIM", SERIAL.encode(), b"MAKERNOTE"):
            assert secret not in raw, (name, secret)
        assert not Image.open(io.BytesIO(raw)).getexif()


def test_same_bytes_in_one_album_are_a_duplicate_with_no_processing(
    server: RunningServer,
) -> None:
    data = encode(noisy_picture(900, 600), "JPEG", quality=88)
    first = upload(server.api, data, album="dups")
    assert settled(server.api, first)["status"] == "ready"
    second = upload(server.api, data, album="dups")
    photo = settled(server.api, second)
    assert photo["status"] == "duplicate"
    assert photo["duplicate_of"] == first
    assert photo["renditions"] == {} and photo["sha256"]
    entered = _states_entered(server.api, second)
    assert {"StorePhoto", "IsDuplicate", "PhotoDuplicate"} <= entered
    assert not entered & {"MakeRenditions", "MarkReady"}
    assert ended_execution(server.api, second)["execution"]["status"] == "SUCCEEDED"
    assert not list((server.data_dir / "objects").rglob(f"renditions/*/{second}/*"))
    listed = httpx.get(
        f"{server.api}/v1/photos",
        params={"album": "dups", "status": "duplicate"},
        headers=server.headers,
    )
    assert [p["photo_id"] for p in listed.json()["items"]] == [second]
    # The same bytes in another album are that album's own photo.
    other = settled(server.api, upload(server.api, data, album="dups-elsewhere"))
    assert other["status"] == "ready" and other["duplicate_of"] is None


def test_a_photo_is_kept_while_a_duplicate_shows_it(server: RunningServer) -> None:
    data = encode(noisy_picture(800, 600), "JPEG", quality=88)
    first = upload(server.api, data, album="dups-delete")
    original = settled(server.api, first)
    second = upload(server.api, data, album="dups-delete")
    assert settled(server.api, second)["duplicate_of"] == first

    def delete(photo_id: str) -> httpx.Response:
        return httpx.delete(f"{server.api}/v1/photos/{photo_id}", headers=server.headers)

    refused = delete(first)
    assert refused.status_code == 409, refused.text
    error = refused.json()["error"]
    assert error["code"] == "photo.has_duplicates" and second in error["message"]
    kept = settled(server.api, first)
    assert kept["status"] == "ready" and kept["updated_at"] == original["updated_at"]
    assert all(httpx.get(r["url"]).status_code == 200 for r in kept["renditions"].values())

    assert delete(second).status_code == 204
    assert delete(first).status_code == 204
    gone = httpx.get(f"{server.api}/v1/photos/{first}", headers=server.headers)
    assert gone.status_code == 404


_GOOD = encode(noisy_picture(1600, 1200), "JPEG", quality=90)
_PNG = encode(noisy_picture(800, 600), "PNG")

HOSTILE = [
    ("truncated.jpg", _GOOD[: len(_GOOD) // 2], "image.corrupt"),
    ("corrupt.png", _PNG[:100] + bytes(len(_PNG) - 100), "image.corrupt"),
    ("empty.jpg", b"", "image.empty"),
    ("minutes.jpg", b"minutes of the PTA meeting\n" * 40, "image.unsupported_format"),
    ("animated.gif", animated_gif(), "image.unsupported_format"),
    ("drawing.svg", SVG, "image.unsupported_format"),
    ("layers.psd", psd_header(), "image.unsupported_format"),
    ("scan.tif", encode(marked_picture(800, 600), "TIFF"), "image.unsupported_format"),
    ("bomb.png", png_header_bomb(), "image.too_large"),
    ("bomb.jpg", jpeg_header_bomb(), "image.too_large"),
    ("tiny.jpg", encode(marked_picture(280, 210), "JPEG"), "image.too_small"),
]


@pytest.mark.parametrize(("name", "data", "code"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_uploads_fail_fast_with_their_code(
    server: RunningServer, name: str, data: bytes, code: str
) -> None:
    photo_id = upload(server.api, data, filename=name, album="hostile")
    photo = settled(server.api, photo_id)
    assert photo["status"] == "failed"
    assert photo["error"]["code"] == code
    assert len(photo["error"]["message"]) > 40
    assert photo["renditions"] == {}
    run = ended_execution(server.api, photo_id)
    assert run["execution"]["status"] == "FAILED"
    # Failing fast means no retries: image errors are MaxAttempts 0 in every Retry (how long
    # it takes is measured in bench/, not here).
    assert _retries(run["events"]) == 0
    assert not list((server.data_dir / "objects").rglob(f"renditions/*/{photo_id}/*"))
    # The workers are alive: a good photo still goes through.
    good = upload(
        server.api, encode(noisy_picture(640, 480), "JPEG"), album=f"after-{code.replace('.', '-')}"
    )
    assert settled(server.api, good)["status"] == "ready"


def test_no_invocation_went_over_512_mb(server: RunningServer) -> None:
    """Every invocation of this module's server (the hostile ones included) stayed under 512 MB."""
    used = [int(m) for m in re.findall(r"Max Memory Used: (\d+) MB", server.log_path.read_text())]
    assert used, "the server logged no invocation reports"
    assert max(used) < 512, max(used)
