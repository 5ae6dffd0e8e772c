"""The web app in a real browser: drop 20 photos, watch them upload and appear live, open one.

Runs Debian's Chromium (headless) through Playwright against ``bakusoku up`` on loopback ports.
Screenshots land in a temporary folder named at the end of the run.
"""

from __future__ import annotations

import base64
import io
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from tests.browser.conftest import REPORT, web_url
from tests.browser.fixtures import make_event_photos
from tests.e2e.server import RunningServer

pytestmark = pytest.mark.integration

DROP_FILES_JS = """
(files) => {
  const transfer = new DataTransfer();
  for (const f of files) {
    const bytes = Uint8Array.from(atob(f.data), (c) => c.charCodeAt(0));
    transfer.items.add(new File([bytes], f.name, { type: f.type }));
  }
  return transfer;
}
"""


def drop_files(page: Any, selector: str, paths: list[Path]) -> None:
    """Drop real files on ``selector`` as a person would from a file manager."""
    files = [
        {"name": p.name, "type": "image/jpeg", "data": base64.b64encode(p.read_bytes()).decode()}
        for p in paths
    ]
    transfer = page.evaluate_handle(DROP_FILES_JS, files)
    page.dispatch_event(selector, "dragenter", {"dataTransfer": transfer})
    page.dispatch_event(selector, "drop", {"dataTransfer": transfer})


class PutWatch:
    """Counts the PUTs a page sends to the object store, and how many were in flight at once."""

    def __init__(self, page: Any, store_port: int) -> None:
        self.prefix = f"http://127.0.0.1:{store_port}/"
        self.in_flight = 0
        self.most = 0
        self.puts = 0
        self.api_bodies = 0
        page.on("request", self._start)
        page.on("requestfinished", self._end)
        page.on("requestfailed", self._end)

    def _start(self, request: Any) -> None:
        if request.method == "PUT" and request.url.startswith(self.prefix):
            self.puts += 1
            self.in_flight += 1
            self.most = max(self.most, self.in_flight)
        elif request.method in ("PUT", "POST") and len(request.post_data_buffer or b"") > 4096:
            self.api_bodies += 1  # photo bytes sent anywhere but the store

    def _end(self, request: Any) -> None:
        if request.method == "PUT" and request.url.startswith(self.prefix):
            self.in_flight -= 1


def test_drop_twenty_photos_see_them_live_and_open_one(
    server: RunningServer, playwright_browser: Any, screenshots: Path, tmp_path: Path
) -> None:
    photos = make_event_photos(tmp_path / "photos")
    album = "sports-day"
    context = playwright_browser.new_context(viewport={"width": 1280, "height": 1000})
    gallery = context.new_page()
    uploads = context.new_page()
    watch = PutWatch(uploads, server.store_port)
    try:
        gallery.goto(web_url(server, f"/?album={album}"))
        gallery.wait_for_selector("#live[data-state=live]")
        gallery.evaluate("window.__notReloaded = true")

        uploads.goto(web_url(server, f"/upload?album={album}"))
        assert uploads.input_value("#concurrency") == "6"
        uploads.screenshot(path=str(screenshots / "1-upload-empty.png"))

        dropped = time.monotonic()
        drop_files(uploads, "#drop", photos)
        uploads.wait_for_function(
            "() => document.getElementById('overall-percent').textContent === '100%'",
            timeout=60_000,
        )
        uploaded = time.monotonic() - dropped
        assert uploads.text_content("#stat-files") == "20 of 20"
        assert uploads.locator("#queue li[data-state=done]").count() == 20
        assert watch.puts == 20 and watch.api_bodies == 0, "bytes must go straight to the store"
        assert 1 < watch.most <= 6, f"{watch.most} uploads ran at once"
        uploads.screenshot(path=str(screenshots / "2-upload-done.png"), full_page=True)

        gallery.wait_for_function(
            """() => document.querySelectorAll('.card[data-status=ready] img.photo.loaded').length === 19
                 && document.querySelectorAll('.card[data-status=failed]').length === 1""",
            timeout=90_000,
        )
        visible = time.monotonic() - dropped
        assert gallery.evaluate("window.__notReloaded") is True, "the gallery must update live"
        failed = gallery.locator(".card[data-status=failed]")
        assert failed.locator(".badge").text_content() == "failed"
        assert failed.locator(".err").text_content() == "image.corrupt"
        assert "cut" in (failed.locator(".fname").text_content() or "")
        shown = gallery.locator(".card").evaluate_all("(cards) => cards.map((c) => c.dataset.id)")
        listed = httpx.get(
            f"{server.api}/v1/photos", params={"album": album}, headers=server.headers
        ).json()["items"]
        created = {p["photo_id"]: p["created_at"] for p in listed}
        assert sorted(shown) == sorted(created)
        times = [created[photo_id] for photo_id in shown]
        assert times == sorted(times, reverse=True), "newest first"
        REPORT["drop to 100% uploaded"] = f"{uploaded:.2f} s (20 JPEGs, concurrency 6)"
        REPORT["drop to all 20 thumbnails visible"] = f"{visible:.2f} s (19 ready, 1 failed)"
        gallery.wait_for_timeout(400)  # let the fade-in finish for the picture
        gallery.screenshot(path=str(screenshots / "3-gallery.png"), full_page=True)

        # The failed photo: its error, its timeline and a re-drive button.
        failed.locator("a.open").click()
        gallery.wait_for_selector("#timeline li[data-state=PhotoFailed]")
        assert "image.corrupt" in (gallery.text_content("#error") or "")
        assert gallery.locator("#timeline .note", has_text="CorruptImageError").count() >= 1
        assert gallery.is_visible("#redrive")
        gallery.screenshot(path=str(screenshots / "5-photo-failed.png"), full_page=True)
        gallery.click("#redrive")
        gallery.wait_for_selector("#redrive-status:has-text('Reprocessing the photo as execution')")

        # A ready photo: the print trim over the full frame, renditions, a complete timeline.
        gallery.go_back()
        gallery.wait_for_selector(".card[data-status=ready]")
        gallery.locator(".card[data-status=ready] a.open").nth(2).click()
        gallery.wait_for_selector("#timeline li[data-state=MarkReady][data-status=succeeded]")
        gallery.wait_for_function("() => document.querySelector('#stage img.full')?.complete")
        states = gallery.locator("#timeline li").evaluate_all(
            "(items) => items.map((li) => li.dataset.state)"
        )
        steps = ["StorePhoto", "MakeRenditions", "MarkReady"]
        assert [s for s in states if s in steps] == steps, states
        crop = gallery.locator("#crop-box").bounding_box()
        frame = gallery.locator("#stage img.full").bounding_box()
        assert crop and frame and crop["width"] < frame["width"] + 1
        ratio = min(crop["width"], crop["height"]) / max(crop["width"], crop["height"])
        assert abs(ratio - 89 / 127) < 0.02, ratio
        names = set(gallery.locator("#renditions tbody a").all_text_contents())
        assert {"print", "preview"} <= names, names
        gallery.screenshot(path=str(screenshots / "4-photo.png"), full_page=True)

        # Phone width: no sideways scrolling on any page.
        phone = playwright_browser.new_context(
            viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True
        ).new_page()
        pages = (
            ("gallery", f"{server.api}/?album={album}", ".card img.photo.loaded"),
            ("upload", f"{server.api}/upload", "#drop"),
            ("photo", gallery.url, "#timeline li"),
        )
        for name, url, ready in pages:
            phone.goto(web_url(server, url))
            phone.wait_for_selector(ready)
            phone.wait_for_timeout(300)
            assert phone.evaluate("document.documentElement.scrollWidth <= innerWidth"), name
            phone.screenshot(path=str(screenshots / f"6-phone-{name}.png"))
            # At DPR 2 each picture is a transform about twice its CSS width, not a fixed size.
            shown = {"gallery": ".card img.photo.loaded", "photo": "#stage img.full"}.get(name)
            if shown:
                phone.wait_for_function(f"() => document.querySelector('{shown}')?.complete")
                chosen = phone.locator(shown).first.evaluate(CHOSEN_CANDIDATE)
                assert_sized_for(chosen, dpr=2, what=name)
        phone.context.close()
    finally:
        context.close()


# Which srcset candidate the browser fetched for an <img>, its CSS width and the pixels it got.
CHOSEN_CANDIDATE = """(img) => {
  const candidates = img.srcset.split(", ").map((c) => {
    const [url, width] = c.trim().split(" ");
    return { url, width: parseInt(width, 10) };
  });
  const chosen = candidates.find((c) => c.url === img.currentSrc);
  return {
    url: img.currentSrc,
    width: chosen ? chosen.width : null,
    widths: candidates.map((c) => c.width),
    css: img.getBoundingClientRect().width,
  };
}"""


def assert_sized_for(chosen: dict[str, Any], *, dpr: float, what: str) -> None:
    """The picture came from /img at a width between its CSS width and the next candidate above
    ``dpr`` times that (browsers may take the candidate just below when it is closer)."""
    assert "/img/" in chosen["url"], (what, chosen)
    assert chosen["width"] is not None, (what, chosen)
    # naturalWidth is density-corrected for srcset images: read the picture itself.
    with Image.open(io.BytesIO(httpx.get(chosen["url"]).content)) as picture:
        assert picture.width == chosen["width"], (what, chosen, picture.size)
    needed = chosen["css"] * dpr
    above = [w for w in chosen["widths"] if w >= needed] or [max(chosen["widths"])]
    assert chosen["width"] > chosen["css"] * 1.4, (what, chosen)  # sharper than DPR 1
    assert chosen["width"] <= min(above), (what, chosen)  # and never more than needed


def test_redrive_answers_json_errors(server: RunningServer) -> None:
    missing = httpx.post(
        f"{server.api}/v1/executions/no-such-execution/redrive", headers=server.headers
    )
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "execution.not_found"
    ready = httpx.get(
        f"{server.api}/v1/photos",
        params={"status": "ready", "limit": 1},
        headers=server.headers,
    ).json()
    if ready["items"]:
        name = ready["items"][0]["execution_name"]
        refused = httpx.post(f"{server.api}/v1/executions/{name}/redrive", headers=server.headers)
        assert refused.status_code == 409
        assert refused.json()["error"]["code"] == "execution.not_redrivable"


def test_the_gallery_polls_where_the_server_answers_pages(
    server: RunningServer, playwright_browser: Any, tmp_path: Path
) -> None:
    """Where the API cannot stream (Lambda), /v1/events answers JSON pages: the gallery polls.

    ``bakusoku up`` streams, so the gallery's first request is sent on with a cursor, which makes
    the server answer a page as the Lambda function always does; the gallery then asks with the
    cursors it is given.
    """
    photos = make_event_photos(tmp_path / "polled", count=3, corrupt_index=-1)
    album = "polled-day"
    context = playwright_browser.new_context(viewport={"width": 1280, "height": 1000})
    gallery = context.new_page()
    asked: list[str] = []

    def as_a_page(route: Any) -> None:
        url = route.request.url
        asked.append(url)
        if "cursor=" not in url:
            url += f"&cursor={time.time() - 3.0:.3f}"  # from now on, as a new stream would
        route.continue_(url=url)

    gallery.route("**/v1/events?*", as_a_page)
    try:
        gallery.goto(web_url(server, f"/?album={album}"))
        gallery.wait_for_selector("#live[data-state=live]")
        gallery.evaluate("window.__notReloaded = true")
        uploads = context.new_page()
        uploads.goto(web_url(server, f"/upload?album={album}"))
        drop_files(uploads, "#drop", photos)
        gallery.wait_for_function(
            "() => document.querySelectorAll('.card[data-status=ready] img.photo.loaded')"
            ".length === 3",
            timeout=60_000,
        )
        assert gallery.evaluate("window.__notReloaded") is True, "the gallery must update live"
        assert len(asked) >= 3 and all("cursor=" in url for url in asked[1:]), asked
    finally:
        context.close()
