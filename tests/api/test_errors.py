"""Error answers on a real server: JSON always, never repeating a key, and 503 db.unavailable with
Retry-After on every route when the database has gone away."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from tests.api.conftest import Bounded
from tests.e2e.server import RunningServer
from tests.faults.proxy import TcpProxy

pytestmark = pytest.mark.integration

OTHER_KEY = "bks_0123456789ab_" + "Q" * 43


def _asks(bounded: Bounded, pasted: str) -> list[tuple[str, str, dict[str, Any]]]:
    """Requests that put ``pasted`` where an id, a name or a value goes."""
    upload = {"filename": "a.jpg", "content_type": "image/jpeg", "size": 10, "album": "sports"}
    return [
        ("GET", f"/v1/photos/{pasted}", {}),
        ("GET", f"/v1/photos/{pasted}/execution", {}),
        ("DELETE", f"/v1/photos/{pasted}", {}),
        ("GET", f"/v1/executions/{pasted}", {}),
        ("POST", f"/v1/executions/{pasted}/redrive", {}),
        ("GET", "/v1/photos", {"params": {"cursor": pasted}}),
        ("GET", "/v1/photos", {"params": {"status": pasted}}),
        ("GET", "/v1/audit", {"params": {"action": pasted}}),
        ("POST", "/v1/uploads", {"json": {**upload, "content_type": pasted}}),
        ("POST", "/v1/uploads", {"json": {**upload, "album": pasted}}),
        ("POST", "/v1/uploads", {"json": {**upload, pasted: 1}}),
    ]


@pytest.mark.parametrize("whose", ["the caller's own", "another"])
def test_no_error_repeats_a_key_sent_where_an_id_goes(bounded: Bounded, whose: str) -> None:
    pasted = bounded.key if whose == "the caller's own" else OTHER_KEY
    headers = {"Authorization": f"Bearer {bounded.key}"}
    secret = pasted.split("_", 2)[2]
    for method, path, extra in _asks(bounded, pasted):
        response = httpx.request(method, f"{bounded.api}{path}", headers=headers, **extra)
        assert response.status_code in (400, 404), (path, response.text)
        assert response.json()["error"]["code"], (path, response.text)
        assert pasted not in response.text and secret not in response.text, (path, response.text)
    # album names are checked against what a key reaches: one of sports only
    scoped = {"Authorization": f"Bearer {bounded.sports_viewer}"}
    for path in ("/v1/photos", "/v1/events"):
        response = httpx.get(f"{bounded.api}{path}", params={"album": pasted}, headers=scoped)
        assert response.status_code == 404, (path, response.text)
        assert response.json()["error"]["code"] == "album.not_found"
        assert pasted not in response.text and secret not in response.text, (path, response.text)


# Where a missing execution or race is named in the answer's message.
_NAMED_IN_404 = (
    ("GET", "/v1/executions/{}"),
    ("POST", "/v1/executions/{}/redrive"),
    ("GET", "/v1/races/{}"),
)


def test_no_error_repeats_a_secret_sent_without_its_prefix(bounded: Bounded) -> None:
    """The secret of the caller's key, of another key or of the admin token, whole or in part,
    is not repeated where an id goes: only its prefix and id made it a key's shape before."""
    headers = {"Authorization": f"Bearer {bounded.key}"}
    own = bounded.key.split("_", 2)[2]
    another = bounded.sports_viewer.split("_", 2)[2]
    admin = bounded.server.admin_token.removeprefix("bka_")
    for pasted in (own, own[:20], another, admin, admin[:24]):
        for method, path in _NAMED_IN_404:
            url = f"{bounded.api}{path.format(pasted)}"
            response = httpx.request(method, url, headers=headers)
            assert response.status_code == 404, (path, response.text)
            assert response.json()["error"]["code"].endswith("not_found"), response.text
            assert pasted not in response.text, (path, response.text)


def test_an_id_of_the_right_shape_is_named_in_its_404(bounded: Bounded) -> None:
    missing = str(uuid.uuid4())
    response = httpx.get(
        f"{bounded.api}/v1/photos/{missing}", headers={"Authorization": f"Bearer {bounded.key}"}
    )
    assert response.status_code == 404 and missing in response.json()["error"]["message"]
    for name in ("IMG_0001-jpg-3f2a9c", "relay-2026"):
        for method, path in _NAMED_IN_404:
            response = httpx.request(
                method,
                f"{bounded.api}{path.format(name)}",
                headers={"Authorization": f"Bearer {bounded.key}"},
            )
            assert response.status_code == 404, (path, response.text)
            assert repr(name) in response.json()["error"]["message"], (path, response.text)


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("PATCH", "/v1/photos/{}", {"GET", "DELETE"}),
        ("PUT", "/v1/photos", {"GET"}),
        ("DELETE", "/v1/uploads", {"POST"}),
        ("POST", "/v1/races/relay", {"GET", "PUT"}),
        ("PROPFIND", "/v1/photos", {"GET"}),
    ],
)
def test_a_method_a_path_does_not_take_is_answered_with_the_methods_it_does(
    bounded: Bounded, method: str, path: str, allowed: set[str]
) -> None:
    """405 names what to use instead, in its message and in Allow (RFC 9110), for every route
    of the path, not only the first one found."""
    response = httpx.request(
        method,
        f"{bounded.api}{path.format(uuid.uuid4())}",
        headers={"Authorization": f"Bearer {bounded.key}"},
    )
    assert response.status_code == 405, response.text
    assert response.json()["error"]["code"] == "method_not_allowed"
    assert set(response.headers["allow"].split(", ")) == allowed, response.headers
    message = response.json()["error"]["message"]
    assert method in message and all(m in message for m in allowed), message


@pytest.mark.parametrize(
    "path", ["/v1/nope", "/v1/photos/a/b/c", "/v1/photos/..%2f..%2fetc%2fpasswd", "/static/none.js"]
)
def test_a_path_nothing_is_at_says_where_the_routes_are(bounded: Bounded, path: str) -> None:
    response = httpx.get(f"{bounded.api}{path}", headers={"Authorization": f"Bearer {bounded.key}"})
    assert response.status_code == 404, response.text
    error = response.json()["error"]
    assert error["code"] == "not_found", error
    assert "/openapi.json" in error["message"], error


# ---- the database goes away ----------------------------------------------------------------------


@pytest.fixture
def outage(
    new_database: Callable[[str], str], tmp_path: Path
) -> Iterator[tuple[RunningServer, TcpProxy, str]]:
    """A real server on PostgreSQL reached through a proxy the test can cut, and a service key."""
    url = sa.make_url(new_database("postgresql"))
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432).start()
    through = url.set(host="127.0.0.1", port=proxy.port).render_as_string(False)
    server = RunningServer(
        tmp_path / "data", workers=1, extra_env={"BAKUSOKU_DATABASE_URL": through}
    ).start()
    try:
        yield server, proxy, server.create_key("school-a", role="admin")
    finally:
        server.stop()
        proxy.cut()


# The admin token is checked without the database, and these read nothing from it.
READ_NO_DATABASE = {("GET", "/v1/upload-policy"), ("GET", "/v1/whoami")}
# The operators' faults live in the data directory, not the database: a chaos experiment that cut
# the database off can still be ended (an empty POST is invalid, an unknown fault not found).
FAULTS_NO_DATABASE = {
    ("GET", "/v1/faults"): 200,
    ("DELETE", "/v1/faults"): 200,
    ("POST", "/v1/faults"): 400,
    ("DELETE", "/v1/faults/{fault_id}"): 404,
}


# A race belongs to a service: the admin token, which has none, is refused before the database.
SERVICE_ONLY_PREFIX = "/v1/races/"
RACE = {"name": "Relay", "date": "2026-10-10"}


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", str(uuid.uuid4()), path)


def _operations(spec: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (method.upper(), path)
        for path, operations in spec["paths"].items()
        for method in operations
        if method in ("get", "post", "put", "delete", "patch")
    ]


def test_with_the_database_gone_every_route_answers_503_db_unavailable(
    outage: tuple[RunningServer, TcpProxy, str],
) -> None:
    """A service key is checked in the database: every route answers 503. With the admin token
    every route that needs the database does."""
    server, proxy, key = outage
    spec = httpx.get(f"{server.api}/openapi.json").json()
    operations = _operations(spec)
    needs_key = [(m, p) for m, p in operations if spec["paths"][p][m.lower()]["security"]]
    assert len(needs_key) >= 10
    for method, path in needs_key:  # the OpenAPI description says so
        declared = spec["paths"][path][method.lower()]["responses"]["503"]
        assert "Retry-After" in declared["headers"], (method, path)
    upload = {"filename": "a.jpg", "content_type": "image/jpeg", "size": 10, "album": "sports"}
    proxy.cut()

    def ask(token: str, method: str, path: str) -> tuple[str, str, httpx.Response]:
        body = {**upload, "service": "school-a"} if path == "/v1/uploads" else None
        if method == "PUT" and path.startswith(SERVICE_ONLY_PREFIX):
            body = {"no_bib": True} if path.endswith("/bibs") else RACE
        if path.endswith("/codes"):
            body = {"service": "school-a"}  # sharing an album: the admin token names the service
        headers = {"Authorization": f"Bearer {token}"}
        if spec["paths"][path][method.lower()]["security"] == [{"parentSession": []}]:
            # the parent API takes a session cookie (checked in the database), not a key
            headers = {"Cookie": f"bakusoku_parent=bkp_{'0' * 18}_{'x' * 43}"}
        response = httpx.request(
            method,
            f"{server.api}{_concrete(path)}",
            json=body if method in ("POST", "PUT") else None,
            params=(
                {"since": 0}
                if path == "/v1/events"
                else {"service": "school-a"}  # the admin token names an album's service
                if "/faces" in path
                else None
            ),
            headers=headers,
            timeout=60,
        )
        return method, path, response

    asks = [(token, m, p) for token in (key, server.admin_token) for m, p in needs_key]
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda a: ask(*a), asks))
    for (token, *_), (method, path, response) in zip(asks, answers, strict=True):
        if token == server.admin_token and (method, path) in READ_NO_DATABASE:
            assert response.status_code == 200, (method, path, response.text)
            continue
        if token == server.admin_token and path.startswith(SERVICE_ONLY_PREFIX):
            assert response.status_code == 403, (method, path, response.text)
            assert response.json()["error"]["code"] == "auth.forbidden", (method, path)
            continue
        if token == server.admin_token and (method, path) in FAULTS_NO_DATABASE:
            expected = FAULTS_NO_DATABASE[method, path]
            assert response.status_code == expected, (method, path, response.text)
            continue
        assert response.status_code == 503, (method, path, response.text)
        assert response.json()["error"]["code"] == "db.unavailable", (method, path)
        assert int(response.headers["retry-after"]) > 0, (method, path)
    ready = httpx.get(f"{server.api}/readyz", timeout=30)
    assert ready.status_code == 503 and ready.json()["checks"]["database"] != "ok"
    assert httpx.get(f"{server.api}/healthz").status_code == 200  # alive, only its database is not

    proxy.restore()
    assert (
        httpx.get(f"{server.api}/v1/whoami", headers={"Authorization": f"Bearer {key}"}).json()[
            "service"
        ]
        == "school-a"
    )


@pytest.fixture
def stalled(
    new_database: Callable[[str], str], tmp_path: Path
) -> Iterator[tuple[RunningServer, TcpProxy, str]]:
    """As ``outage``, with the database's answer awaited ANSWER_TIMEOUT seconds."""
    url = sa.make_url(new_database("postgresql"))
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432).start()
    through = url.set(host="127.0.0.1", port=proxy.port).render_as_string(False)
    server = RunningServer(
        tmp_path / "data",
        workers=1,
        extra_env={
            "BAKUSOKU_DATABASE_URL": through,
            "BAKUSOKU_DB_ANSWER_TIMEOUT_SECONDS": str(ANSWER_TIMEOUT),
        },
    ).start()
    try:
        yield server, proxy, server.create_key("school-a", role="admin")
    finally:
        proxy.resume()
        server.stop()
        proxy.cut()


ANSWER_TIMEOUT = 2


def test_with_the_database_stalled_routes_answer_503_not_hang(
    stalled: tuple[RunningServer, TcpProxy, str],
) -> None:
    """A database that keeps its connections open but answers nothing (a hung server, a black
    hole behind a proxy): requests on the pool's open connections answered nothing, ever."""
    server, proxy, key = stalled
    headers = {"Authorization": f"Bearer {key}"}
    paths = ["/v1/photos", "/v1/albums", "/v1/photos?album=sports", "/v1/audit"]
    with ThreadPoolExecutor(len(paths)) as pool:  # the pool holds connections, open and idle
        assert {r.status_code for r in pool.map(lambda p: _get(server, p, headers), paths)} == {200}
    proxy.stall()
    started = time.monotonic()
    with ThreadPoolExecutor(len(paths)) as pool:
        answers = list(pool.map(lambda p: _get(server, p, headers), paths))
    took = time.monotonic() - started
    for path, response in zip(paths, answers, strict=True):
        assert response.status_code == 503, (path, response.text)
        assert response.json()["error"]["code"] == "db.unavailable", (path, response.text)
        assert int(response.headers["retry-after"]) > 0
    # the answer's wait, then a new connection's (whose login gets no answer either)
    assert took < 3 * ANSWER_TIMEOUT + 10, took

    proxy.resume()
    assert _get(server, "/v1/photos", headers).status_code == 200


def _get(server: RunningServer, path: str, headers: dict[str, str]) -> httpx.Response:
    return httpx.get(f"{server.api}{path}", headers=headers, timeout=40)


RUNNER_ASKS = {
    ("POST", "/v1/runner/sessions"): {
        "service": "school-a",
        "album": "relay",
        "bib": "7",
        "surname": "Smith",
    },
    ("GET", "/v1/runner/me"): None,
    ("POST", "/v1/runner/subscriptions"): {"channel": "email", "address": "a@example.com"},
    ("POST", "/v1/runner/privacy"): {"kind": "erase"},
    ("GET", "/v1/runner/runners/{bib}/certificate"): None,  # asked as the session's bib, 7
}


def test_with_the_database_gone_the_runner_routes_answer_503_as_described(
    outage: tuple[RunningServer, TcpProxy, str],
) -> None:
    """The runner routes take no key (a runner session instead), yet read the database: they
    declare 503 too, and answer it."""
    server, proxy, key = outage
    spec = httpx.get(f"{server.api}/openapi.json").json()
    runner_routes = [(m, p) for m, p in _operations(spec) if p.startswith("/v1/runner/")]
    assert set(runner_routes) == set(RUNNER_ASKS)
    for method, path in runner_routes:
        declared = spec["paths"][path][method.lower()]["responses"]["503"]
        assert "Retry-After" in declared["headers"], (method, path)
    headers = {"Authorization": f"Bearer {key}"}
    httpx.put(f"{server.api}/v1/races/relay", json=RACE, headers=headers).raise_for_status()
    httpx.post(
        f"{server.api}/v1/races/relay/entries",
        content="bib,name,surname\n7,Jane Smith,Smith\n",
        headers=headers | {"Content-Type": "text/csv"},
    ).raise_for_status()
    signed = httpx.post(
        f"{server.api}/v1/runner/sessions", json=RUNNER_ASKS["POST", "/v1/runner/sessions"]
    )
    session = {"X-Runner-Session": signed.json()["session"]}
    proxy.cut()

    for (method, path), body in RUNNER_ASKS.items():
        response = httpx.request(
            method,
            f"{server.api}{path.replace('{bib}', '7')}",
            json=body,
            headers=session,
            timeout=60,
        )
        assert response.status_code == 503, (method, path, response.text)
        assert response.json()["error"]["code"] == "db.unavailable", (method, path)
        assert int(response.headers["retry-after"]) > 0, (method, path)
