"""Races through a real server: an organiser sets a race, uploads the entry list as CSV, a timing
system posts results (again, and corrected), and keys of other roles, albums and services are
kept out exactly as if the race did not exist."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.api.conftest import MAX_BODY_BYTES, Bounded

pytestmark = pytest.mark.integration


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _race(bounded: Bounded) -> str:
    album = f"marathon-{uuid.uuid4().hex[:8]}"
    answer = httpx.put(
        f"{bounded.api}/v1/races/{album}",
        json={"name": "第10回 湘南マラソン", "date": "2026-12-06", "course": "Full"},
        headers=_bearer(bounded.key),
    )
    assert answer.status_code == 200, answer.text
    return album


def _post_results(bounded: Bounded, album: str, rows: list[dict[str, Any]]) -> httpx.Response:
    return httpx.post(
        f"{bounded.api}/v1/races/{album}/results",
        json={"results": rows},
        headers=_bearer(bounded.key),
    )


def test_an_entry_list_larger_than_the_apis_body_cap_is_taken_as_csv(bounded: Bounded) -> None:
    album = _race(bounded)
    lines = ["ゼッケン,氏名,姓,種目"] + [f"{n},走者 {n:05d},走者,フル" for n in range(1, 5001)]
    body = "\n".join(lines).encode()
    assert len(body) > MAX_BODY_BYTES  # the rows routes have their own, larger cap

    answer = httpx.post(
        f"{bounded.api}/v1/races/{album}/entries",
        content=body,
        headers=_bearer(bounded.key) | {"Content-Type": "text/csv; charset=utf-8"},
    )

    assert answer.status_code == 200, answer.text
    assert answer.json()["created"] == 5000 and answer.json()["rejected"] == []
    runner = httpx.get(f"{bounded.api}/v1/races/{album}/runners/42", headers=_bearer(bounded.key))
    assert runner.json()["name"] == "走者 00042"


def test_results_are_idempotent_and_a_correction_is_counted(bounded: Bounded) -> None:
    album = _race(bounded)
    rows = [
        {"bib": "1", "net_time": "3:01:02", "gun_time": "3:02:00"},
        {"bib": "2", "net_time": "2:59:00"},
        {"bib": "3", "net_time": "soon"},
    ]

    first = _post_results(bounded, album, rows).json()
    again = _post_results(bounded, album, rows).json()
    corrected = _post_results(bounded, album, [{"bib": "1", "net_time": "3:00:59"}]).json()

    assert (first["created"], again["unchanged"], corrected["updated"]) == (2, 2, 1)
    assert first["rejected"] == [
        {
            "row": 3,
            "column": "net_time",
            "code": "race.invalid_row",
            "message": "net_time must look like 3:12:45, 3:12:45.3 or 45:07",
        }
    ]
    assert first["unknown_bibs"] == ["1", "2"]  # no entry list yet: taken, and said
    runner = httpx.get(f"{bounded.api}/v1/races/{album}/runners/1", headers=_bearer(bounded.key))
    (finish,) = runner.json()["results"]
    assert (finish["net_time"], finish["revision"]) == ("3:00:59", 2)
    standings = httpx.get(f"{bounded.api}/v1/races/{album}/results", headers=_bearer(bounded.key))
    assert [(s["bib"], s["place"]) for s in standings.json()["items"]] == [("2", 1), ("1", 2)]


def test_a_viewer_reads_but_cannot_post(bounded: Bounded) -> None:
    album = "sports"  # the album the viewer key is scoped to
    httpx.put(
        f"{bounded.api}/v1/races/{album}",
        json={"name": "Sports day relay", "date": "2026-10-10"},
        headers=_bearer(bounded.key),
    ).raise_for_status()

    read = httpx.get(f"{bounded.api}/v1/races/{album}", headers=_bearer(bounded.sports_viewer))
    posted = httpx.post(
        f"{bounded.api}/v1/races/{album}/results",
        json={"results": [{"bib": "1", "net_time": "1:00"}]},
        headers=_bearer(bounded.sports_viewer),
    )

    assert read.status_code == 200
    assert posted.status_code == 403 and posted.json()["error"]["code"] == "auth.forbidden"


def test_another_service_gets_what_a_missing_race_gets(bounded: Bounded) -> None:
    album = _race(bounded)
    other = bounded.server.create_key("school-b", role="admin")

    theirs = httpx.get(f"{bounded.api}/v1/races/{album}", headers=_bearer(other))
    missing_album = f"marathon-{uuid.uuid4().hex[:8]}"
    missing = httpx.get(f"{bounded.api}/v1/races/{missing_album}", headers=_bearer(bounded.key))

    assert theirs.status_code == missing.status_code == 404
    assert theirs.json() == {
        "error": {
            **missing.json()["error"],
            "message": missing.json()["error"]["message"].replace(missing_album, album),
        }
    }


@pytest.mark.parametrize(
    ("content_type", "body", "status", "code"),
    [
        ("text/csv", b"name\nA\n", 400, "race.invalid_rows"),
        ("application/json", b'{"results": "x"}', 400, "request.invalid"),
        ("application/json", b"{", 400, "request.invalid"),
        ("application/xml", b"<x/>", 415, "request.unsupported_media_type"),
        ("text/csv", b"\xff\xfe", 400, "request.invalid"),
    ],
)
def test_unreadable_bodies_get_a_json_error(
    bounded: Bounded, content_type: str, body: bytes, status: int, code: str
) -> None:
    album = _race(bounded)

    answer = httpx.post(
        f"{bounded.api}/v1/races/{album}/results",
        content=body,
        headers=_bearer(bounded.key) | {"Content-Type": content_type},
    )

    assert answer.status_code == status, answer.text
    assert answer.json()["error"]["code"] == code


def test_a_race_names_a_shipped_certificate_design_or_gets_the_default(bounded: Bounded) -> None:
    album = _race(bounded)
    url = f"{bounded.api}/v1/races/{album}"
    race = {"name": "湘南", "date": "2026-12-06"}

    default = httpx.get(url, headers=_bearer(bounded.key)).json()
    chosen = httpx.put(
        url, json=race | {"certificate_design": "finish-line"}, headers=_bearer(bounded.key)
    )
    unknown = httpx.put(
        url, json=race | {"certificate_design": "../../etc/passwd"}, headers=_bearer(bounded.key)
    )

    assert default["certificate_design"] == "classic"
    assert chosen.status_code == 200 and chosen.json()["certificate_design"] == "finish-line"
    assert unknown.status_code == 400
    assert unknown.json()["error"]["field"] == "certificate_design"
    assert "classic" in unknown.json()["error"]["message"]
