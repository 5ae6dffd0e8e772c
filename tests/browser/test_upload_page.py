"""The upload page's edge cases in a real browser: refusals, folders, expired links, 500 files."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tests.browser.conftest import REPORT, web_url
from tests.browser.fixtures import jpeg_bytes, landscape
from tests.e2e.server import RunningServer

pytestmark = pytest.mark.integration

MAX_BYTES = 400_000


@pytest.fixture(scope="module")
def strict_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """A server with a small size limit and upload links that expire after two seconds."""
    env = {
        "BAKUSOKU_MAX_UPLOAD_BYTES": str(MAX_BYTES),
        "BAKUSOKU_PRESIGN_EXPIRY_SECONDS": "2",
    }
    running = RunningServer(tmp_path_factory.mktemp("strict") / "data", extra_env=env).start()
    yield running
    assert running.stop() == 0, running.log()


class StoreTraffic:
    """Presigns and PUTs of one page: which file each is for, and faults to inject per file."""

    def __init__(self, page: Any, server: RunningServer) -> None:
        self.presigned: list[str] = []  # file names, in order
        self.puts: list[str] = []
        self.by_photo: dict[str, str] = {}
        self.delay_first_put: dict[str, float] = {}
        self.abort_puts: dict[str, int] = {}
        page.route(f"{server.api}/v1/uploads", self._presign)
        page.route(re.compile(rf"^http://127\.0\.0\.1:{server.store_port}/"), self._store)

    def _presign(self, route: Any) -> None:
        name = json.loads(route.request.post_data or "{}").get("filename", "?")
        self.presigned.append(name)
        response = route.fetch()
        if response.status == 201:
            self.by_photo[response.json()["photo_id"]] = name
        route.fulfill(response=response)

    def _store(self, route: Any) -> None:
        if route.request.method != "PUT":
            route.continue_()
            return
        photo_id = route.request.url.split("?")[0].rsplit("/", 1)[-1].split(".")[0]
        name = self.by_photo.get(photo_id, "?")
        first = name not in self.puts
        self.puts.append(name)
        if self.abort_puts.get(name, 0) > 0:
            self.abort_puts[name] -= 1
            route.abort("connectionreset")
            return
        if first and name in self.delay_first_put:
            time.sleep(self.delay_first_put[name])  # outlives the link: the store says it expired
        route.continue_()


def small_jpeg(index: int) -> bytes:
    return jpeg_bytes(landscape(index, 640, 480))


def test_refusals_folders_expired_links_and_retry(
    strict_server: RunningServer, playwright_browser: Any, screenshots: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "trip"
    (folder / "day-2").mkdir(parents=True)
    (folder / "a.jpg").write_bytes(small_jpeg(1))
    (folder / "b.jpg").write_bytes(small_jpeg(2))
    (folder / "day-2" / "c.jpg").write_bytes(small_jpeg(3))
    (folder / "notes.txt").write_text("not a photo\n")
    (folder / "empty.jpg").write_bytes(b"")
    noisy = Image.effect_noise((900, 900), 120).convert("RGB")
    (folder / "big.jpg").write_bytes(jpeg_bytes(noisy))
    assert (folder / "big.jpg").stat().st_size > MAX_BYTES
    (folder / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")

    context = playwright_browser.new_context(viewport={"width": 1100, "height": 900})
    page = context.new_page()
    traffic = StoreTraffic(page, strict_server)
    traffic.delay_first_put["a.jpg"] = 3.5
    traffic.abort_puts["b.jpg"] = 3  # one try and two automatic retries fail
    try:
        page.goto(web_url(strict_server, "/upload?album=trip"))
        page.set_input_files("#folder", str(folder))

        refused = page.locator("#refused")
        refused.wait_for()
        text = refused.text_content() or ""
        for name in ("notes.txt", "empty.jpg", "big.jpg"):
            assert name in text, text
        assert "over the" in text and "empty" in text and "not a photo type" in text
        assert ".DS_Store" not in text

        b_row = page.locator("#queue li", has_text="b.jpg")
        b_row.locator("button", has_text="Retry").wait_for(timeout=30_000)
        assert b_row.get_attribute("data-state") == "failed"
        page.screenshot(path=str(screenshots / "7-upload-refused-and-failed.png"), full_page=True)
        b_row.locator("button", has_text="Retry").click()

        page.wait_for_function(
            "() => document.querySelectorAll('#queue li[data-state=done]').length === 3",
            timeout=30_000,
        )
        assert page.text_content("#overall-percent") == "100%"
        names = page.locator("#queue .name").all_text_contents()
        assert sorted(names) == ["trip/a.jpg", "trip/b.jpg", "trip/day-2/c.jpg"], names
        # Refused files never reached the API, let alone the store.
        assert set(traffic.presigned) == {"a.jpg", "b.jpg", "c.jpg"}, traffic.presigned
        # a.jpg's first link expired while its PUT was held: it got a fresh one by itself.
        assert traffic.presigned.count("a.jpg") == 2, traffic.presigned
        assert traffic.puts.count("b.jpg") == 4, traffic.puts
    finally:
        context.close()


GENERATE_AND_DROP_JS = """
async (count) => {
  const transfer = new DataTransfer();
  const bytes = new Uint8Array(2048).fill(7);
  for (let i = 0; i < count; i++) {
    const name = "IMG_" + String(i).padStart(4, "0") + ".jpg";
    transfer.items.add(new File([bytes], name, { type: "image/jpeg" }));
  }
  let longest = 0;
  let last = performance.now();
  let watching = true;
  const tick = (now) => {
    longest = Math.max(longest, now - last);
    last = now;
    if (watching) requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
  await new Promise((resolve) => setTimeout(resolve, 100));
  const start = performance.now();
  document.getElementById("drop").dispatchEvent(
    new DragEvent("drop", { dataTransfer: transfer, bubbles: true, cancelable: true }),
  );
  while (document.querySelectorAll("#queue li").length < count) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  await new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));
  const shown = performance.now() - start;
  // Scroll through the whole list while it is full, as a person would.
  const list = document.getElementById("queue");
  for (let y = 0; y < list.scrollHeight; y += 400) {
    list.scrollTop = y;
    await new Promise((resolve) => requestAnimationFrame(resolve));
  }
  watching = false;
  return { shown, longest };
}
"""


def test_five_hundred_queued_files_keep_the_page_responsive(
    strict_server: RunningServer, playwright_browser: Any, screenshots: Path
) -> None:
    context = playwright_browser.new_context(viewport={"width": 1100, "height": 900})
    page = context.new_page()
    presigns: list[str] = []
    page.on("request", lambda r: presigns.append(r.url) if "/v1/uploads" in r.url else None)
    try:
        page.goto(web_url(strict_server, "/upload?album=big-event"))
        page.click("#pause")
        assert page.get_attribute("#pause", "aria-pressed") == "true"
        result = page.evaluate(GENERATE_AND_DROP_JS, 500)
        assert page.locator("#queue li[data-state=queued]").count() == 500
        assert page.text_content("#stat-files") == "0 of 500"
        assert result["shown"] < 1500, result
        assert result["longest"] < 1000, result
        REPORT["500 files queued"] = (
            f"listed in {result['shown']:.0f} ms, longest frame while adding and scrolling "
            f"{result['longest']:.0f} ms"
        )
        # Still responsive: typing and keyboard focus work at once.
        started = time.monotonic()
        page.fill("#concurrency", "3")
        page.keyboard.press("Tab")
        assert time.monotonic() - started < 2
        page.screenshot(path=str(screenshots / "8-upload-500-queued.png"))
        page.click("#cancel-all")
        page.wait_for_function(
            "() => document.querySelectorAll('#queue li[data-state=cancelled]').length === 500"
        )
        assert presigns == [], "paused: nothing may be sent"
    finally:
        context.close()
