"""Requests on a real server: a key sent twice in one JSON object and NaN or Infinity are refused
as malformed JSON, and a query parameter sent twice as invalid, saying what to change, whichever
route reads them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.api.conftest import Bounded
from tests.e2e.server import RunningServer

pytestmark = pytest.mark.integration

UPLOAD = '{"filename": "a.jpg", "content_type": "image/jpeg", "size": 10, "album": "%s"}'


def _send(bounded: Bounded, method: str, path: str, body: str, token: str) -> httpx.Response:
    return httpx.request(
        method,
        f"{bounded.api}{path}",
        content=body.encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )


def _malformed(response: httpx.Response) -> str:
    assert response.status_code == 400, response.text
    error: dict[str, Any] = response.json()["error"]
    assert (error["code"], error["field"]) == ("request.malformed_json", "body"), error
    return str(error["message"])


def test_a_key_sent_twice_is_refused_and_named_not_read_as_its_last_value(
    bounded: Bounded,
) -> None:
    twice = UPLOAD.replace('"album"', '"album": "elsewhere", "album"') % "sports"
    message = _malformed(_send(bounded, "POST", "/v1/uploads", twice, bounded.key))
    assert "'album'" in message and "twice" in message
    assert _send(bounded, "POST", "/v1/uploads", UPLOAD % "sports", bounded.key).status_code == 201


def test_a_key_sent_twice_is_not_named_when_it_looks_like_a_secret(bounded: Bounded) -> None:
    pasted = "bks_0123456789ab_" + "Q" * 43
    twice = UPLOAD.replace("{", f'{{"{pasted}": 1, "{pasted}": 2, ', 1) % "sports"
    response = _send(bounded, "POST", "/v1/uploads", twice, bounded.key)
    assert "twice" in _malformed(response)
    assert pasted not in response.text and "Q" * 20 not in response.text


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_refused_where_any_number_goes(
    bounded: Bounded, constant: str
) -> None:
    """A fault's interval is any number over 0: Infinity passed that check and was stored."""
    fault = f'{{"kind": "db.slow", "duration_seconds": 1, "interval_seconds": {constant}}}'
    response = _send(bounded, "POST", "/v1/faults", fault, bounded.server.admin_token)
    assert constant in _malformed(response)
    listed = httpx.get(f"{bounded.api}/v1/faults", headers=bounded.server.headers).json()
    assert listed["faults"] == [], listed


def test_race_rows_are_read_as_strictly(bounded: Bounded) -> None:
    """The rows routes read their own bodies (CSV or JSON): a key twice is refused there too."""
    race = '{"name": "Relay", "date": "2026-10-10"}'
    assert _send(bounded, "PUT", "/v1/races/relay", race, bounded.key).status_code == 200
    rows = '{"entries": [{"bib": "7", "name": "Jane", "surname": "Smith", "bib": "8"}]}'
    response = _send(bounded, "POST", "/v1/races/relay/entries", rows, bounded.key)
    assert response.status_code == 400, response.text
    assert "twice" in response.json()["error"]["message"]
    entered = httpx.get(
        f"{bounded.api}/v1/races/relay/runners/8",
        headers={"Authorization": f"Bearer {bounded.key}"},
    )
    assert entered.json().get("on_entry_list") is not True, entered.text


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("/v1/photos?album=elsewhere&album=sports", "album"),
        ("/v1/photos?album=sports&limit=1&limit=500", "limit"),
        ("/v1/audit?action=key.create&action=photo.delete", "action"),
    ],
)
def test_a_query_parameter_sent_twice_is_refused_not_read_as_its_last_value(
    bounded: Bounded, path: str, name: str
) -> None:
    """A proxy or a log reads the first value, the route read the last: each is sent once."""
    response = httpx.get(f"{bounded.api}{path}", headers={"Authorization": f"Bearer {bounded.key}"})
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert (error["code"], error["field"]) == ("request.invalid", name), error
    assert "once" in error["message"], error


def test_a_query_parameter_a_route_does_not_take_is_not_counted(bounded: Bounded) -> None:
    """Only the route's own parameters are single values: a cache-buster sent twice is not."""
    response = httpx.get(
        f"{bounded.api}/v1/photos?album=sports&_=1&_=2",
        headers={"Authorization": f"Bearer {bounded.key}"},
    )
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"],
)
def test_a_json_body_sent_as_another_type_is_415_naming_json(
    bounded: Bounded, content_type: str
) -> None:
    """It was read as no object at all: 'body: Input should be a valid dictionary'."""
    response = httpx.post(
        f"{bounded.api}/v1/uploads",
        content=(UPLOAD % "sports").encode(),
        headers={"Authorization": f"Bearer {bounded.key}", "Content-Type": content_type},
    )
    assert response.status_code == 415, response.text
    error = response.json()["error"]
    assert error["code"] == "request.unsupported_media_type", error
    assert "application/json" in error["message"], error


@pytest.mark.parametrize("content_type", ["application/json; charset=utf-8", "application/x+json"])
def test_json_by_any_of_its_names_is_read(bounded: Bounded, content_type: str) -> None:
    response = httpx.post(
        f"{bounded.api}/v1/uploads",
        content=(UPLOAD % "sports").encode(),
        headers={"Authorization": f"Bearer {bounded.key}", "Content-Type": content_type},
    )
    assert response.status_code == 201, response.text


@pytest.fixture(scope="module")
def on_postgres(
    new_database: Callable[[str], str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[RunningServer, str]]:
    """A real server on PostgreSQL, whose text cannot hold NUL, and an admin key."""
    server = RunningServer(
        tmp_path_factory.mktemp("strict-pg") / "data",
        workers=1,
        extra_env={"BAKUSOKU_DATABASE_URL": new_database("postgresql")},
    ).start()
    try:
        yield server, server.create_key("school-a", role="admin")
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("path", "name", "operator"),
    [
        ("/v1/photos?album=a%00b", "album", False),
        ("/v1/events?album=a%00b&cursor=1", "album", False),
        ("/v1/photos/a%00b", "photo_id", False),
        ("/v1/photos?album=sports%1b%5b2J", "album", False),
        ("/v1/executions?album=a%00b", "album", True),
        ("/v1/executions?state=a%00b", "state", True),
        ("/v1/executions/a%00b", "name", True),
        ("/v1/audit?service=a%00b", "service", True),
    ],
)
def test_a_control_character_in_a_path_or_query_value_is_refused_for_it(
    on_postgres: tuple[RunningServer, str], path: str, name: str, operator: bool
) -> None:
    """PostgreSQL refuses NUL in text: these were a 500 from the query that carried it."""
    server, key = on_postgres
    token = server.admin_token if operator else key
    response = httpx.get(f"{server.api}{path}", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert (error["code"], error["field"]) == ("request.invalid", name), error
    assert "control character" in error["message"], error


def test_nul_in_a_json_string_is_refused_before_any_route_stores_it(
    on_postgres: tuple[RunningServer, str],
) -> None:
    """A runner's e-mail address with NUL reached PostgreSQL, which refuses it in text: a 500.
    It is refused for its field, as an invalid value of it is."""
    server, key = on_postgres
    headers = {"Authorization": f"Bearer {key}"}
    httpx.put(
        f"{server.api}/v1/races/nul-race",
        json={"name": "Relay", "date": "2026-10-10"},
        headers=headers,
    ).raise_for_status()
    httpx.post(
        f"{server.api}/v1/races/nul-race/entries",
        content="bib,name,surname\n7,Jane Smith,Smith\n",
        headers=headers | {"Content-Type": "text/csv"},
    ).raise_for_status()
    signed = httpx.post(
        f"{server.api}/v1/runner/sessions",
        json={"service": "school-a", "album": "nul-race", "bib": "7", "surname": "Smith"},
    )
    session = {"X-Runner-Session": signed.json()["session"], "Content-Type": "application/json"}
    response = httpx.post(
        f"{server.api}/v1/runner/subscriptions",
        content=b'{"channel": "email", "address": "a\\u0000@example.com"}',
        headers=session,
    )
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert (error["code"], error["field"]) == ("request.invalid", "address"), error
    assert "NUL" in error["message"], error
    me = httpx.get(f"{server.api}/v1/runner/me", headers=session).json()
    assert me["subscriptions"] == [], me


@pytest.mark.parametrize("value", ["10.0", "1_0", "+10", " 10", "10 ", "010"])
def test_an_integer_query_parameter_is_written_in_plain_digits(
    bounded: Bounded, value: str
) -> None:
    """A float, Python's 1_0, a sign or spaces where a count goes was read as 10."""
    response = httpx.get(
        f"{bounded.api}/v1/photos",
        params={"limit": value},
        headers={"Authorization": f"Bearer {bounded.key}"},
    )
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert (error["code"], error["field"]) == ("request.invalid", "limit"), error
    assert "digits" in error["message"], error
    plain = httpx.get(
        f"{bounded.api}/v1/photos",
        params={"limit": "10"},
        headers={"Authorization": f"Bearer {bounded.key}"},
    )
    assert plain.status_code == 200, plain.text
