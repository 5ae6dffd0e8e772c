"""Fault injection attacked through a real server: service keys of any role are refused on every
route, a fault is strictly typed (nothing is injected by a bad one), bodies are capped, and no
error repeats a secret pasted as a fault id or kind."""

from __future__ import annotations

import httpx
import pytest

from tests.api.routes.tenants import (
    PASTED,
    Tenants,
    assert_json_error,
    assert_not_repeated,
    bearer,
    refused_unread,
)

pytestmark = pytest.mark.integration


def _faults(tenants: Tenants) -> list[object]:
    listed = httpx.get(f"{tenants.api}/v1/faults", headers=tenants.server.headers)
    assert listed.status_code == 200, listed.text
    return list(listed.json()["faults"])


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/faults"),
        ("POST", "/v1/faults"),
        ("DELETE", "/v1/faults"),
        ("DELETE", "/v1/faults/f-1"),
    ],
)
def test_a_service_key_is_refused_on_every_fault_route(
    tenants: Tenants, method: str, path: str
) -> None:
    body = {"kind": "db.unavailable", "duration_seconds": 1} if method == "POST" else None
    for key in (tenants.a, tenants.b):
        response = httpx.request(method, f"{tenants.api}{path}", json=body, headers=bearer(key))
        assert_json_error(response, 403, "auth.forbidden")
    assert _faults(tenants) == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "db.slow", "duration_seconds": "10"}, "duration_seconds"),
        ({"kind": "db.slow", "duration_seconds": True}, "duration_seconds"),
        ({"kind": "db.slow", "duration_seconds": 10, "latency_ms": "5"}, "latency_ms"),
        ({"kind": "db.slow", "duration_seconds": 10, "percentage": 101}, "percentage"),
        ({"kind": "db.slow", "duration_seconds": 0}, "duration_seconds"),
        ({"kind": 1, "duration_seconds": 10}, "kind"),
        ({"kind": "db.slow", "duration_seconds": 10, "forever": True}, "forever"),
        ({"kind": "function.throttle", "duration_seconds": 10, "target": "no-such"}, "target"),
    ],
)
def test_a_fault_is_strictly_typed_and_a_bad_one_injects_nothing(
    tenants: Tenants, body: dict[str, object], field: str
) -> None:
    response = httpx.post(f"{tenants.api}/v1/faults", json=body, headers=tenants.server.headers)
    error = assert_json_error(response, 400, "request.invalid")
    assert error["field"] == field
    assert _faults(tenants) == []


def test_fault_bodies_have_the_apis_cap(tenants: Tenants) -> None:
    headers = tenants.server.headers | {"Content-Type": "application/json"}
    assert refused_unread(tenants.port, "POST", "/v1/faults", headers, 10**8) == 413


@pytest.mark.parametrize("kind", sorted(PASTED))
def test_no_fault_error_repeats_a_secret(tenants: Tenants, kind: str) -> None:
    pasted = PASTED[kind]
    headers = tenants.server.headers
    responses = [
        httpx.delete(f"{tenants.api}/v1/faults/{pasted}", headers=headers),
        httpx.post(
            f"{tenants.api}/v1/faults",
            json={"kind": pasted, "duration_seconds": 1},
            headers=headers,
        ),
        httpx.post(
            f"{tenants.api}/v1/faults",
            json={"kind": "db.slow", "duration_seconds": 1, "target": pasted},
            headers=headers,
        ),
    ]
    for response in responses:
        assert 400 <= response.status_code < 500, response.text
        assert response.headers["content-type"].startswith("application/json")
        assert_not_repeated(response, pasted)
    assert _faults(tenants) == []
