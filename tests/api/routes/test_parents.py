"""The parent API attacked through a real server: a parent of one service's album never reaches
another's photo or face (each answers byte for byte as a missing one), reference photos are
capped before they are read, bodies are strict, and no error repeats a secret."""

from __future__ import annotations

import uuid
from contextlib import closing

import httpx
import pytest

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

REFERENCE_MAX_BYTES = 8 * 1024 * 1024  # parent_reference_max_bytes


def _parent(tenants: Tenants, album: str, key: str) -> httpx.Client:
    """A parent's client with a session for ``album`` (a code made with ``key``)."""
    made = httpx.post(f"{tenants.api}/v1/albums/{album}/codes", json={}, headers=bearer(key))
    made.raise_for_status()
    client = httpx.Client(base_url=tenants.api)
    client.post("/v1/parent/session", json={"code": made.json()["code"]}).raise_for_status()
    return client


def test_another_services_photo_answers_as_a_missing_one(tenants: Tenants) -> None:
    album = new_album()
    theirs = ready_photo(tenants, album, tenants.b, seed=11)  # school-b's photo, same album name
    missing = str(uuid.uuid4())
    with closing(_parent(tenants, album, tenants.a)) as parent:
        asked = parent.get(f"/v1/parent/photos/{theirs}")
        absent = parent.get(f"/v1/parent/photos/{missing}")
        listed = parent.get("/v1/parent/photos")

    assert_json_error(asked, 404, "photo.not_found")
    assert answer(asked) == (
        absent.status_code,
        absent.content.replace(missing.encode(), theirs.encode()),
    )
    assert listed.json()["items"] == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"references": "1"}, "references"),
        ({"references": True}, "references"),
        ({"limit": "50"}, "limit"),
        ({"limit": 1.5}, "limit"),
        ({"limit": 0}, "limit"),
        ({"everything": True}, "everything"),
    ],
)
def test_a_search_is_strictly_typed(tenants: Tenants, body: dict[str, object], field: str) -> None:
    with closing(_parent(tenants, new_album(), tenants.a)) as parent:
        response = parent.post("/v1/parent/search", json=body)
    error = assert_json_error(response, 400, "request.invalid")
    assert error["field"] == field


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("PUT", "/v1/parent/faces/f", {"verdict": 1}),
        ("PUT", "/v1/parent/faces/f", {"verdict": "confirmed", "child": True}),
        ("POST", "/v1/parent/session", {"code": 123456789012}),
    ],
)
def test_other_parent_bodies_are_strictly_typed(
    tenants: Tenants, method: str, path: str, body: dict[str, object]
) -> None:
    with closing(_parent(tenants, new_album(), tenants.a)) as parent:
        response = parent.request(method, path, json=body)
    assert_json_error(response, 400, "request.invalid")


def test_reference_photos_over_the_cap_are_refused_before_they_are_read(
    tenants: Tenants,
) -> None:
    with closing(_parent(tenants, new_album(), tenants.a)) as parent:
        cookie = "; ".join(f"{k}={v}" for k, v in parent.cookies.items())
    headers = {"Cookie": cookie, "Content-Type": "image/jpeg"}

    assert refused_unread(tenants.port, "POST", "/v1/parent/references", headers, 10**9) == 413
    status, sent = refused_streamed(tenants.port, "POST", "/v1/parent/references", headers)
    assert status == 413 and sent < REFERENCE_MAX_BYTES + 16 * 1024 * 1024


@pytest.mark.parametrize("kind", sorted(PASTED))
def test_no_parent_error_repeats_a_secret(tenants: Tenants, kind: str) -> None:
    pasted = PASTED[kind]
    with closing(_parent(tenants, new_album(), tenants.a)) as parent:
        responses = [
            parent.get(f"/v1/parent/photos/{pasted}"),
            parent.get("/v1/parent/photos", params={"cursor": pasted}),
            parent.put(f"/v1/parent/faces/{pasted}", json={"verdict": "confirmed"}),
            parent.put("/v1/parent/faces/f", json={"verdict": pasted}),
            parent.post("/v1/parent/references", content=pasted.encode()),
            httpx.post(f"{tenants.api}/v1/parent/session", json={"code": pasted}),
        ]
    for response in responses:
        assert 400 <= response.status_code < 500, response.text
        assert response.headers["content-type"].startswith("application/json")
        assert_not_repeated(response, pasted)


def test_a_reference_photo_is_refused_at_once_when_it_is_no_photo_we_can_search_with(
    tenants: Tenants,
) -> None:
    # Each search decodes every reference photo again: a few kilobytes of PNG that decode to
    # 100 MP would cost hundreds of megabytes and seconds per search, however many are sent.
    huge = flat_png(7000, 5000)
    assert len(huge) < 200 * 1024
    corrupt = b"\xff\xd8\xff\xe0" + b"\x00" * 100
    with closing(_parent(tenants, new_album(), tenants.a)) as parent:
        too_large = parent.post("/v1/parent/references", content=huge)
        damaged = parent.post("/v1/parent/references", content=corrupt)
        held = parent.get("/v1/parent/session").json()["references"]
        fine = parent.post("/v1/parent/references", content=flat_png(1600, 1200))

    error = assert_json_error(too_large, 400, "image.too_large")
    assert "megapixels" in error["message"] and "1600" in error["message"]
    assert_json_error(damaged, 400, "image.corrupt")
    assert held == 0
    assert fine.status_code == 201 and fine.json()["references"] == 1
