"""Browser fixtures: Debian's Chromium driven by Playwright, a real ``bakusoku up``, screenshots."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.server import RunningServer

CHROMIUM = os.environ.get("BAKUSOKU_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]

# What the tests measured, printed at the end of the run.
REPORT: dict[str, str] = {}


def _unavailable(reason: str) -> None:
    # CI installs both (see .ci/run): there a missing browser is a failure, not a skip.
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


# Module scope: the sync API runs an event loop in this thread while it is open, which would
# break later tests that start their own (asyncio.run, Mangum).
@pytest.fixture(scope="module")
def playwright_browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed: pip install -e '.[test]'")
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        _unavailable(f"no Chromium at {CHROMIUM}: apt-get install -y chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="bakusoku-screenshots-"))
    REPORT["screenshots"] = str(folder)
    return folder


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = RunningServer(tmp_path_factory.mktemp("browser") / "data", workers=4).start()
    yield running
    assert running.stop() == 0, running.log()


_KEYS: dict[str, str] = {}


def web_url(server: RunningServer, path: str) -> str:
    """``path`` on ``server`` with an API key in the fragment, as a person's link would carry it.

    The key (service ``school``, role admin, so re-drive works) is made once per server; the page
    keeps it in this tab's sessionStorage and sends it as ``Authorization: Bearer``.
    """
    if server.api not in _KEYS:
        _KEYS[server.api] = server.create_key("school", role="admin")
    url = path if path.startswith("http") else server.api + path
    return f"{url.split('#')[0]}#key={_KEYS[server.api]}"


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if REPORT:
        terminalreporter.section("web app")
        for key, value in REPORT.items():
            terminalreporter.write_line(f"{key}: {value}")
