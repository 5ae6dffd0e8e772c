"""Parents: an album code opens one album as watermarked previews, and nothing else.

A real ``bakusoku up`` (the ``world`` of this package: service school-a with a ready photo in
album sports, service school-b). The attacker's tests hold a real parent session and try every
door: the staff API with the cookie and with the session as a bearer key, originals, print files
and rendition links, other albums and services, unsigned and tampered transform URLs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.auth.conftest import World, bearer, settled, upload
from tests.conftest import make_jpeg

pytestmark = pytest.mark.integration

STORE_LINK = re.compile(r"X-Amz-|/bakusoku/(uploads|renditions)/|print|original", re.I)


@dataclass
class Parent:
    client: httpx.Client
    code: str
    code_id: str
    other_album: dict[str, Any]  # a ready photo of school-a/trips
    other_service: dict[str, Any]  # a ready photo of school-b/sports


def share(world: World, album: str, *args: str) -> dict[str, Any]:
    output = world.server.run_cli(
        "albums", "share", album, "--service", "school-a", "--json",
        "--data-dir", str(world.server.data_dir), *args,
    )  # fmt: skip
    return dict(json.loads(output))


@pytest.fixture(scope="module")
def parent(world: World) -> Iterator[Parent]:
    trips = settled(
        world.api, world.a_admin, upload(world.api, world.a_admin, make_jpeg(640, 480), "trips")
    )
    other = settled(world.api, world.b_admin, upload(world.api, world.b_admin, make_jpeg(640, 480)))
    assert trips["status"] == other["status"] == "ready"
    made = share(world, "sports", "--expires", "2d", "--note", "class 3B")
    with httpx.Client(base_url=world.api) as client:
        # typed as a person would: lower case, spaces instead of dashes
        typed = made["code"].lower().replace("-", " ")
        opened = client.post("/v1/parent/session", json={"code": typed})
        assert opened.status_code == 201, opened.text
        yield Parent(client, made["code"], made["code_id"], trips, other)


def test_a_code_opens_its_album_as_watermarked_previews_only(world: World, parent: Parent) -> None:
    listing = parent.client.get("/v1/parent/photos")
    assert listing.status_code == 200, listing.text
    body = listing.json()
    assert body["album"] == "sports"
    ids = {item["photo_id"] for item in body["items"]}
    assert world.ready["photo_id"] in ids
    assert parent.other_album["photo_id"] not in ids and parent.other_service["photo_id"] not in ids
    assert not STORE_LINK.search(listing.text)  # no store link, key, print or original named
    for item in body["items"]:
        for name in ("thumb", "proof"):
            assert re.fullmatch(r"/img/[\w-]+/p=proof[\w=,.-]*/[0-9a-f-]{36}", item[name])
    item = next(i for i in body["items"] if i["photo_id"] == world.ready["photo_id"])
    picture = parent.client.get(item["proof"], headers={"Accept": "image/webp"})
    assert picture.status_code == 200 and picture.headers["content-type"] == "image/webp"
    # the other album's photo answers exactly as a missing one
    missing = parent.client.get("/v1/parent/photos/00000000-0000-4000-8000-000000000000")
    for other in (parent.other_album, parent.other_service):
        answer = parent.client.get(f"/v1/parent/photos/{other['photo_id']}")
        assert answer.status_code == 404
        assert (
            answer.json()["error"]["code"] == missing.json()["error"]["code"] == "photo.not_found"
        )
    # asking for another album by name changes nothing
    asked = parent.client.get("/v1/parent/photos", params={"album": "trips"})
    assert {i["photo_id"] for i in asked.json()["items"]} == ids


def test_the_session_cookie_is_httponly_strict_and_scoped_to_the_parent_api(world: World) -> None:
    made = share(world, "sports", "--expires", "3h")
    opened = httpx.post(f"{world.api}/v1/parent/session", json={"code": made["code"]})
    assert opened.status_code == 201
    cookie = opened.headers["set-cookie"]
    assert cookie.startswith("bakusoku_parent=bkp_")
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "max-age", "path", "samesite"} <= attributes
    assert "path=/v1/parent" in cookie.lower() and "samesite=strict" in cookie.lower()
    assert "secure" not in attributes  # plain http on loopback; https sets it
    assert opened.headers["cache-control"] == "no-store"
    max_age = int(re.search(r"max-age=(\d+)", cookie, re.I).group(1))  # type: ignore[union-attr]
    assert 0 < max_age <= 120 * 60
    # behind a proxy that ends TLS, the cookie is Secure
    other = share(world, "sports", "--expires", "3h")
    proxied = httpx.post(
        f"{world.api}/v1/parent/session",
        json={"code": other["code"]},
        headers={"X-Forwarded-Proto": "https"},
    )
    assert "secure" in {p.strip().lower() for p in proxied.headers["set-cookie"].split(";")}


def test_a_parent_session_opens_no_staff_door(world: World, parent: Parent) -> None:
    token = parent.client.cookies["bakusoku_parent"]
    photo = world.ready
    staff = [
        ("GET", "/v1/photos"),
        ("GET", "/v1/albums"),
        ("GET", f"/v1/photos/{photo['photo_id']}"),
        ("GET", f"/v1/photos/{photo['photo_id']}/original"),
        ("GET", f"/v1/photos/{photo['photo_id']}/execution"),
        ("GET", f"/v1/photos/{photo['photo_id']}/transform?options=p=preview"),
        ("GET", f"/v1/photos/{photo['photo_id']}/transform?options=p=print-l"),
        ("DELETE", f"/v1/photos/{photo['photo_id']}"),
        ("GET", "/v1/audit"),
        ("GET", "/v1/executions"),
        ("GET", "/v1/status"),
        ("GET", "/v1/events?album=sports"),
        ("GET", "/v1/albums/sports/codes"),
        ("POST", "/v1/albums/sports/codes"),
        ("DELETE", f"/v1/codes/{parent.code_id}"),
        ("GET", "/metrics"),
    ]
    for method, path in staff:
        # the cookie is sent to every path here (a client that ignores the cookie's Path)
        with_cookie = httpx.request(
            method, world.api + path, headers={"Cookie": f"bakusoku_parent={token}"}, json={}
        )
        assert with_cookie.status_code == 401, (method, path, with_cookie.text)
        as_bearer = httpx.request(method, world.api + path, headers=bearer(token), json={})
        assert as_bearer.status_code == 401, (method, path, as_bearer.text)
    uploads = httpx.post(
        f"{world.api}/v1/uploads",
        headers=bearer(token),
        json={"filename": "x.jpg", "content_type": "image/jpeg", "size": 100, "album": "sports"},
    )
    assert uploads.status_code == 401
    # a staff key is no parent session either
    for key in (world.a_admin, world.server.admin_token):
        assert httpx.get(f"{world.api}/v1/parent/photos", headers=bearer(key)).status_code == 401


def test_originals_prints_and_renditions_stay_out_of_reach(world: World, parent: Parent) -> None:
    store = f"http://127.0.0.1:{world.server.store_port}/bakusoku"
    renditions = world.ready["renditions"]
    for key in (
        world.ready["key"],
        *(r["url"].split("?")[0].split("/bakusoku/", 1)[1] for r in renditions.values()),
    ):
        assert parent.client.get(f"{store}/{key}").status_code == 403  # unsigned: never
    listing = parent.client.get("/v1/parent/photos").json()["items"]
    proof = next(i["proof"] for i in listing if i["photo_id"] == world.ready["photo_id"])
    _img, signature, options, photo_id = proof.strip("/").split("/")
    tampered = [
        f"/img/{signature}/p=preview/{photo_id}",  # another preset, same signature
        f"/img/{signature}/p=print-l/{photo_id}",
        f"/img/{signature}/w=1600,h=1600/{photo_id}",
        f"/img/{signature}/{options},w=1200,h=1200/{photo_id}",
        f"/img/{signature}/{options}/{parent.other_album['photo_id']}",  # another album
        f"/img/{signature}/{options}/{parent.other_service['photo_id']}",  # another service
        f"/img/{'A' * len(signature)}/{options}/{photo_id}",
        f"/img/-/p=preview/{photo_id}",
    ]
    for path in tampered:
        answer = parent.client.get(path)
        assert answer.status_code == 403, (path, answer.status_code)
        assert answer.json()["error"]["code"] == "transform.bad_signature"
    # the preview is watermarked: it differs from the same picture signed for staff without one
    signed = httpx.get(
        f"{world.api}/v1/photos/{photo_id}/transform",
        params={"options": "w=1000,h=1000,f=jpeg,q=75"},
        headers=bearer(world.a_admin),
    ).json()
    plain = httpx.get(world.api + signed["path"]).content
    marked = parent.client.get(proof, headers={"Accept": "image/jpeg"})
    assert marked.status_code == 200 and marked.content != plain


def test_reference_photos_are_held_for_the_session_and_never_stored(
    world: World, parent: Parent
) -> None:
    reference = make_jpeg(480, 640)
    marker = reference[-4096:-2048]  # a stretch of these bytes only
    added = parent.client.post(
        "/v1/parent/references", content=reference, headers={"Content-Type": "image/jpeg"}
    )
    assert added.status_code == 201, added.text
    assert added.json()["references"] == 1
    not_a_photo = parent.client.post("/v1/parent/references", content=b"hello, I am text")
    assert not_a_photo.status_code == 400
    for expected in (2, 3):
        again = parent.client.post("/v1/parent/references", content=make_jpeg(300, 300))
        assert again.json()["references"] == expected
    fourth = parent.client.post("/v1/parent/references", content=make_jpeg(300, 300))
    assert fourth.status_code == 409
    assert fourth.json()["error"]["code"] == "parent.too_many_references"
    for path in world.server.data_dir.rglob("*"):
        if path.is_file() and path.stat().st_size < 200 * 1024 * 1024:
            assert marker not in path.read_bytes(), f"a reference photo was written to {path}"
    assert parent.client.delete("/v1/parent/references").status_code == 204
    assert parent.client.get("/v1/parent/session").json()["references"] == 0


def test_revoking_a_code_ends_its_sessions_at_once_and_is_audited(world: World) -> None:
    made = share(world, "sports", "--expires", "1h")
    with httpx.Client(base_url=world.api) as client:
        assert client.post("/v1/parent/session", json={"code": made["code"]}).status_code == 201
        assert client.get("/v1/parent/session").status_code == 200
        # an album viewer may not share or revoke; another service's admin sees no such code
        viewer = httpx.delete(
            f"{world.api}/v1/codes/{made['code_id']}", headers=bearer(world.a_sports_viewer)
        )
        assert viewer.status_code == 403
        other = httpx.delete(
            f"{world.api}/v1/codes/{made['code_id']}", headers=bearer(world.b_admin)
        )
        assert other.status_code == 404
        revoked = httpx.delete(
            f"{world.api}/v1/codes/{made['code_id']}", headers=bearer(world.a_admin)
        )
        assert revoked.status_code == 200 and revoked.json()["state"] == "revoked"
        ended = client.get("/v1/parent/session")
        assert ended.status_code == 401
        assert ended.json()["error"]["code"] == "parent.session_required"
        again = client.post("/v1/parent/session", json={"code": made["code"]})
        assert again.status_code == 401 and again.json()["error"]["code"] == "code.revoked"
    listed = httpx.get(
        f"{world.api}/v1/albums/sports/codes", params={"all": "true"}, headers=bearer(world.a_admin)
    ).json()["items"]
    assert {c["code_id"]: c["state"] for c in listed}[made["code_id"]] == "revoked"
    assert all("code" not in c for c in listed)  # the code itself is never shown again
    audit = httpx.get(f"{world.api}/v1/audit", headers=bearer(world.a_admin)).json()["items"]
    done = {(a["action"], a["target"]) for a in audit}
    for action in ("code.create", "code.use", "code.revoke", "code.fail"):
        assert (action, made["code_id"]) in done, action
    # another service's audit log shows none of it
    theirs = httpx.get(f"{world.api}/v1/audit", headers=bearer(world.b_admin)).json()["items"]
    assert made["code_id"] not in {a["target"] for a in theirs}


def test_staff_share_albums_from_the_api(world: World) -> None:
    made = httpx.post(
        f"{world.api}/v1/albums/sports/codes",
        json={"expires": "2026-12-31", "note": "parents' evening"},
        headers=bearer(world.a_admin),
    )
    assert made.status_code == 201, made.text
    assert re.fullmatch(r"[2-9A-HJKMNP-Z]{4}(-[2-9A-HJKMNP-Z]{4}){2}", made.json()["code"])
    for bad in ("yesterday", "2020-01-01", "4000d"):
        refused = httpx.post(
            f"{world.api}/v1/albums/sports/codes",
            json={"expires": bad},
            headers=bearer(world.a_admin),
        )
        assert refused.status_code == 400, bad
    trips_only = httpx.post(
        f"{world.api}/v1/albums/sports/codes", json={}, headers=bearer(world.a_trips_viewer)
    )
    assert trips_only.status_code in (403, 404)


def test_the_command_line_lists_and_revokes_codes(world: World) -> None:
    made = share(world, "sports", "--expires", "1h", "--note", "cli")
    data_dir = ("--data-dir", str(world.server.data_dir))
    with httpx.Client(base_url=world.api) as client:
        assert client.post("/v1/parent/session", json={"code": made["code"]}).status_code == 201
        listed = json.loads(world.server.run_cli("albums", "codes", "sports", "--json", *data_dir))
        mine = next(c for c in listed if c["code_id"] == made["code_id"])
        assert (mine["uses"], mine["state"], mine["note"]) == (1, "active", "cli")
        assert made["code"] not in json.dumps(listed)
        world.server.run_cli("albums", "revoke", made["code_id"], *data_dir)
        assert client.get("/v1/parent/session").status_code == 401
    text = world.server.run_cli("albums", "codes", "sports", "--all", *data_dir)
    assert re.search(rf"{made['code_id']}\s+school-a\s+sports\s.*revoked", text)


# Last in this module: it spends this address's tries for the next minute.
def test_guessing_codes_is_limited_per_address_and_audited(world: World) -> None:
    answers = [
        httpx.post(f"{world.api}/v1/parent/session", json={"code": f"ZZZZ-ZZZZ-ZZ{i:02d}"})
        for i in range(12)
    ]
    statuses = [a.status_code for a in answers]
    assert set(statuses) <= {401, 429} and 429 in statuses, statuses
    throttled = next(a for a in answers if a.status_code == 429)
    assert int(throttled.headers["retry-after"]) >= 1
    assert throttled.json()["error"]["code"] == "code.too_many_attempts"
    fails = httpx.get(
        f"{world.api}/v1/audit", params={"action": "code.fail"}, headers=world.server.headers
    ).json()["items"]
    assert any(f["actor"].startswith("parent@127.0.0.1") for f in fails)
