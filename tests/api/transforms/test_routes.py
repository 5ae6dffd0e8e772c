"""Transform URLs through a real ``bakusoku up``: as a page uses them and as an attacker tries."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image, ImageChops, ImageStat

from bakusoku.api.routes.transforms import MAX_AGE_SECONDS
from bakusoku.api.transforms.signing import KEY_FILE_NAME, sign, signed_path
from bakusoku.api.transforms.srcset import FRAME_WIDTHS, GRID_WIDTHS
from bakusoku.imaging.transform import avif_supported
from tests.auth.conftest import bearer, settled, upload
from tests.e2e.server import RunningServer
from tests.imaging.photos import camera_jpeg

pytestmark = pytest.mark.integration

MISSING = "00000000-0000-4000-8000-000000000000"
BROWSER_ACCEPT = "image/avif,image/webp,image/apng,image/*,*/*;q=0.8"


@dataclass
class Site:
    server: RunningServer
    a_admin: str  # service school-a, every album
    a_trips_viewer: str  # school-a, album trips only
    b_admin: str  # service school-b
    photo: dict[str, Any]  # a ready 4000 x 3000 photo of school-a/sports

    @property
    def api(self) -> str:
        return self.server.api

    @property
    def photo_id(self) -> str:
        return str(self.photo["photo_id"])

    def signed(self, options: str, key: str | None = None) -> httpx.Response:
        return httpx.get(
            f"{self.api}/v1/photos/{self.photo_id}/transform",
            params={"options": options},
            headers=bearer(key or self.a_admin),
        )

    def url(self, options: str) -> str:
        response = self.signed(options)
        assert response.status_code == 200, response.text
        return str(response.json()["url"])

    def signing_key(self) -> bytes:
        return (self.server.data_dir / KEY_FILE_NAME).read_text().strip().encode()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    server = RunningServer(
        tmp_path_factory.mktemp("transforms") / "data",
        extra_env={"BAKUSOKU_MARK_DUPLICATES": "0", "BAKUSOKU_TRANSFORM_CACHE_MB": "1"},
    ).start()
    try:
        a_admin = server.create_key("school-a", role="admin")
        photo_id = upload(server.api, a_admin, camera_jpeg((4000, 3000), gps=True))
        site = Site(
            server=server,
            a_admin=a_admin,
            a_trips_viewer=server.create_key("school-a", role="viewer", albums=("trips",)),
            b_admin=server.create_key("school-b", role="admin"),
            photo=settled(server.api, a_admin, photo_id),
        )
        assert site.photo["status"] == "ready", site.photo
        yield site
    finally:
        assert server.stop() == 0, server.log()


def picture(response: httpx.Response) -> Image.Image:
    im = Image.open(io.BytesIO(response.content))
    im.load()
    return im


def test_a_signed_url_answers_the_picture_without_an_api_key(site: Site) -> None:
    url = site.url("w=400,f=auto")
    assert url.startswith(f"{site.api}/img/")
    response = httpx.get(url, headers={"Accept": "image/webp,*/*"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/webp"
    im = picture(response)
    assert im.format == "WEBP" and im.size == (400, 300)
    assert not im.getexif()  # the upload's GPS and camera never reach a transform
    assert response.headers["cache-control"] == f"public, max-age={MAX_AGE_SECONDS}, immutable"
    assert MAX_AGE_SECONDS >= 365 * 24 * 3600  # a year: as long as caches keep anything
    assert response.headers["vary"] == "Accept"
    assert response.headers["etag"].startswith('"')
    assert response.headers["x-content-type-options"] == "nosniff"


def test_photo_views_carry_the_srcset_candidates_pages_choose_from(site: Site) -> None:
    shown = httpx.get(f"{site.api}/v1/photos/{site.photo_id}", headers=bearer(site.a_admin))
    images = shown.json()["images"]
    assert [c["width"] for c in images["grid"]] == list(GRID_WIDTHS)  # 3000 px short side: all
    assert [c["width"] for c in images["frame"]] == list(FRAME_WIDTHS)
    for kind, candidate, height in (
        ("grid", images["grid"][1], images["grid"][1]["width"]),  # square cells
        ("frame", images["frame"][0], images["frame"][0]["width"] * 3 // 4),  # the 4:3 frame
    ):
        assert candidate["url"].startswith(f"{site.api}/img/"), kind
        response = httpx.get(candidate["url"])  # no key: the signature is the permission
        assert response.status_code == 200, (kind, response.text)
        assert picture(response).size == (candidate["width"], height), kind
    listed = httpx.get(f"{site.api}/v1/photos", headers=bearer(site.a_admin)).json()["items"]
    assert [p["images"] for p in listed if p["photo_id"] == site.photo_id] == [images]


def test_revalidation_answers_304_and_repeats_come_from_the_cache(site: Site) -> None:
    url = site.url("w=320,h=320,fit=cover,f=jpeg")
    first = httpx.get(url)
    assert first.status_code == 200 and picture(first).size == (320, 320)
    assert "vary" not in first.headers  # the format does not follow Accept
    etag = first.headers["etag"]
    assert "pixels;dur=" in first.headers["server-timing"]  # made for this request
    cached = sorted((site.server.data_dir / "transform-cache").iterdir())
    assert cached, "the output was not cached"
    again = httpx.get(url)
    assert again.content == first.content and again.headers["etag"] == etag
    assert "server-timing" not in again.headers  # served from the cache, nothing made
    for sent in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        revalidated = httpx.get(url, headers={"If-None-Match": sent})
        assert revalidated.status_code == 304 and revalidated.content == b""
        assert revalidated.headers["etag"] == etag
    assert httpx.get(url, headers={"If-None-Match": '"other"'}).status_code == 200


def test_auto_format_follows_accept_with_an_etag_each(site: Site) -> None:
    url = site.url("p=thumb")
    jpeg = httpx.get(url, headers={"Accept": "*/*"})
    webp = httpx.get(url, headers={"Accept": "image/webp,*/*"})
    best = httpx.get(url, headers={"Accept": BROWSER_ACCEPT})
    assert jpeg.headers["content-type"] == "image/jpeg"
    assert webp.headers["content-type"] == "image/webp"
    expected = "image/avif" if avif_supported() else "image/webp"
    assert best.headers["content-type"] == expected
    assert picture(best).size == (400, 300)
    assert len({jpeg.headers["etag"], webp.headers["etag"], best.headers["etag"]}) == (
        3 if avif_supported() else 2
    )


def test_a_format_the_client_refuses_with_q_0_is_never_sent(site: Site) -> None:
    url = site.url("p=thumb")
    refused = httpx.get(url, headers={"Accept": "image/avif;q=0, image/webp;q=0, */*;q=0.8"})
    assert refused.status_code == 200 and refused.headers["content-type"] == "image/jpeg"
    assert picture(refused).format == "JPEG"
    no_avif = httpx.get(url, headers={"Accept": "image/avif;q=0, image/webp, */*"})
    assert no_avif.headers["content-type"] == "image/webp"


def test_head_answers_what_get_would_without_the_picture(site: Site) -> None:
    # Caches in front and link checkers ask with HEAD: the same status and headers as GET.
    url = site.url("w=240,f=webp")
    got = httpx.get(url)
    head = httpx.head(url)
    assert head.status_code == 200 and head.content == b""
    for name in ("etag", "content-type", "content-length", "cache-control"):
        assert head.headers[name] == got.headers[name], name
    assert httpx.head(url, headers={"If-None-Match": got.headers["etag"]}).status_code == 304
    unsigned = httpx.head(url.replace("/img/", "/img/x"))
    assert unsigned.status_code == 403 and unsigned.content == b""


def test_dpr_presets_and_the_print_crop(site: Site) -> None:
    assert picture(httpx.get(site.url("w=200,dpr=2,f=webp"))).size == (400, 300)
    assert picture(httpx.get(site.url("p=square,f=jpeg"))).size == (400, 400)
    print_l = picture(httpx.get(site.url("p=print-l")))
    assert print_l.format == "JPEG" and print_l.size == (890, 1270)


def test_unsigned_or_tampered_urls_get_403_before_anything_else(site: Site) -> None:
    url = site.url("w=400,f=webp")
    prefix, signature, options, photo_id = url.rsplit("/", 3)
    another_id = photo_id[:-1] + ("1" if photo_id[-1] == "0" else "0")
    tries = [
        f"{prefix}/{signature}/w=1600,f=webp/{photo_id}",  # larger than signed
        f"{prefix}/{signature}/{options}/{another_id}",  # another photo
        f"{prefix}/{'A' * len(signature)}/{options}/{photo_id}",  # a made-up signature
        f"{prefix}/-/{options}/{photo_id}",
        f"{prefix}/{signature}/{options}/{MISSING}",  # no lookup before the signature check
        f"{prefix}/{signature}/w=401/{photo_id}",  # bad options are not even parsed
    ]
    for tried in tries:
        response = httpx.get(tried)
        assert response.status_code == 403, (tried, response.text)
        assert response.headers["content-type"] == "application/json"
        assert response.json()["error"]["code"] == "transform.bad_signature"
        assert (
            "cache-control" not in response.headers
            or "immutable" not in response.headers["cache-control"]
        )


def test_a_trailing_slash_is_a_changed_url_never_a_redirect_to_the_host_sent(site: Site) -> None:
    # A redirect would be built from the request's Host header: anything that caches by path
    # in front of us would then send every client to that host.
    url = site.url("w=400,f=jpeg")
    for changed in (url + "/", url.replace("/img/", "/img//")):
        response = httpx.get(changed, headers={"Host": "evil.example"})
        assert response.status_code in (403, 404), (changed, response.status_code)
        assert "location" not in response.headers
        assert response.headers["content-type"] == "application/json"
        assert "error" in response.json()


def test_a_photo_whose_files_are_gone_answers_as_a_missing_one(site: Site) -> None:
    # A delete removes the objects first and the row last: between the two (or after a delete
    # that stopped half-way) the photo's transforms answer as a deleted photo's will.
    photo_id = upload(site.api, site.a_admin, camera_jpeg((1200, 900), gps=False))
    photo = settled(site.api, site.a_admin, photo_id)
    assert photo["status"] == "ready", photo
    objects = site.server.data_dir / "objects"
    for path in [p for p in objects.rglob("*") if photo_id in str(p) and p.is_file()]:
        path.unlink()
    key = site.signing_key()
    gone = httpx.get(site.api + signed_path(key, "w=360,f=jpeg", photo_id))
    missing = httpx.get(site.api + signed_path(key, "w=360,f=jpeg", MISSING))
    assert gone.status_code == 404, gone.text
    assert gone.json()["error"]["code"] == "photo.not_found"
    assert gone.content == missing.content.replace(MISSING.encode(), photo_id.encode())


def test_options_out_of_bounds_are_refused_even_when_signed(site: Site) -> None:
    for options in ("w=401", "w=8000", "w=4000,h=4000,dpr=3", "w=400,q=100", "p=poster"):
        asked = site.signed(options)
        assert asked.status_code == 400, asked.text
        assert asked.json()["error"]["code"] == "transform.bad_options"
        # Signed with the server's own key all the same: the server still checks the bounds.
        forged = httpx.get(site.api + signed_path(site.signing_key(), options, site.photo_id))
        assert forged.status_code == 400, forged.text
        assert forged.json()["error"]["field"] == "options"


def test_another_services_photo_answers_exactly_as_a_missing_one(site: Site) -> None:
    for key in (site.b_admin, site.a_trips_viewer):
        theirs = site.signed("w=400", key)
        missing = httpx.get(
            f"{site.api}/v1/photos/{MISSING}/transform",
            params={"options": "w=400"},
            headers=bearer(key),
        )
        assert theirs.status_code == missing.status_code == 404
        assert theirs.json() == {
            "error": {
                **missing.json()["error"],
                "message": missing.json()["error"]["message"].replace(MISSING, site.photo_id),
            }
        }
        assert "url" not in theirs.text and "/img/" not in theirs.text
    # A signed URL of a photo that does not exist answers the same 404 as the API does.
    gone = httpx.get(site.api + signed_path(site.signing_key(), "w=400", MISSING))
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "photo.not_found"


def test_signing_needs_options_for_a_visible_photo(site: Site) -> None:
    url = f"{site.api}/v1/photos/{site.photo_id}/transform"
    for params in ({}, {"options": ""}):
        response = httpx.get(url, params=params, headers=bearer(site.a_admin))
        assert response.status_code == 400, response.text
        assert response.json()["error"]["field"] == "options"
    # The photo is looked up first: another service's photo is missing whatever the options.
    assert httpx.get(url, headers=bearer(site.b_admin)).status_code == 404


def test_signing_needs_an_api_key(site: Site) -> None:
    response = httpx.get(
        f"{site.api}/v1/photos/{site.photo_id}/transform", params={"options": "w=400"}
    )
    assert response.status_code == 401


def test_the_signing_key_is_private_and_only_the_server_signs(site: Site) -> None:
    key_file: Path = site.server.data_dir / KEY_FILE_NAME
    assert key_file.stat().st_mode & 0o777 == 0o600
    url = site.url("w=400,f=jpeg")
    assert url.rsplit("/", 3)[1] == sign(site.signing_key(), "w=400,f=jpeg", site.photo_id)
    assert sign(b"a guess" * 5, "w=400,f=jpeg", site.photo_id) not in url


def test_the_proof_preset_is_a_small_watermarked_preview(site: Site) -> None:
    proof = httpx.get(site.url("p=proof,f=jpeg"))
    plain = httpx.get(site.url("w=1000,h=1000,q=75,f=jpeg"))
    assert proof.status_code == plain.status_code == 200
    marked, clean = picture(proof), picture(plain)
    assert marked.size == clean.size == (1000, 750)
    difference = ImageChops.difference(marked.convert("RGB"), clean.convert("RGB"))
    changed = ImageStat.Stat(difference.convert("L").point(lambda v: 255 * (v > 8))).mean[0] / 255
    assert 0.03 < changed < 0.6
    assert proof.headers["etag"] != plain.headers["etag"]
    assert site.signed("p=proof,w=2000").status_code == 400
