"""The srcset candidates of a photo view (no I/O): which widths, which options, when."""

from __future__ import annotations

from typing import Any

from bakusoku.api.transforms.options import parse_options
from bakusoku.api.transforms.srcset import FRAME_WIDTHS, GRID_WIDTHS, image_sets

PHOTO = "3f2a9c1e-0000-4000-8000-000000000001"


def sign(options: str, photo_id: str) -> str:
    return f"https://edge.example/img/sig/{options}/{photo_id}"


def photo(width: int, height: int, status: str = "ready") -> dict[str, Any]:
    return {"photo_id": PHOTO, "status": status, "width": width, "height": height}


def test_every_width_of_a_large_photo_with_options_the_grammar_accepts() -> None:
    sets = image_sets(photo(4000, 3000), sign)
    assert sets is not None
    assert [c["width"] for c in sets["grid"]] == list(GRID_WIDTHS)
    assert [c["width"] for c in sets["frame"]] == list(FRAME_WIDTHS)
    for candidate in (*sets["grid"], *sets["frame"]):
        options = candidate["url"].split("/")[-2]
        parsed = parse_options(options)  # raises on anything the route would refuse
        assert parsed.width == candidate["width"]
    grid = parse_options(sets["grid"][0]["url"].split("/")[-2])
    assert (grid.height, grid.fit, grid.gravity, grid.format) == (160, "cover", "face", "auto")


def test_widths_past_the_photo_are_left_out_but_one_always_stays() -> None:
    sets = image_sets(photo(900, 1200), sign)
    assert sets is not None
    assert [c["width"] for c in sets["grid"]] == [160, 240, 320, 480, 640]
    assert [c["width"] for c in sets["frame"]] == [640]
    tiny = image_sets(photo(300, 420), sign)
    assert tiny is not None
    assert [c["width"] for c in tiny["grid"]] == [160, 240]
    assert [c["width"] for c in tiny["frame"]] == [640]  # the smallest, served at 300 px


def test_no_candidates_until_the_photo_is_ready() -> None:
    for status in ("pending", "processing", "failed", "duplicate"):
        assert image_sets(photo(4000, 3000, status), sign) is None
    assert image_sets(photo(0, 0), sign) is None
