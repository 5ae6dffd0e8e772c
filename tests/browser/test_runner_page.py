"""The runner page on a phone-sized Chromium: bib + surname (a wrong surname refused), that
runner's watermarked photos, an e-mail subscription whose message's link opens the gallery
directly, and erasure; screenshots of each step."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import REPORT
from tests.races.race_day import SERVICE, RaceDay, start_race_day, stop_race_day

PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RaceDay]:
    started = start_race_day(tmp_path_factory.mktemp("runner-page") / "data")
    try:
        yield started.set_up({"1234": 6, "77": 1})
    finally:
        stop_race_day(started)


def _shot(page: Any, screenshots: Path, name: str) -> str:
    path = screenshots / name
    page.screenshot(path=str(path), full_page=True)
    REPORT[f"runner page: {name}"] = str(path)
    print(f"screenshot: {path}")
    return str(path)


def _wait_text(page: Any, selector: str, needle: str, timeout: float = 20) -> None:
    # Polled from here: the page's CSP (script-src 'self') refuses wait_for_function's eval.
    deadline = time.monotonic() + timeout
    while needle not in page.inner_text(selector):
        assert time.monotonic() < deadline, f"{selector} never said {needle!r}"
        time.sleep(0.1)


def _images_loaded(page: Any) -> int:
    return int(
        page.evaluate(
            "[...document.querySelectorAll('#photos img')]"
            ".filter(i => i.complete && i.naturalWidth > 0).length"
        )
    )


def test_a_runner_finds_their_photos_on_a_phone(
    day: RaceDay, playwright_browser: Any, screenshots: Path
) -> None:
    day.read_bibs()
    context = playwright_browser.new_context(
        viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(f"{day.api}/runner?service={SERVICE}&album={day.album}")
        _shot(page, screenshots, "runner-1-sign-in.png")
        page.fill("#bib", "1234")
        page.fill("#surname", "佐藤")
        page.click("#sign-in-button")
        page.wait_for_selector("#sign-in-error:not([hidden])")
        assert "no runner with that bib and surname" in page.inner_text("#sign-in-error")
        assert page.is_hidden("#runner")
        _shot(page, screenshots, "runner-2-wrong-surname.png")

        page.fill("#surname", "山田")
        page.click("#sign-in-button")
        page.wait_for_selector("#runner:not([hidden])")
        deadline = time.monotonic() + 60
        while _images_loaded(page) < 6 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _images_loaded(page) == 6
        assert page.inner_text("#runner-bib") == "1234"
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"]  # nothing wider than the phone
        _shot(page, screenshots, "runner-3-gallery.png")

        before = len(day.smtp.messages)
        page.fill("#email", "yamada@example.com")
        page.click("#email-button")
        _wait_text(page, "#subscribed", "email")
        _shot(page, screenshots, "runner-4-subscribed.png")
    finally:
        context.close()
    assert errors == []

    engine = day.engine()
    try:
        from bakusoku.races.notifications import notify_ready

        notify_ready(engine, day.race, "1234", "certificate")
    finally:
        engine.dispose()
    deadline = time.monotonic() + 20
    while len(day.smtp.messages) == before and time.monotonic() < deadline:
        time.sleep(0.1)
    (mail,) = day.smtp.messages[before:]
    link = next(w for w in mail.get_payload(decode=True).decode().split() if "/runner#" in w)

    context = playwright_browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    try:
        page.goto(link)
        page.wait_for_selector("#runner:not([hidden])")
        assert "#" not in page.url  # the token does not stay in the address bar
        assert page.inner_text("#runner-bib") == "1234"
        _shot(page, screenshots, "runner-5-opened-from-link.png")
        page.on("dialog", lambda dialog: dialog.accept())
        page.click("#erase-button")
        _wait_text(page, "#privacy-status", "Erased 6")
        assert page.eval_on_selector_all("#photos img", "els => els.length") == 0
        _shot(page, screenshots, "runner-6-erased.png")
    finally:
        context.close()
