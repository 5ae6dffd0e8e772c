"""Runners' routes attacked through a real server: another service's race answers byte for byte as
an unknown race and a wrong surname; bodies are strictly typed and capped; no error repeats a
secret pasted as a bib, a link, a session or an address."""

from __future__ import annotations

import json

import httpx
import pytest

from bakusoku.races.subscriptions import MAX_SUBSCRIPTIONS
from tests.api.routes.tenants import (
    PASTED,
    Tenants,
    answer,
    assert_json_error,
    assert_not_repeated,
    new_album,
    race,
    refused_unread,
)

pytestmark = pytest.mark.integration

ENTRIES = "bib,name,surname\n1432,山田 太郎,山田\n988,Jane Smith,Smith\n"


def _sign_in(tenants: Tenants, **body: object) -> httpx.Response:
    return httpx.post(f"{tenants.api}/v1/runner/sessions", json=body)


def _session(tenants: Tenants, album: str) -> str:
    signed = _sign_in(tenants, service="school-a", album=album, bib="1432", surname="山田")
    assert signed.status_code == 200, signed.text
    return str(signed.json()["session"])


def test_another_services_race_answers_as_an_unknown_race_or_a_wrong_surname(
    tenants: Tenants,
) -> None:
    album = new_album()
    race(tenants, album, tenants.a, ENTRIES)

    other_service = _sign_in(tenants, service="school-b", album=album, bib="1432", surname="山田")
    unknown_race = _sign_in(
        tenants, service="school-a", album=new_album(), bib="1432", surname="山田"
    )
    wrong_surname = _sign_in(tenants, service="school-a", album=album, bib="1432", surname="田中")
    unknown_bib = _sign_in(tenants, service="school-a", album=album, bib="7", surname="山田")

    assert_json_error(other_service, 401, "runner.not_found")
    assert answer(other_service) == answer(unknown_race) == answer(wrong_surname)
    assert answer(unknown_bib) == answer(wrong_surname)
    assert _session(tenants, album)  # the right surname still opens it


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"bib": 1432}, "bib"),
        ({"bib": True}, "bib"),
        ({"surname": ["山田"]}, "surname"),
        ({"service": 1}, "service"),
        ({"team": "A"}, "team"),
        ({"link": 5}, "link"),
    ],
)
def test_a_sign_in_is_strictly_typed(tenants: Tenants, body: dict[str, object], field: str) -> None:
    album = new_album()
    given = {"service": "school-a", "album": album, "bib": "1432", "surname": "山田"} | body
    error = assert_json_error(_sign_in(tenants, **given), 400, "request.invalid")
    assert error["field"] == field


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("subscriptions", {"channel": "email", "address": 5}, "address"),
        ("subscriptions", {"channel": True, "address": "a@example.com"}, "channel"),
        ("subscriptions", {"channel": "email", "address": "a@example.com", "x": 1}, "x"),
        ("privacy", {"kind": 1}, "kind"),
        ("privacy", {"kind": "erase", "now": True}, "now"),
    ],
)
def test_a_runners_requests_are_strictly_typed(
    tenants: Tenants, path: str, body: dict[str, object], field: str
) -> None:
    album = new_album()
    race(tenants, album, tenants.a, ENTRIES)
    response = httpx.post(
        f"{tenants.api}/v1/runner/{path}",
        json=body,
        headers={"X-Runner-Session": _session(tenants, album)},
    )
    error = assert_json_error(response, 400, "request.invalid")
    assert error["field"] == field


def test_runner_bodies_have_the_apis_cap(tenants: Tenants) -> None:
    headers = {"Content-Type": "application/json"}
    for path in ("/v1/runner/sessions", "/v1/runner/subscriptions", "/line/webhook"):
        assert refused_unread(tenants.port, "POST", path, headers, 10**8) == 413, path


@pytest.mark.parametrize("kind", sorted(PASTED))
def test_no_runner_error_repeats_a_secret(tenants: Tenants, kind: str) -> None:
    pasted = PASTED[kind]
    album = new_album()
    race(tenants, album, tenants.a, ENTRIES)
    session = {"X-Runner-Session": _session(tenants, album)}
    api = f"{tenants.api}/v1/runner"
    responses = [
        _sign_in(tenants, link=pasted),
        _sign_in(tenants, service="school-a", album=album, bib=pasted[:16], surname=pasted),
        _sign_in(tenants, service="school-a", album=pasted[:128], bib="1432", surname="山田"),
        httpx.get(f"{api}/me", headers={"X-Runner-Session": pasted}),
        httpx.post(
            f"{api}/subscriptions", json={"channel": "email", "address": pasted}, headers=session
        ),
        httpx.post(
            f"{api}/subscriptions", json={"channel": "webpush", "address": pasted}, headers=session
        ),
        httpx.post(
            f"{api}/subscriptions", json={"channel": pasted, "address": pasted}, headers=session
        ),
        httpx.post(f"{api}/privacy", json={"kind": pasted}, headers=session),
    ]
    for response in responses:
        assert 400 <= response.status_code < 500, response.text
        assert response.headers["content-type"].startswith("application/json")
        assert_not_repeated(response, pasted)


@pytest.mark.parametrize(
    "endpoint",
    [
        "http://fcm.googleapis.com/fcm/send/abc",  # push services speak https only (RFC 8030)
        "https://127.0.0.1:8081/bakusoku/x",
        "https://169.254.169.254/latest/api/token",
        "https://[::1]/push",
        "https://[::ffff:10.0.0.1]/push",
        "https://2130706433/push",  # 127.0.0.1 written as one number
        "https://localhost/push",
        "https://db.internal/push",
        "https://printer.local/push",
        "https://metadata/computeMetadata",
        "https://user:pass@fcm.googleapis.com/fcm/send/abc",
        "https://fcm.googleapis.com:8443/fcm/send/abc",
    ],
)
def test_a_push_endpoint_inside_a_network_or_not_https_is_refused(
    tenants: Tenants, endpoint: str
) -> None:
    # The server itself posts to the endpoint: one that names a host of our own networks would
    # let anyone with a bib make it send requests there.
    album = new_album()
    race(tenants, album, tenants.a, ENTRIES)
    session = {"X-Runner-Session": _session(tenants, album)}
    keys = {"p256dh": "B" + "x" * 86, "auth": "a" * 22}
    address = json.dumps({"endpoint": endpoint, "keys": keys})
    refused = httpx.post(
        f"{tenants.api}/v1/runner/subscriptions",
        json={"channel": "webpush", "address": address},
        headers=session,
    )
    error = assert_json_error(refused, 400, "race.invalid_subscription")
    assert error["field"] == "address" and "push service" in error["message"]
    me = httpx.get(f"{tenants.api}/v1/runner/me", headers=session).json()
    assert me["subscriptions"] == []
    taken = httpx.post(
        f"{tenants.api}/v1/runner/subscriptions",
        json={
            "channel": "webpush",
            "address": json.dumps(
                {"endpoint": "https://fcm.googleapis.com/fcm/send/a", "keys": keys}
            ),
        },
        headers=session,
    )
    assert taken.status_code == 200, taken.text


def test_a_bib_has_a_few_subscriptions_not_a_mailing_list(tenants: Tenants) -> None:
    # Anyone with a bib and its surname may subscribe: without a cap, one session could make
    # the organiser's mail server write to any number of addresses for every batch of photos.
    album = new_album()
    race(tenants, album, tenants.a, ENTRIES)
    session = {"X-Runner-Session": _session(tenants, album)}
    api = f"{tenants.api}/v1/runner/subscriptions"

    def subscribe(address: str) -> httpx.Response:
        return httpx.post(api, json={"channel": "email", "address": address}, headers=session)

    taken = [subscribe(f"family{i}@example.com").status_code for i in range(MAX_SUBSCRIPTIONS)]
    refused = subscribe("one.more@example.com")
    again = subscribe("family0@example.com")  # the same address again changes nothing

    assert taken == [200] * MAX_SUBSCRIPTIONS
    error = assert_json_error(refused, 409, "race.too_many_subscriptions")
    assert str(MAX_SUBSCRIPTIONS) in error["message"]
    assert again.status_code == 200
    me = httpx.get(f"{tenants.api}/v1/runner/me", headers=session).json()
    assert me["subscriptions"] == ["email"]
