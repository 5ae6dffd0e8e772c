"""Two services and two albums upload the same bytes: nothing derived from one reaches another.

A real ``bakusoku up`` with duplicate detection on (as it ships). Each copy is processed on its
own and ends ``ready`` with its own renditions; no copy is the duplicate of another tenant's;
each is deleted by its own service; and only a second copy in the same service and album is a
duplicate, of that tenant's own first copy.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.auth.conftest import bearer, settled, upload
from tests.conftest import make_jpeg
from tests.e2e.server import RunningServer

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = RunningServer(tmp_path_factory.mktemp("tenants") / "data").start()
    try:
        yield running
    finally:
        assert running.stop() == 0, running.log()


def test_the_same_bytes_in_two_services_and_two_albums_are_four_photos(
    server: RunningServer,
) -> None:
    api, data = server.api, make_jpeg(900, 600)
    a = server.create_key("school-a", role="admin")
    b = server.create_key("school-b", role="admin")
    tenants = [(a, "shared"), (b, "shared"), (a, "trips"), (b, "trips")]
    ids = [upload(api, key, data, album) for key, album in tenants]
    photos = [settled(api, key, photo_id) for (key, _), photo_id in zip(tenants, ids, strict=True)]
    for photo in photos:
        assert photo["status"] == "ready", photo
        assert photo["duplicate_of"] is None and photo["renditions"], photo
    assert len({p["sha256"] for p in photos}) == 1  # the very same bytes, four times

    # a's own second copy in its own album is the duplicate, of a's first copy only
    again = settled(api, a, upload(api, a, data, "shared"))
    assert (again["status"], again["duplicate_of"]) == ("duplicate", ids[0])
    # b sees nothing of a's, not even through its duplicate
    for photo_id in (ids[0], again["photo_id"]):
        assert httpx.get(f"{api}/v1/photos/{photo_id}", headers=bearer(b)).status_code == 404
    listed = httpx.get(f"{api}/v1/photos", params={"album": "shared"}, headers=bearer(b)).json()
    assert [p["photo_id"] for p in listed["items"]] == [ids[1]]
    albums = httpx.get(f"{api}/v1/albums", headers=bearer(b)).json()["items"]
    assert {(x["album"], x["count"]) for x in albums} == {("shared", 1), ("trips", 1)}

    # each service deletes its own; a's duplicate holds back a's original only
    held = httpx.delete(f"{api}/v1/photos/{ids[0]}", headers=bearer(a))
    assert held.status_code == 409 and held.json()["error"]["code"] == "photo.has_duplicates"
    assert again["photo_id"] in held.json()["error"]["message"]
    for (key, _), photo_id in zip(tenants[1:], ids[1:], strict=True):
        deleted = httpx.delete(f"{api}/v1/photos/{photo_id}", headers=bearer(key))
        assert deleted.status_code == 204, deleted.text
    for photo_id in (again["photo_id"], ids[0]):
        assert httpx.delete(f"{api}/v1/photos/{photo_id}", headers=bearer(a)).status_code == 204
