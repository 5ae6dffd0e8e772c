"""Bib review in a real browser, by keyboard only: type a bib and Enter tags the photo and shows
the next; Esc skips. Screenshots land in the run's screenshot folder (named at the end)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.browser.conftest import REPORT, web_url
from tests.browser.fixtures import jpeg_bytes, landscape
from tests.e2e.server import RunningServer

pytestmark = pytest.mark.integration

ALBUM = "relay-2026"


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _race_with_photos(server: RunningServer, key: str, count: int) -> list[str]:
    headers = _bearer(key)
    httpx.put(
        f"{server.api}/v1/races/{ALBUM}",
        json={"name": "Sports day relay", "date": "2026-10-10"},
        headers=headers,
    ).raise_for_status()
    httpx.post(
        f"{server.api}/v1/races/{ALBUM}/entries",
        content="bib,name\n1432,Aoi\n988,Ren\n7,Mei\n",
        headers=headers | {"Content-Type": "text/csv"},
    ).raise_for_status()
    photo_ids = []
    for index in range(count):
        data = jpeg_bytes(landscape(index, 1600, 1067))
        grant = httpx.post(
            f"{server.api}/v1/uploads",
            json={
                "filename": f"RELAY_{index:03d}.jpg",
                "content_type": "image/jpeg",
                "size": len(data),
                "album": ALBUM,
            },
            headers=headers,
        ).json()
        upload = grant["upload"]
        httpx.request(
            upload["method"], upload["url"], content=data, headers=upload["headers"]
        ).raise_for_status()
        photo_ids.append(grant["photo_id"])
        time.sleep(0.01)  # distinct upload times: the set is shown oldest first
    deadline = time.monotonic() + 90
    for photo_id in photo_ids:
        while True:
            photo = httpx.get(f"{server.api}/v1/photos/{photo_id}", headers=headers).json()
            if photo["status"] == "ready":
                break
            assert photo["status"] in ("pending", "processing"), photo
            assert time.monotonic() < deadline, photo
            time.sleep(0.2)
    return photo_ids


def test_staff_tag_two_photos_by_keyboard_and_skip_one(
    server: RunningServer, playwright_browser: Any, screenshots: Path
) -> None:
    key = server.create_key("school", role="admin")
    first, second, third = _race_with_photos(server, key, 3)
    page = playwright_browser.new_page(viewport={"width": 1280, "height": 860})
    try:
        page.goto(web_url(server, f"/races/{ALBUM}/bibs"))
        page.wait_for_selector(f"#photo[data-photo-id='{first}']:not([hidden])")
        assert page.evaluate("document.activeElement.id") == "bib-input"
        page.screenshot(path=str(screenshots / "bibs-1-first.png"))

        page.keyboard.type("1432")
        page.keyboard.press("Enter")
        page.wait_for_selector(f"#photo[data-photo-id='{second}']")
        page.keyboard.type("2026")  # not on the entry list: said, and the photo stays
        page.keyboard.press("Enter")
        page.wait_for_selector("#bib-error:has-text('2026')")
        page.screenshot(path=str(screenshots / "bibs-2-unknown-bib.png"))
        page.keyboard.type("988")  # the wrong number is selected: typing replaces it
        page.keyboard.press("Enter")
        page.wait_for_selector(f"#photo[data-photo-id='{third}']")
        page.keyboard.press("Escape")
        page.wait_for_selector("#stage-note:has-text('All done')")
        page.screenshot(path=str(screenshots / "bibs-3-done.png"))
    finally:
        page.close()

    def bibs(photo_id: str) -> list[tuple[str, str]]:
        answer = httpx.get(
            f"{server.api}/v1/races/{ALBUM}/photos/{photo_id}/bibs", headers=_bearer(key)
        ).json()
        return [(b["bib"], b["source"]) for b in answer["bibs"]]

    assert bibs(first) == [("1432", "staff")]
    assert bibs(second) == [("988", "staff")]
    waiting = httpx.get(f"{server.api}/v1/races/{ALBUM}/bibs/unknown", headers=_bearer(key)).json()
    assert [p["photo_id"] for p in waiting["items"]] == [third]  # skipped: still waiting
    shots = sorted(str(p) for p in screenshots.glob("bibs-*.png"))
    REPORT["bib review screenshots"] = ", ".join(shots)
    print("bib review screenshots:", *shots, sep="\n  ")
