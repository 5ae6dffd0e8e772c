"""Races attacked through a real server: another service's race answers byte for byte as before it
existed, and its standings, counts and known bibs never mix with the attacker's; bodies are capped
before they are read and strictly typed; no error repeats a secret; bad input is a JSON 400."""

from __future__ import annotations

import datetime
import threading
import time
from collections.abc import Callable

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
    refused_streamed,
    refused_unread,
)

pytestmark = pytest.mark.integration

ENTRIES = "bib,name,surname,category\n1432,走者 A,走者,フル\n988,走者 B,走者,フル\n"
RESULTS = {"results": [{"bib": "1432", "net_time": "3:01:02"}, {"bib": "988", "net_time": "2:59"}]}
# The rows routes' own cap (race_rows_max_bytes), over the API's
ROWS_MAX_BYTES = 8 * 1024 * 1024


def _asks(tenants: Tenants, album: str) -> list[Callable[[], httpx.Response]]:
    """Every race route, asked with school-b's key about ``album``."""
    api, headers = f"{tenants.api}/v1/races/{album}", bearer(tenants.b)
    csv = headers | {"Content-Type": "text/csv"}
    return [
        lambda: httpx.get(api, headers=headers),
        lambda: httpx.get(f"{api}/results", headers=headers),
        lambda: httpx.get(f"{api}/results", params={"category": "フル"}, headers=headers),
        lambda: httpx.get(f"{api}/runners/1432", headers=headers),
        lambda: httpx.post(f"{api}/entries", content="bib,name\n1432,X\n", headers=csv),
        lambda: httpx.post(f"{api}/results", json=RESULTS, headers=headers),
    ]


def test_another_services_race_answers_byte_for_byte_as_before_it_existed(
    tenants: Tenants,
) -> None:
    album = new_album()
    before = [answer(ask()) for ask in _asks(tenants, album)]

    race(tenants, album, tenants.a, ENTRIES)
    httpx.post(
        f"{tenants.api}/v1/races/{album}/results", json=RESULTS, headers=bearer(tenants.a)
    ).raise_for_status()
    after = [answer(ask()) for ask in _asks(tenants, album)]

    assert after == before
    assert all(status == 404 for status, _ in after)


def test_a_key_of_another_album_gets_what_a_missing_album_gets(tenants: Tenants) -> None:
    album, missing = new_album(), new_album()
    race(tenants, album, tenants.a, ENTRIES)
    headers = bearer(tenants.a_other_album)

    theirs = httpx.get(f"{tenants.api}/v1/races/{album}/runners/1432", headers=headers)
    absent = httpx.get(f"{tenants.api}/v1/races/{missing}/runners/1432", headers=headers)

    assert answer(theirs) == (
        absent.status_code,
        absent.content.replace(missing.encode(), album.encode()),
    )
    assert_json_error(theirs, 404, "album.not_found")


def test_the_same_album_name_in_two_services_is_two_races(tenants: Tenants) -> None:
    album = new_album()
    race(tenants, album, tenants.a, ENTRIES)
    httpx.post(
        f"{tenants.api}/v1/races/{album}/results", json=RESULTS, headers=bearer(tenants.a)
    ).raise_for_status()

    race(tenants, album, tenants.b)  # school-b's own race of the same name
    posted = httpx.post(
        f"{tenants.api}/v1/races/{album}/results",
        json={"results": [RESULTS["results"][0]]},
        headers=bearer(tenants.b),
    ).json()
    theirs = httpx.get(f"{tenants.api}/v1/races/{album}/results", headers=bearer(tenants.b))
    ours = httpx.get(f"{tenants.api}/v1/races/{album}/results", headers=bearer(tenants.a))

    # school-a's identical result neither makes school-b's "unchanged" nor a known bib
    assert (posted["created"], posted["unchanged"], posted["unknown_bibs"]) == (1, 0, ["1432"])
    assert [(s["bib"], s["name"], s["place"]) for s in theirs.json()["items"]] == [
        ("1432", None, 1)
    ]
    assert [(s["bib"], s["place"]) for s in ours.json()["items"]] == [("988", 1), ("1432", 2)]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": 10, "date": "2026-12-06"}, "name"),
        ({"name": "Relay", "date": 20261206}, "date"),
        ({"name": True, "date": "2026-12-06"}, "name"),
        ({"name": "Relay", "date": "2026-12-06", "timezone": 9}, "timezone"),
        ({"name": "Relay", "date": "2026-12-06", "start": "09:00"}, "start"),
        ({"name": "   ", "date": "2026-12-06"}, "name"),
        ({"name": "Relay\u0000\u202e", "date": "2026-12-06"}, "name"),
        ({"name": "Relay", "date": "06/12/2026"}, "date"),
        ({"name": "Relay", "date": "2026-12-06", "timezone": "Asia/" + "x" * 5000}, "timezone"),
        ({"name": "Relay", "date": "2026-12-06", "timezone": "../../etc/passwd"}, "timezone"),
    ],
)
def test_a_race_is_strictly_typed(tenants: Tenants, body: dict[str, object], field: str) -> None:
    album = new_album()
    response = httpx.put(f"{tenants.api}/v1/races/{album}", json=body, headers=bearer(tenants.a))
    error = assert_json_error(response, 400, "request.invalid")
    assert error["field"] == field, error
    missing = httpx.get(f"{tenants.api}/v1/races/{album}", headers=bearer(tenants.a))
    assert_json_error(missing, 404, "race.not_found")  # nothing was written


def test_a_race_date_is_kept_as_yyyy_mm_dd_however_iso_wrote_it(tenants: Tenants) -> None:
    album = new_album()
    response = httpx.put(
        f"{tenants.api}/v1/races/{album}",
        json={"name": "Relay", "date": "2026-W49-7", "course": "  "},
        headers=bearer(tenants.a),
    )
    assert response.status_code == 200, response.text
    assert response.json()["date"] == datetime.date.fromisocalendar(2026, 49, 7).isoformat()
    assert response.json()["course"] is None


def test_result_rows_are_strictly_typed_row_by_row(tenants: Tenants) -> None:
    album = new_album()
    race(tenants, album, tenants.a, ENTRIES)
    rows = [
        {"bib": 1432, "net_time": "3:00:00"},  # a bib is text
        {"bib": True, "net_time": "3:00:00"},
        {"bib": "988", "checkpoint": True, "net_time": "3:00:00"},
        {"bib": "988", "checkpoint": 10, "net_time": "3:00:00"},
        {"bib": "988", "net_time": True},
        {"bib": "988", "net_time": "10800"},
        {"bib": "988", "net_time": "3:00:00", "finish_at": 20261206},
        {"bib": "988", "net_time": "3:00:00", "name": ["A"]},
        {"bib": "988", "net_time": "3:00:00", "gun_time": {"h": 3}},
    ]

    response = httpx.post(
        f"{tenants.api}/v1/races/{album}/results",
        json={"results": rows},
        headers=bearer(tenants.a),
    )

    assert response.status_code == 200, response.text
    outcome = response.json()
    assert outcome["created"] == 0, outcome
    assert [(r["row"], r["column"]) for r in outcome["rejected"]] == [
        (1, "bib"),
        (2, "bib"),
        (3, "checkpoint"),
        (4, "checkpoint"),
        (5, "net_time"),
        (6, "net_time"),
        (7, "finish_at"),
        (8, "name"),
        (9, "gun_time"),
    ]
    assert {r["code"] for r in outcome["rejected"]} == {"race.invalid_row"}


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/json", b"[" * 100_000 + b"]" * 100_000),
        ("application/json", b'{"results": [{"bib": "1", "net_time": NaN}'),
        ("application/json", b'"just a string"'),
        ("application/json", b"null"),
        ("text/csv", b"bib,name\n1," + b"x" * 200_000 + b"\n"),
    ],
)
def test_unreadable_rows_answer_a_json_400(
    tenants: Tenants, content_type: str, body: bytes
) -> None:
    album = new_album()
    race(tenants, album, tenants.a)
    for rows in ("entries", "results"):
        response = httpx.post(
            f"{tenants.api}/v1/races/{album}/{rows}",
            content=body,
            headers=bearer(tenants.a) | {"Content-Type": content_type},
        )
        assert response.status_code == 400, (rows, response.text[:300])
        assert response.json()["error"]["code"] in ("request.invalid", "race.invalid_rows")


@pytest.mark.parametrize("rows", ["entries", "results"])
def test_rows_over_their_cap_are_refused_before_they_are_read(tenants: Tenants, rows: str) -> None:
    album = new_album()
    race(tenants, album, tenants.a)
    path = f"/v1/races/{album}/{rows}"
    headers = bearer(tenants.a) | {"Content-Type": "text/csv"}

    assert refused_unread(tenants.port, "POST", path, headers, 100 * 1024 * 1024) == 413
    status, sent = refused_streamed(tenants.port, "POST", path, headers)
    assert status == 413 and sent < ROWS_MAX_BYTES + 16 * 1024 * 1024


def test_other_race_bodies_have_the_apis_cap(tenants: Tenants) -> None:
    headers = bearer(tenants.a) | {"Content-Type": "application/json"}
    status = refused_unread(tenants.port, "PUT", f"/v1/races/{new_album()}", headers, 1024 * 1024)
    assert status == 413


@pytest.mark.parametrize("kind", sorted(PASTED))
def test_no_error_repeats_a_secret_pasted_where_a_name_goes(tenants: Tenants, kind: str) -> None:
    pasted = PASTED[kind]
    album = new_album()
    race(tenants, album, tenants.a, ENTRIES)
    api, headers = f"{tenants.api}/v1/races", bearer(tenants.a)
    responses = [
        httpx.get(f"{api}/{pasted}", headers=headers),
        httpx.put(f"{api}/{pasted}", json={"name": "R", "date": "2026-12-06"}, headers=headers),
        httpx.get(f"{api}/{album}/runners/{pasted}", headers=headers),
        httpx.get(f"{api}/{album}/results", params={"checkpoint": pasted}, headers=headers),
        httpx.put(f"{api}/{album}", json={"name": "R", "date": pasted}, headers=headers),
        httpx.put(
            f"{api}/{album}",
            json={"name": "R", "date": "2026-12-06", "timezone": pasted},
            headers=headers,
        ),
        httpx.put(
            f"{api}/{album}", json={"name": "R", "date": "2026-12-06", pasted: 1}, headers=headers
        ),
        httpx.post(
            f"{api}/{album}/results",
            json={
                "results": [
                    {"bib": pasted, "net_time": pasted, "checkpoint": pasted, "finish_at": pasted}
                ]
            },
            headers=headers,
        ),
    ]
    for response in responses:
        assert response.headers["content-type"].startswith("application/json"), response.text
        assert_not_repeated(response, pasted)
    assert [r.status_code for r in responses[:-1]] == [404, 404, 404, 400, 400, 400, 400]


def test_a_large_entry_list_leaves_the_api_answering_meanwhile(tenants: Tenants) -> None:
    """Saving thousands of entries takes the database a while: other requests are answered
    meanwhile, not after it (the rows are saved off the event loop)."""
    album = new_album()
    race(tenants, album, tenants.a)
    rows = "".join(f"{bib},走者 {bib},走者,フル\n" for bib in range(1, 15_001))
    saved: list[tuple[httpx.Response, float]] = []

    def post() -> None:
        answer = httpx.post(
            f"{tenants.api}/v1/races/{album}/entries",
            content="bib,name,surname,category\n" + rows,
            headers=bearer(tenants.a) | {"Content-Type": "text/csv"},
            timeout=120,
        )
        saved.append((answer, time.perf_counter()))

    posting = threading.Thread(target=post)
    posting.start()
    time.sleep(0.5)  # the list is in: its rows are being saved
    health = httpx.get(f"{tenants.api}/healthz", timeout=120)
    health_done = time.perf_counter()
    posting.join()
    (answer, saved_at) = saved[0]

    assert health.status_code == 200
    assert answer.status_code == 200, answer.text[:300]
    assert saved_at - health_done > 0.15, "/healthz was answered only once the entries were saved"
