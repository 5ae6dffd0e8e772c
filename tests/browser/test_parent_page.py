"""The parents' page on a phone: staff share an album, a parent types the code, browses the
watermarked previews, gives a photo of their child, and leaves; a withdrawn code signs them out.

Debian's Chromium through Playwright, with a phone's viewport and touch, against ``bakusoku up``.
Each step's screenshot path is printed.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.browser.conftest import REPORT, web_url
from tests.browser.fixtures import jpeg_bytes, landscape
from tests.e2e.server import RunningServer
from tests.faces.conftest import needs_models
from tests.faces.conftest import photo as face_photo

pytestmark = pytest.mark.integration

ALBUM = "class-3b"
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
    "user_agent": "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like"
    " Gecko) Chrome/120.0 Mobile Safari/537.36",
}


def _upload_album(server: RunningServer, key: str, count: int) -> list[str]:
    headers = {"Authorization": f"Bearer {key}"}
    ids = []
    for i in range(count):
        data = jpeg_bytes(landscape(40 + i, 1200, 900))
        grant = httpx.post(
            f"{server.api}/v1/uploads",
            headers=headers,
            json={
                "filename": f"p{i}.jpg",
                "content_type": "image/jpeg",
                "size": len(data),
                "album": ALBUM,
            },
        ).json()
        stored = httpx.put(grant["upload"]["url"], content=data, headers=grant["upload"]["headers"])
        assert stored.status_code == 200
        ids.append(grant["photo_id"])
    deadline = time.monotonic() + 120
    for photo_id in ids:
        while (
            httpx.get(f"{server.api}/v1/photos/{photo_id}", headers=headers).json()["status"]
            != "ready"
        ):
            assert time.monotonic() < deadline, "photos did not become ready"
            time.sleep(0.2)
    return ids


def _shot(page: Any, folder: Path, name: str) -> Path:
    path = folder / f"parent-{name}.png"
    page.screenshot(path=str(path), full_page=False)
    print(f"screenshot: {path}")
    REPORT[f"parent page: {name}"] = str(path)
    return path


def _images_loaded(page: Any, selector: str) -> int:
    return int(
        page.evaluate(
            "(s) => [...document.querySelectorAll(s)].filter((i) => i.complete && i.naturalWidth > 0).length",
            selector,
        )
    )


def test_a_parent_gets_in_with_a_code_and_browses_on_a_phone(
    server: RunningServer, playwright_browser: Any, screenshots: Path, tmp_path: Path
) -> None:
    staff_key_url = web_url(server, f"/?album={ALBUM}")
    key = staff_key_url.split("#key=", 1)[1]
    ids = _upload_album(server, key, 6)

    # Staff: the gallery's share panel makes a code for the album.
    staff = playwright_browser.new_context(viewport={"width": 1280, "height": 900})
    gallery = staff.new_page()
    gallery.on("dialog", lambda dialog: dialog.accept())
    gallery.goto(staff_key_url)
    gallery.click("#share summary")
    gallery.select_option("#share-expires", "7d")
    gallery.fill("#share-note", "class 3B parents")
    gallery.click("#share-create")
    gallery.wait_for_selector("#share-code strong.code")
    code = gallery.text_content("#share-code strong.code") or ""
    assert len(code) == 14, code
    gallery.wait_for_selector(f'#codes tr[data-code="{code[:4]}"][data-state="active"]')
    _shot(gallery, screenshots, "1-staff-shares-album")

    # A parent on a phone: a wrong code is refused, the right one opens the album.
    phone = playwright_browser.new_context(**PHONE)
    page = phone.new_page()
    page.goto(server.api + "/p/")
    page.wait_for_selector("#enter:not([hidden])")
    page.fill("#code", "ABCD-EFGH-JKMN")
    page.click("#open")
    page.wait_for_function("() => document.getElementById('code-error').textContent.length > 0")
    assert "does not open an album" in (page.text_content("#code-error") or "")
    _shot(page, screenshots, "2-wrong-code")
    page.fill("#code", code.lower().replace("-", " "))
    _shot(page, screenshots, "3-code-typed")
    page.click("#open")
    page.wait_for_selector("#album:not([hidden])")
    assert page.text_content("#album-name") == ALBUM
    page.wait_for_function(f"() => document.querySelectorAll('#photos img').length === {len(ids)}")
    page.wait_for_function(
        f"() => [...document.querySelectorAll('#photos img')].filter(i => i.complete && i.naturalWidth > 0).length === {len(ids)}",
        timeout=60_000,
    )
    sources = page.eval_on_selector_all(
        "#photos img", "imgs => imgs.map(i => i.getAttribute('src'))"
    )
    assert all(src.startswith("/img/") and "p=proof" in src for src in sources), sources
    # the page cannot read its session: the cookie is HttpOnly
    assert page.evaluate("document.cookie") == ""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page is wider than the phone: {width}px"
    _shot(page, screenshots, "4-album")

    # A tap shows the large watermarked preview.
    page.click("#photos li:first-child button")
    page.wait_for_function(
        "() => document.getElementById('viewer').open && document.getElementById('viewer-img').naturalWidth > 0",
        timeout=60_000,
    )
    assert "p=proof" in (page.get_attribute("#viewer-img", "src") or "")
    _shot(page, screenshots, "5-preview")
    page.click("#viewer .close")

    # A photo of the child, chosen as from the phone's camera roll.
    reference = tmp_path / "my-child.jpg"
    reference.write_bytes(jpeg_bytes(landscape(7, 900, 1200)))
    page.set_input_files("#add-ref", str(reference))
    page.wait_for_selector("#refs img")
    assert _images_loaded(page, "#refs img") <= 1
    session = page.evaluate("fetch('/v1/parent/session').then(r => r.json())")
    assert session["references"] == 1
    _shot(page, screenshots, "6-reference-given")

    # Staff withdraw the code: the parent's next step finds the visit over.
    gallery.click(f'#codes tr[data-code="{code[:4]}"] button.revoke')
    gallery.wait_for_selector(f'#codes tr[data-code="{code[:4]}"][data-state="revoked"]')
    _shot(gallery, screenshots, "7-staff-withdraws-code")
    page.click("#more") if page.is_visible("#more") else page.reload()
    page.wait_for_selector("#enter:not([hidden])")
    assert "ended" in (page.text_content("#code-error") or "") or page.is_visible("#code")
    _shot(page, screenshots, "8-signed-out")
    phone.close()
    staff.close()


@needs_models
def test_a_parent_finds_their_child_confirms_and_rejects_on_a_phone(
    server: RunningServer, playwright_browser: Any, screenshots: Path, tmp_path: Path
) -> None:
    key = server.create_key("school", role="admin")
    headers = {"Authorization": f"Bearer {key}"}
    ids = {}
    for name in ("obama", "obama2", "biden"):
        data = face_photo(name)
        grant = httpx.post(
            f"{server.api}/v1/uploads",
            headers=headers,
            json={
                "filename": f"{name}.jpg",
                "content_type": "image/jpeg",
                "size": len(data),
                "album": "faces-1c",
            },
        ).json()
        assert (
            httpx.put(
                grant["upload"]["url"], content=data, headers=grant["upload"]["headers"]
            ).status_code
            == 200
        )
        ids[name] = grant["photo_id"]
    deadline = time.monotonic() + 180
    for photo_id in ids.values():
        while (
            httpx.get(f"{server.api}/v1/photos/{photo_id}/faces", headers=headers)
            .json()
            .get("face_index")
            != "indexed"
        ):
            assert time.monotonic() < deadline, "faces were not indexed"
            time.sleep(0.3)
    code = httpx.post(f"{server.api}/v1/albums/faces-1c/codes", json={}, headers=headers).json()[
        "code"
    ]

    phone = playwright_browser.new_context(**PHONE)
    page = phone.new_page()
    page.goto(f"{server.api}/p/#code={code}")  # a link that carries the code
    page.click("#open")
    page.wait_for_selector("#album:not([hidden])")
    reference = tmp_path / "IMG_2041.jpg"
    reference.write_bytes(face_photo("obama3"))
    started = time.monotonic()
    page.set_input_files("#add-ref", str(reference))
    page.wait_for_selector("#results li.result")
    shown = time.monotonic() - started
    page.wait_for_function(
        "() => [...document.querySelectorAll('#results img')].every(i => i.complete && i.naturalWidth > 0)"
    )
    results = page.eval_on_selector_all("#results li", "items => items.map(i => i.dataset.photo)")
    assert sorted(results) == sorted([ids["obama"], ids["obama2"]]), results
    took = page.get_attribute("#search-status", "data-took")
    print(
        f"reference photo chosen to results shown: {shown:.2f} s (search {took} ms on the server)"
    )
    REPORT["parent search: choose photo to results shown"] = f"{shown:.2f} s (server {took} ms)"
    _shot(page, screenshots, "9-results")

    first, second = results
    page.click(f'#results li[data-photo="{first}"] button.yes')
    page.wait_for_selector(f'#results li[data-photo="{first}"][data-verdict="confirmed"]')
    _shot(page, screenshots, "10-confirmed")
    page.click(f'#results li[data-photo="{second}"] button.no')
    page.wait_for_selector(f'#results li[data-photo="{second}"]', state="detached")
    remaining = page.eval_on_selector_all("#results li", "items => items.map(i => i.dataset.photo)")
    assert remaining == [first]
    _shot(page, screenshots, "11-rejected-one-left")
    page.click("#leave")
    page.wait_for_selector("#enter:not([hidden])")
    phone.close()
