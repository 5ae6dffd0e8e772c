"""Find my child, as a parent: an album code, a reference photo, results to confirm or reject.

Real photos through a running ``bakusoku up`` (the pipeline indexes their faces); the parent holds
only a session cookie. The search is the face service's; what is tested here is the parent's side:
the session's album only, what the parent said joining the next search, consent, and reference
photos held for the session only.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.e2e.server import RunningServer, auth
from tests.e2e.test_faces import indexed
from tests.e2e.test_pipeline_end_to_end import upload, wait_final
from tests.faces.conftest import needs_models, photo

pytestmark = [pytest.mark.integration, needs_models]

ALBUM = "class-1a"


@dataclass
class Visit:
    server: RunningServer
    parent: httpx.Client
    ids: dict[str, str]  # photo name -> id in the album
    elsewhere: str  # obama's photo in another album of the same service


@pytest.fixture(scope="module")
def visit(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Visit]:
    server = RunningServer(tmp_path_factory.mktemp("parents") / "data").start()
    try:
        ids = {
            name: upload(server.api, photo(name), album=ALBUM)
            for name in ("obama", "obama2", "biden")
        }
        elsewhere = upload(server.api, photo("obama"), album="class-2b")
        for photo_id in (*ids.values(), elsewhere):
            assert wait_final(server.api, photo_id)["status"] == "ready"
            assert indexed(server.api, photo_id)["face_index"] == "indexed"
        made = json.loads(
            server.run_cli(
                "albums",
                "share",
                ALBUM,
                "--service",
                "e2e",
                "--json",
                "--data-dir",
                str(server.data_dir),
            )
        )
        with httpx.Client(base_url=server.api, timeout=60) as parent:
            assert parent.post("/v1/parent/session", json={"code": made["code"]}).status_code == 201
            yield Visit(server, parent, ids, elsewhere)
    finally:
        assert server.stop() == 0, server.log()


def _search(visit: Visit, references: int = 1) -> dict[str, Any]:
    found = visit.parent.post("/v1/parent/search", json={"references": references})
    assert found.status_code == 200, found.text
    return dict(found.json())


def _give(visit: Visit, name: str) -> None:
    given = visit.parent.post(
        "/v1/parent/references", content=photo(name), headers={"Content-Type": "image/jpeg"}
    )
    assert given.status_code == 201, given.text


def test_a_reference_photo_finds_the_childs_photos_best_first(visit: Visit) -> None:
    nothing = visit.parent.post("/v1/parent/search", json={})
    assert nothing.status_code == 400 and nothing.json()["error"]["code"] == "parent.no_reference"
    _give(visit, "obama3")
    found = _search(visit)
    matches = found["matches"]
    # never biden's, never the other album's obama
    assert sorted(m["photo_id"] for m in matches) == sorted(
        [visit.ids["obama"], visit.ids["obama2"]]
    )
    confidences = [m["confidence"] for m in matches]
    assert confidences == sorted(confidences, reverse=True) and all(0 < c <= 1 for c in confidences)
    for match in matches:
        assert match["verdict"] == "none"
        assert "p=proof" in match["thumb"] and "p=proof" in match["proof"]
        assert visit.parent.get(match["thumb"]).status_code == 200
    times = []
    for _ in range(5):
        times.append(_search(visit)["took_ms"])
    print(
        f"parent search, 1 reference photo, {len(visit.ids)}-photo album: median {statistics.median(times):.0f} ms"
    )


def test_confirmed_faces_join_the_search_and_rejected_ones_leave_it(visit: Visit) -> None:
    matches = {m["photo_id"]: m for m in _search(visit)["matches"]}
    obama, obama2 = matches[visit.ids["obama"]], matches[visit.ids["obama2"]]
    said = visit.parent.put(f"/v1/parent/faces/{obama2['face_id']}", json={"verdict": "confirmed"})
    assert said.status_code == 200 and said.json()["confirmed"] == [obama2["face_id"]]
    after = {m["photo_id"]: m for m in _search(visit)["matches"]}
    assert after[visit.ids["obama2"]]["verdict"] == "confirmed"
    assert after[visit.ids["obama2"]]["confidence"] == 1.0  # what the parent said is certain
    rejected = visit.parent.put(
        f"/v1/parent/faces/{obama['face_id']}", json={"verdict": "rejected"}
    )
    assert rejected.json()["rejected"] == [obama["face_id"]]
    assert visit.ids["obama"] not in {m["photo_id"] for m in _search(visit)["matches"]}
    # with no reference photo left, the confirmed face alone still searches
    assert visit.parent.delete("/v1/parent/references").status_code == 204
    alone = _search(visit, references=0)["matches"]
    assert [m["photo_id"] for m in alone] == [visit.ids["obama2"]]
    # taking a verdict back
    visit.parent.put(f"/v1/parent/faces/{obama['face_id']}", json={"verdict": "none"})
    assert visit.parent.get("/v1/parent/session").json()["rejected"] == []


def test_faces_of_other_albums_are_not_for_a_parent_to_judge(visit: Visit) -> None:
    other = indexed(visit.server.api, visit.elsewhere)["items"][0]["face_id"]
    answer = visit.parent.put(f"/v1/parent/faces/{other}", json={"verdict": "confirmed"})
    assert answer.status_code == 404 and answer.json()["error"]["code"] == "face.not_found"
    bad = visit.parent.put("/v1/parent/faces/x", json={"verdict": "maybe"})
    assert bad.status_code == 400


def test_a_server_without_the_photos_asks_for_them_again(visit: Visit) -> None:
    visit.parent.delete("/v1/parent/references")
    missing = visit.parent.post("/v1/parent/search", json={"references": 2})
    assert missing.status_code == 409
    assert missing.json()["error"]["code"] == "parent.references_missing"
    faceless = visit.parent.post(
        "/v1/parent/references",
        content=httpx.get(visit.parent.base_url.join("/static/app.css")).content,
    )
    assert faceless.status_code == 400


def test_a_photo_marked_do_not_publish_leaves_every_parent_view(visit: Visit) -> None:
    listing = visit.parent.get("/v1/parent/photos").json()["items"]
    proof = next(i["proof"] for i in listing if i["photo_id"] == visit.ids["biden"])
    assert visit.parent.get(proof).status_code == 200
    face = indexed(visit.server.api, visit.ids["biden"])["items"][0]["face_id"]
    marked = httpx.post(
        f"{visit.server.api}/v1/albums/{ALBUM}/faces/{face}/do-not-publish",
        params={"service": "e2e"},
        headers=auth(visit.server.api),
    )
    assert marked.status_code == 200, marked.text
    after = {i["photo_id"] for i in visit.parent.get("/v1/parent/photos").json()["items"]}
    assert visit.ids["biden"] not in after and visit.ids["obama"] in after
    assert visit.parent.get(f"/v1/parent/photos/{visit.ids['biden']}").status_code == 404
    assert visit.parent.get(proof).status_code == 404  # a URL handed out before the mark
