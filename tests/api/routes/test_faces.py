"""Faces attacked through a real server: another service's face and photo answer byte for byte as
missing ones and are left unchanged; a search's multipart body is capped before it is read;
parameters are strict; album names pasted with secrets are neither used nor repeated."""

from __future__ import annotations

import threading
import time
import uuid
from contextlib import closing

import httpx
import numpy as np
import pytest

from bakusoku.db.faces import FaceRepository, FaceRow
from tests.api.routes.tenants import (
    PASTED,
    Tenants,
    answer,
    assert_json_error,
    assert_not_repeated,
    bearer,
    flat_png,
    new_album,
    ready_photo,
    refused_streamed,
    refused_unread,
)

pytestmark = pytest.mark.integration

SEARCH_MAX_BYTES = 3 * 8 * 1024 * 1024 + 64 * 1024


def _face_of(tenants: Tenants, album: str) -> tuple[str, str]:
    """A ready photo of school-a in ``album`` with one face on it: (photo id, face id)."""
    photo_id = ready_photo(tenants, album, tenants.a, seed=21)
    face_id = str(uuid.uuid4())
    vector = np.random.default_rng(7).normal(size=128).astype(np.float32)
    vector /= np.linalg.norm(vector)
    engine = tenants.engine()
    try:
        FaceRepository(engine).replace_photo_faces(
            "school-a",
            album,
            photo_id,
            [FaceRow(face_id, photo_id, (10, 10, 60, 60), embedded=True, vector=vector.tobytes())],
        )
    finally:
        engine.dispose()
    return photo_id, face_id


def test_another_services_face_and_photo_answer_as_missing_ones(tenants: Tenants) -> None:
    album = new_album()
    photo_id, face_id = _face_of(tenants, album)
    missing_face, missing_photo = str(uuid.uuid4()), str(uuid.uuid4())
    faces, headers = f"{tenants.api}/v1/albums/{album}/faces", bearer(tenants.b)

    for method, suffix in (("POST", "/do-not-publish"), ("DELETE", "")):
        theirs = httpx.request(method, f"{faces}/{face_id}{suffix}", headers=headers)
        absent = httpx.request(method, f"{faces}/{missing_face}{suffix}", headers=headers)
        assert_json_error(theirs, 404, "face.not_found")
        assert answer(theirs) == answer(absent)
    theirs = httpx.get(f"{tenants.api}/v1/photos/{photo_id}/faces", headers=headers)
    absent = httpx.get(f"{tenants.api}/v1/photos/{missing_photo}/faces", headers=headers)
    assert answer(theirs) == (
        absent.status_code,
        absent.content.replace(missing_photo.encode(), photo_id.encode()),
    )
    # school-b's parent of the same album name cannot confirm school-a's face either
    made = httpx.post(f"{tenants.api}/v1/albums/{album}/codes", json={}, headers=headers)
    with closing(httpx.Client(base_url=tenants.api)) as parent:
        parent.post("/v1/parent/session", json={"code": made.json()["code"]}).raise_for_status()
        verdicts = [
            parent.put(f"/v1/parent/faces/{face}", json={"verdict": "confirmed"})
            for face in (face_id, missing_face)
        ]
    assert answer(verdicts[0]) == answer(verdicts[1])
    assert verdicts[0].status_code == 404

    ours = httpx.get(f"{tenants.api}/v1/photos/{photo_id}/faces", headers=bearer(tenants.a))
    assert [(f["face_id"], f["do_not_publish"]) for f in ours.json()["items"]] == [(face_id, False)]


def test_a_search_body_over_its_cap_is_refused_before_it_is_read(tenants: Tenants) -> None:
    path = f"/v1/albums/{new_album()}/faces/search"
    headers = bearer(tenants.a) | {"Content-Type": "multipart/form-data; boundary=x"}

    assert refused_unread(tenants.port, "POST", path, headers, 10**9) == 413
    part = (
        b'--x\r\nContent-Disposition: form-data; name="reference"; filename="a.jpg"\r\n'
        b"Content-Type: image/jpeg\r\n\r\n"
    )
    status, sent = refused_streamed(tenants.port, "POST", path, headers, part)
    assert status == 413 and sent < SEARCH_MAX_BYTES + 16 * 1024 * 1024


def test_a_search_photo_declaring_too_many_pixels_is_refused_from_its_header(
    tenants: Tenants,
) -> None:
    # A few kilobytes of PNG that decode to 35 MP: the search would decode them whole.
    huge = flat_png(7000, 5000)
    assert len(huge) < 200 * 1024
    files = [("reference", ("child.png", huge, "image/png"))]

    refused = httpx.post(
        f"{tenants.api}/v1/albums/{new_album()}/faces/search",
        files=files,
        headers=bearer(tenants.a),
        timeout=30,
    )

    error = assert_json_error(refused, 400, "image.too_large")
    assert "megapixels" in error["message"] and "smaller copy" in error["message"]


def test_a_search_leaves_the_api_answering_meanwhile(tenants: Tenants) -> None:
    """A search decodes and embeds its photos for a while: other requests are answered meanwhile,
    not after it (it runs off the event loop)."""
    # 23.5 MP of 16-bit RGBA: under the cap, slow to decode, and no face in it
    reference = flat_png(5600, 4200, deep=True)
    searched: list[tuple[httpx.Response, float]] = []

    def search() -> None:
        answer = httpx.post(
            f"{tenants.api}/v1/albums/{new_album()}/faces/search",
            files=[("reference", ("child.png", reference, "image/png"))],
            headers=bearer(tenants.a),
            timeout=60,
        )
        searched.append((answer, time.perf_counter()))

    search()  # the face model loads: the next search is the photo's work alone
    searched.clear()
    searching = threading.Thread(target=search)
    searching.start()
    time.sleep(0.2)  # the search's body is in: its decoding is under way
    health = httpx.get(f"{tenants.api}/healthz", timeout=60)
    health_done = time.perf_counter()
    searching.join()
    (answer, search_done) = searched[0]

    assert health.status_code == 200
    assert_json_error(answer, 400, "faces.no_face")
    assert search_done - health_done > 0.15, "/healthz was answered only once the search was"


def test_other_face_routes_have_the_apis_cap(tenants: Tenants) -> None:
    path = f"/v1/albums/{new_album()}/faces/{uuid.uuid4()}/do-not-publish"
    headers = bearer(tenants.a) | {"Content-Type": "application/json"}
    assert refused_unread(tenants.port, "POST", path, headers, 10**8) == 413


@pytest.mark.parametrize(
    ("method", "suffix", "params", "field"),
    [
        ("POST", "/search", {"limit": "many"}, "limit"),
        ("POST", "/search", {"limit": "0"}, "limit"),
        ("POST", "/search", {"limit": "1e3"}, "limit"),
        ("POST", "/{face}/do-not-publish", {"child": "maybe"}, "child"),
        ("POST", "/{face}/do-not-publish", {"publish": "2"}, "publish"),
        ("DELETE", "/{face}", {"child": "[]"}, "child"),
    ],
)
def test_face_parameters_are_strict(
    tenants: Tenants, method: str, suffix: str, params: dict[str, str], field: str
) -> None:
    path = f"{tenants.api}/v1/albums/{new_album()}/faces" + suffix.format(face=uuid.uuid4())
    response = httpx.request(method, path, params=params, headers=bearer(tenants.a))
    error = assert_json_error(response, 400, "request.invalid")
    assert error["field"] == field


def test_the_admin_token_names_the_albums_service(tenants: Tenants) -> None:
    album = new_album()
    for service in (None, "School A"):
        response = httpx.post(
            f"{tenants.api}/v1/albums/{album}/faces/search",
            params={} if service is None else {"service": service},
            headers=tenants.server.headers,
        )
        assert assert_json_error(response, 400, "request.invalid")["field"] == "service"


@pytest.mark.parametrize("kind", sorted(PASTED))
def test_an_album_or_face_pasted_with_a_secret_is_not_repeated(tenants: Tenants, kind: str) -> None:
    pasted = PASTED[kind]
    faces = f"{tenants.api}/v1/albums"
    headers = bearer(tenants.a)
    missing_album = httpx.post(
        f"{faces}/{new_album()}/faces/{uuid.uuid4()}/do-not-publish",
        headers=bearer(tenants.a_other_album),
    )
    responses = [
        httpx.post(f"{faces}/{pasted}/faces/search", headers=headers),
        httpx.post(f"{faces}/{pasted}/faces/{uuid.uuid4()}/do-not-publish", headers=headers),
        httpx.delete(f"{faces}/{new_album()}/faces/{pasted}", headers=headers),
        httpx.get(f"{tenants.api}/v1/photos/{pasted}/faces", headers=headers),
        httpx.post(
            f"{faces}/{new_album()}/faces/search", data={"confirmed": pasted}, headers=headers
        ),
    ]
    for response in responses:
        assert 400 <= response.status_code < 500, response.text
        assert response.headers["content-type"].startswith("application/json")
        assert_not_repeated(response, pasted)
    # an album named after a secret answers as an album the key does not reach
    assert responses[0].json()["error"]["code"] == "album.not_found"
    assert responses[1].json()["error"]["code"] == missing_album.json()["error"]["code"]
