"""Bib review through a real server: a race's photos with no bib read are listed for staff, who
tag them (validated against the entry list) or mark "no bib visible"; other services and albums
see nothing, exactly as if the race or photo did not exist."""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx
import pytest

from tests.api.conftest import Bounded
from tests.conftest import make_jpeg

pytestmark = pytest.mark.integration


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _race_with_entries(bounded: Bounded, album: str | None = None) -> str:
    album = album or f"marathon-{uuid.uuid4().hex[:8]}"
    headers = _bearer(bounded.key)
    httpx.put(
        f"{bounded.api}/v1/races/{album}",
        json={"name": "湘南マラソン", "date": "2026-12-06"},
        headers=headers,
    ).raise_for_status()
    httpx.post(
        f"{bounded.api}/v1/races/{album}/entries",
        content="bib,name\n1432,走者 A\n988,走者 B\n7,走者 C\n",
        headers=headers | {"Content-Type": "text/csv"},
    ).raise_for_status()
    return album


def _ready_photo(bounded: Bounded, album: str, seed: int) -> str:
    data = make_jpeg(640 + seed, 480)
    grant = httpx.post(
        f"{bounded.api}/v1/uploads",
        json={
            "filename": f"IMG_{seed}.jpg",
            "content_type": "image/jpeg",
            "size": len(data),
            "album": album,
        },
        headers=_bearer(bounded.key),
    )
    assert grant.status_code == 201, grant.text
    upload = grant.json()["upload"]
    httpx.request(
        upload["method"], upload["url"], content=data, headers=upload["headers"]
    ).raise_for_status()
    photo_id = str(grant.json()["photo_id"])
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        photo = httpx.get(
            f"{bounded.api}/v1/photos/{photo_id}", headers=_bearer(bounded.key)
        ).json()
        if photo["status"] in ("ready", "failed", "duplicate"):
            assert photo["status"] == "ready", photo
            return photo_id
        time.sleep(0.2)
    raise AssertionError(f"photo {photo_id} not ready")


def _unknown(bounded: Bounded, album: str, key: str | None = None, **params: Any) -> httpx.Response:
    return httpx.get(
        f"{bounded.api}/v1/races/{album}/bibs/unknown",
        params=params,
        headers=_bearer(key or bounded.key),
    )


def _tag(
    bounded: Bounded, album: str, photo_id: str, body: dict[str, Any], key: str | None = None
) -> httpx.Response:
    return httpx.put(
        f"{bounded.api}/v1/races/{album}/photos/{photo_id}/bibs",
        json=body,
        headers=_bearer(key or bounded.key),
    )


def test_staff_tag_or_dismiss_each_photo_and_it_leaves_the_set(bounded: Bounded) -> None:
    album = _race_with_entries(bounded)
    first, second, third = (_ready_photo(bounded, album, n) for n in (1, 2, 3))

    page = _unknown(bounded, album, limit=2).json()
    assert [p["photo_id"] for p in page["items"]] == [first, second]  # oldest first
    assert page["items"][0]["preview"]["url"].startswith("http")
    rest = _unknown(bounded, album, limit=2, cursor=page["next_cursor"]).json()
    assert [p["photo_id"] for p in rest["items"]] == [third] and rest["next_cursor"] is None

    tagged = _tag(bounded, album, first, {"bibs": ["1432", " 7 "]})
    assert tagged.status_code == 200, tagged.text
    assert tagged.json()["bib_unknown"] is False
    assert {(b["bib"], b["confidence"], b["source"]) for b in tagged.json()["bibs"]} == {
        ("1432", 1.0, "staff"),
        ("7", 1.0, "staff"),
    }
    dismissed = _tag(bounded, album, second, {"no_bib": True}).json()
    assert dismissed["no_bib"] is True and dismissed["bib_unknown"] is False

    left = _unknown(bounded, album).json()
    assert [p["photo_id"] for p in left["items"]] == [third]
    shown = httpx.get(
        f"{bounded.api}/v1/races/{album}/photos/{first}/bibs", headers=_bearer(bounded.key)
    ).json()
    assert [b["bib"] for b in shown["bibs"]] == ["1432", "7"]


def test_a_bib_not_on_the_entry_list_is_refused_and_nothing_is_written(bounded: Bounded) -> None:
    album = _race_with_entries(bounded)
    photo_id = _ready_photo(bounded, album, 4)

    answer = _tag(bounded, album, photo_id, {"bibs": ["988", "2026"]})

    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "race.unknown_bib"
    assert "2026" in answer.json()["error"]["message"]
    assert "988" not in answer.json()["error"]["message"]
    assert [p["photo_id"] for p in _unknown(bounded, album).json()["items"]] == [photo_id]
    for body in ({}, {"bibs": ["988"], "no_bib": True}, {"bibs": ["9 8 8!"]}):
        refused = _tag(bounded, album, photo_id, body)
        assert refused.status_code == 400 and refused.json()["error"]["code"] == "request.invalid"


def test_other_services_and_albums_see_what_a_missing_race_or_photo_gets(
    bounded: Bounded,
) -> None:
    album = _race_with_entries(bounded)
    photo_id = _ready_photo(bounded, album, 5)
    other = bounded.server.create_key("school-b", role="admin")
    missing_album = f"marathon-{uuid.uuid4().hex[:8]}"

    theirs = _unknown(bounded, album, key=other)
    missing = _unknown(bounded, missing_album)
    assert theirs.status_code == missing.status_code == 404
    assert theirs.json()["error"]["code"] == missing.json()["error"]["code"]
    assert _tag(bounded, album, photo_id, {"bibs": ["988"]}, key=other).status_code == 404

    # The same photo id under another race of the same service is not that race's photo.
    elsewhere = _race_with_entries(bounded)
    answer = _tag(bounded, elsewhere, photo_id, {"bibs": ["988"]})
    assert answer.status_code == 404 and answer.json()["error"]["code"] == "photo.not_found"
    # A viewer of another album cannot reach this race at all; nothing changed.
    assert _unknown(bounded, album, key=bounded.sports_viewer).status_code in (403, 404)
    assert [p["photo_id"] for p in _unknown(bounded, album).json()["items"]] == [photo_id]


def test_a_viewer_lists_but_cannot_tag(bounded: Bounded) -> None:
    album = _race_with_entries(bounded, "sports")
    photo_id = _ready_photo(bounded, album, 6)

    listed = _unknown(bounded, album, key=bounded.sports_viewer)
    tagged = _tag(bounded, album, photo_id, {"bibs": ["988"]}, key=bounded.sports_viewer)

    assert listed.status_code == 200 and photo_id in [p["photo_id"] for p in listed.json()["items"]]
    assert tagged.status_code == 403 and tagged.json()["error"]["code"] == "auth.forbidden"
