"""Bib review attacked through a real server: another service's photo answers byte for byte as a
missing one and is left untagged; tags are strictly typed; no error repeats a secret pasted as a
photo id or a bib."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.api.routes.tenants import (
    PASTED,
    Tenants,
    answer,
    assert_json_error,
    assert_not_repeated,
    bearer,
    new_album,
    race,
    ready_photo,
    refused_unread,
)

pytestmark = pytest.mark.integration

ENTRIES = "bib,name\n1432,走者 A\n988,走者 B\n"


def test_another_services_photo_answers_as_a_missing_one(tenants: Tenants) -> None:
    album = new_album()
    race(tenants, album, tenants.a, ENTRIES)
    photo_id = ready_photo(tenants, album, tenants.a, seed=31)
    race(tenants, album, tenants.b, ENTRIES)  # school-b's own race of the same name
    missing = str(uuid.uuid4())
    api, headers = f"{tenants.api}/v1/races/{album}/photos", bearer(tenants.b)

    for method, body in (("GET", None), ("PUT", {"bibs": ["988"]}), ("PUT", {"no_bib": True})):
        theirs = httpx.request(method, f"{api}/{photo_id}/bibs", json=body, headers=headers)
        absent = httpx.request(method, f"{api}/{missing}/bibs", json=body, headers=headers)
        assert_json_error(theirs, 404, "photo.not_found")
        assert answer(theirs) == (
            absent.status_code,
            absent.content.replace(missing.encode(), photo_id.encode()),
        )
    unknown = httpx.get(f"{tenants.api}/v1/races/{album}/bibs/unknown", headers=headers)
    assert unknown.json()["items"] == []
    ours = httpx.get(f"{api}/{photo_id}/bibs", headers=bearer(tenants.a)).json()
    assert (ours["bibs"], ours["no_bib"]) == ([], False)  # school-b changed nothing


@pytest.mark.parametrize(
    "body",
    [
        {"no_bib": "yes"},
        {"no_bib": 1},
        {"bibs": [1432]},
        {"bibs": "1432"},
        {"bibs": ["1432"], "confidence": 1},
        {"bibs": ["1"] * 21},
    ],
)
def test_tags_are_strictly_typed(tenants: Tenants, body: dict[str, object]) -> None:
    album = new_album()
    race(tenants, album, tenants.a, ENTRIES)
    response = httpx.put(
        f"{tenants.api}/v1/races/{album}/photos/{uuid.uuid4()}/bibs",
        json=body,
        headers=bearer(tenants.a),
    )
    assert_json_error(response, 400, "request.invalid")


@pytest.mark.parametrize("params", [{"limit": "0"}, {"limit": "lots"}, {"cursor": "x" * 3000}])
def test_a_listing_with_bad_parameters_answers_a_json_400(
    tenants: Tenants, params: dict[str, str]
) -> None:
    album = new_album()
    race(tenants, album, tenants.a, ENTRIES)
    response = httpx.get(
        f"{tenants.api}/v1/races/{album}/bibs/unknown", params=params, headers=bearer(tenants.a)
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] in ("request.invalid", "request.invalid_cursor")


def test_tag_bodies_have_the_apis_cap(tenants: Tenants) -> None:
    path = f"/v1/races/{new_album()}/photos/{uuid.uuid4()}/bibs"
    headers = bearer(tenants.a) | {"Content-Type": "application/json"}
    assert refused_unread(tenants.port, "PUT", path, headers, 10**8) == 413


@pytest.mark.parametrize("kind", sorted(PASTED))
def test_no_error_repeats_a_secret_pasted_as_a_photo_or_a_bib(tenants: Tenants, kind: str) -> None:
    pasted = PASTED[kind]
    album = new_album()
    race(tenants, album, tenants.a, ENTRIES)
    photo_id = ready_photo(tenants, album, tenants.a, seed=32) if kind == "api key" else None
    api, headers = f"{tenants.api}/v1/races/{album}", bearer(tenants.a)
    responses = [
        httpx.get(f"{api}/photos/{pasted}/bibs", headers=headers),
        httpx.put(f"{api}/photos/{pasted}/bibs", json={"bibs": ["988"]}, headers=headers),
        httpx.get(f"{api}/bibs/unknown", params={"cursor": pasted}, headers=headers),
        httpx.get(f"{tenants.api}/v1/races/{pasted}/bibs/unknown", headers=headers),
    ]
    if photo_id is not None:  # a bib that is a secret, on a photo that is there
        for kind_pasted in PASTED.values():
            responses.append(
                httpx.put(
                    f"{api}/photos/{photo_id}/bibs", json={"bibs": [kind_pasted]}, headers=headers
                )
            )
    for response in responses:
        assert 400 <= response.status_code < 500, response.text
        assert response.headers["content-type"].startswith("application/json")
        assert_not_repeated(response, pasted)
    for response in responses[4:]:
        assert not any(p in response.text for p in PASTED.values()), response.text
