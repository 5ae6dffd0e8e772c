"""Runners through a real ``bakusoku up``: bib + surname opens one runner's photos only, a wrong
surname or another bib sees nothing, tries are limited and audited, runners subscribe by e-mail
and LINE (the webhook's signature checked) and get one message per batch with a signed link,
and erasure is audited and verifiable."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from bakusoku.db.faces import FaceRepository, FaceRow
from bakusoku.races import line
from bakusoku.races.repository import BibSighting, PhotoBibs
from tests.races.race_day import LINE_SECRET, SERVICE, RaceDay, start_race_day, stop_race_day
from tests.races.stand_ins import line_text_event

pytestmark = pytest.mark.integration

USER = "U" + "0123456789abcdef" * 2


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RaceDay]:
    started = start_race_day(tmp_path_factory.mktemp("runners") / "data")
    try:
        yield started.set_up({"1234": 10, "77": 2})
    finally:
        stop_race_day(started)


def _sign_in(day: RaceDay, bib: str, surname: str, album: str | None = None) -> httpx.Response:
    return httpx.post(
        f"{day.api}/v1/runner/sessions",
        json={"service": SERVICE, "album": album or day.album, "bib": bib, "surname": surname},
    )


def _me(day: RaceDay, session: str) -> dict[str, Any]:
    answer = httpx.get(f"{day.api}/v1/runner/me", headers={"X-Runner-Session": session})
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    return dict(answer.json())


def _wait(predicate: Any, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_bib_and_surname_open_that_runners_watermarked_photos_only(day: RaceDay) -> None:
    day.read_bibs()
    answer = _sign_in(day, "1234", " 山田 ")  # spaces and width do not count
    assert answer.status_code == 200, answer.text

    me = _me(day, answer.json()["session"])

    assert me["bib"] == "1234" and me["name"] == "山田 太郎"
    assert sorted(p["id"] for p in me["photos"]) == sorted(day.photos["1234"])
    assert all("/p=proof/" in p["preview"] for p in me["photos"])
    preview = httpx.get(day.api + me["photos"][0]["preview"])
    assert preview.status_code == 200 and preview.headers["content-type"].startswith("image/")


def test_a_wrong_surname_another_race_or_no_session_sees_nothing(day: RaceDay) -> None:
    wrong = _sign_in(day, "1234", "佐藤")
    unknown_bib = _sign_in(day, "9999", "山田")
    other_race = _sign_in(day, "1234", "山田", album="another-race")
    forged = httpx.get(f"{day.api}/v1/runner/me", headers={"X-Runner-Session": "a.b"})
    missing = httpx.get(f"{day.api}/v1/runner/me")

    assert [r.status_code for r in (wrong, unknown_bib, other_race)] == [401, 401, 401]
    assert wrong.json() == unknown_bib.json() == other_race.json()  # nothing tells them apart
    assert (forged.status_code, missing.status_code) == (401, 401)
    # Runner 77's session shows 77's photos, never 1234's.
    session = _sign_in(day, "77", "佐藤").json()["session"]
    assert {p["id"] for p in _me(day, session)["photos"]} == set(day.photos["77"])


def test_an_email_subscriber_gets_one_message_for_ten_photos_with_a_working_link(
    day: RaceDay,
) -> None:
    album = day.album
    session = _sign_in(day, "1234", "山田").json()["session"]
    subscribed = httpx.post(
        f"{day.api}/v1/runner/subscriptions",
        json={"channel": "email", "address": "yamada@example.com"},
        headers={"X-Runner-Session": session},
    )
    assert subscribed.status_code == 200, subscribed.text
    before = len(day.smtp.messages)

    queued = day.read_bibs()  # ten photos of 1234 (and two of 77, who is not subscribed)

    _wait(lambda: len(day.smtp.messages) > before)
    time.sleep(3)  # a second message would have arrived by now
    assert queued == 1
    (mail,) = day.smtp.messages[before:]
    assert mail["To"] == "yamada@example.com"
    body = mail.get_payload(decode=True).decode()
    assert "10 photos of bib 1234" in body
    link = next(w for w in body.split() if "/runner#" in w)
    opened = httpx.post(f"{day.api}/v1/runner/sessions", json={"link": link.partition("#")[2]})
    assert opened.status_code == 200 and opened.json()["album"] == album
    assert opened.json()["bib"] == "1234"
    tampered = link.partition("#")[2].replace(".", "x.", 1)
    assert httpx.post(f"{day.api}/v1/runner/sessions", json={"link": tampered}).status_code == 401


def test_line_follow_with_the_code_subscribes_and_a_tampered_webhook_is_refused(
    day: RaceDay,
) -> None:
    session = _sign_in(day, "77", "佐藤").json()["session"]
    code = _me(day, session)["line_code"]
    body = line_text_event(USER, code)
    signature = line.signature(LINE_SECRET, body)

    tampered = httpx.post(
        f"{day.api}/line/webhook",
        content=body.replace(USER.encode(), ("U" + "1" * 32).encode()),
        headers={"x-line-signature": signature, "Content-Type": "application/json"},
    )
    unsigned = httpx.post(f"{day.api}/line/webhook", content=body)
    accepted = httpx.post(
        f"{day.api}/line/webhook",
        content=body,
        headers={"x-line-signature": signature, "Content-Type": "application/json"},
    )

    assert (tampered.status_code, unsigned.status_code, accepted.status_code) == (401, 401, 200)
    assert _me(day, session)["subscriptions"] == ["line"]
    before = len(day.line.delivered)
    day.read_bibs()
    _wait(lambda: len(day.line.delivered) > before)
    (push,) = day.line.delivered[before:]
    assert push["to"] == USER and "2 photos of bib 77" in push["messages"][0]["text"]
    assert day.line.refused == []


def test_erasure_is_audited_verifiable_and_leaves_other_runners_alone(day: RaceDay) -> None:
    day.read_bibs()
    session = _sign_in(day, "77", "佐藤").json()["session"]
    headers = {"X-Runner-Session": session}

    erased = httpx.post(f"{day.api}/v1/runner/privacy", json={"kind": "erase"}, headers=headers)
    face = httpx.post(f"{day.api}/v1/runner/privacy", json={"kind": "face"}, headers=headers)

    assert erased.status_code == 200 and erased.json()["photos_erased"] == 2
    assert face.status_code == 200
    me = _me(day, session)
    assert me["photos"] == [] and me["requests"]["erase"]["photos_erased"] == 2
    assert set(me["requests"]) == {"erase", "face"}
    other = _me(day, _sign_in(day, "1234", "山田").json()["session"])
    assert len(other["photos"]) == 10
    audit = httpx.get(f"{day.api}/v1/audit?action=runner.erase", headers=day.admin()).json()
    (entry,) = [e for e in audit["items"] if e["target"] == f"{day.album}/77"]
    assert sorted(entry["details"]["photos"]) == sorted(day.photos["77"])


def test_the_runner_page_is_served_without_a_key(day: RaceDay, tmp_path: Path) -> None:
    page = httpx.get(f"{day.api}/runner")
    assert page.status_code == 200 and "runner.js" in page.text


def test_a_runner_who_hides_their_face_leaves_other_runners_galleries(day: RaceDay) -> None:
    shared = day.photos["1234"][0]  # 1234 and 5 side by side
    behind = day.upload(99)  # 5 in front, 1234 behind with no bib in sight
    day.wait_ready(behind)
    engine = day.engine()
    try:
        bibs, faces = PhotoBibs(engine), FaceRepository(engine)
        bibs.record(
            day.race,
            shared,
            [
                BibSighting("1234", 0.97, "ocr", (100, 300, 160, 340)),
                BibSighting("5", 0.97, "ocr", (400, 300, 460, 340)),
            ],
        )
        bibs.record(day.race, behind, [BibSighting("5", 0.97, "ocr", (400, 300, 460, 340))])
        yamada, smith = _vector(1), _vector(2)
        faces.replace_photo_faces(
            SERVICE,
            day.album,
            shared,
            [
                _face(shared, (105, 150, 155, 210), yamada),
                _face(shared, (405, 150, 455, 210), smith),
            ],
        )
        faces.replace_photo_faces(
            SERVICE,
            day.album,
            behind,
            [_face(behind, (150, 40, 180, 80), yamada), _face(behind, (405, 150, 455, 210), smith)],
        )
    finally:
        engine.dispose()
    smith_session = _sign_in(day, "5", "smith").json()["session"]
    before = {p["id"]: p["preview"] for p in _me(day, smith_session)["photos"]}
    assert set(before) == {shared, behind}
    assert httpx.get(day.api + before[shared]).status_code == 200

    yamada_session = _sign_in(day, "1234", "山田").json()["session"]
    hidden = httpx.post(
        f"{day.api}/v1/runner/privacy",
        json={"kind": "face"},
        headers={"X-Runner-Session": yamada_session},
    )

    assert hidden.status_code == 200, hidden.text
    assert hidden.json()["faces"] == 2  # above the bib, and the same face behind
    assert _me(day, smith_session)["photos"] == []
    mine = {p["id"] for p in _me(day, yamada_session)["photos"]}
    assert shared not in mine and len(mine) == 9  # no watermarked preview shows a hidden face
    refused = httpx.get(day.api + before[shared])  # the same signed URL, once shown
    assert refused.status_code in (403, 404), refused.text
    audit = httpx.get(f"{day.api}/v1/audit?action=runner.face_removal", headers=day.admin())
    (entry,) = [e for e in audit.json()["items"] if e["target"] == f"{day.album}/1234"]
    assert len(entry["details"]["faces"]) == 2


def _vector(seed: int) -> bytes:
    values = np.random.default_rng(seed).normal(size=128).astype(np.float32)
    return (values / np.linalg.norm(values)).astype(np.float32).tobytes()


def _face(photo_id: str, box: tuple[float, float, float, float], vector: bytes) -> FaceRow:
    return FaceRow(str(uuid.uuid4()), photo_id, box, embedded=True, vector=vector)


# Last: it spends this client's tries.
def test_guessing_is_rate_limited_and_audited(day: RaceDay) -> None:
    answers = [_sign_in(day, "5", f"guess{n}").status_code for n in range(12)]

    assert answers[0] == 401 and 429 in answers
    audit = httpx.get(
        f"{day.api}/v1/audit?action=runner.sign_in_refused", headers=day.admin()
    ).json()
    targets = [e for e in audit["items"] if e["target"] == f"{day.album}/5"]
    reasons = {e["details"]["reason"] for e in targets}
    assert len(targets) == 12 and reasons == {"bib and surname do not match", "rate limited"}
