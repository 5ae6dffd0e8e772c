"""The audit log read through a real server: an admin key scoped to some albums reads only what
was done in those albums, as its other answers show nothing of the service's other albums."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api.routes.tenants import Tenants, bearer, new_album, ready_photo

pytestmark = pytest.mark.integration

# the album tenants.a_other_album reaches
REACHED = "elsewhere"


def _audit(tenants: Tenants, key: str, **params: Any) -> list[dict[str, Any]]:
    response = httpx.get(f"{tenants.api}/v1/audit", params=params, headers=bearer(key))
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def _share(tenants: Tenants, album: str) -> str:
    made = httpx.post(f"{tenants.api}/v1/albums/{album}/codes", json={}, headers=bearer(tenants.a))
    assert made.status_code == 201, made.text
    return str(made.json()["code_id"])


def test_an_album_key_reads_only_its_albums_audit_entries(tenants: Tenants) -> None:
    hidden_album = new_album()
    hidden_code = _share(tenants, hidden_album)
    shown_code = _share(tenants, REACHED)
    photo_id = ready_photo(tenants, hidden_album, tenants.a, seed=31)
    downloaded = httpx.get(
        f"{tenants.api}/v1/photos/{photo_id}/original", headers=bearer(tenants.a)
    )
    assert downloaded.status_code == 200, downloaded.text

    whole = _audit(tenants, tenants.a)
    assert {e["target"] for e in whole} >= {hidden_code, shown_code}
    assert photo_id in {(e["details"] or {}).get("photo_id") for e in whole}

    scoped = _audit(tenants, tenants.a_other_album)
    assert [e["target"] for e in scoped if e["action"] == "code.create"] == [shown_code]
    assert hidden_album not in str(scoped) and photo_id not in str(scoped)
    # keys are the service's, not an album's: made or revoked, they are not an album key's to read
    assert not [e for e in scoped if e["action"].startswith("key.")]


def test_an_album_keys_audit_pages_hold_only_its_albums_entries(tenants: Tenants) -> None:
    """Pages are full of its own entries however many of other albums lie between them."""
    shown = [_share(tenants, REACHED) for _ in range(2)]
    for _ in range(3):
        _share(tenants, new_album())
    first = httpx.get(
        f"{tenants.api}/v1/audit",
        params={"limit": 1, "action": "code.create"},
        headers=bearer(tenants.a_other_album),
    ).json()
    second = _audit(
        tenants, tenants.a_other_album, limit=1, action="code.create", before=first["next_before"]
    )
    assert [e["target"] for e in first["items"] + second] == shown[::-1]
