"""The imaging settings of a deployment: extra print aspects, browsing set, GPS policy."""

import dataclasses

import pytest

from bakusoku.config import ConfigError, Settings
from bakusoku.imaging import probe
from bakusoku.pipeline.handlers.imaging_settings import (
    imaging_options,
    parse_browsing,
    parse_extra_prints,
)
from bakusoku.pipeline.handlers.store_photo import photo_details
from tests.imaging.test_metadata import full_camera_jpeg


def test_defaults() -> None:
    options = imaging_options(Settings())
    assert [s.name for s in options.print_specs] == ["print"]
    names = [s.name for s in options.browsing_specs]
    assert names == ["preview"]  # pages ask /img for every other size and format
    assert [s.long_edge for s in options.browsing_specs] == [1600]
    assert options.max_pixels == 100_000_000
    assert options.mark_duplicates and not options.store_gps and not options.allow_tiff


def test_extra_prints() -> None:
    two_l, six_four = parse_extra_prints("print-2l=127:178, print-6x4=6x4")
    assert (two_l.name, two_l.aspect, two_l.crop_to_print) == ("print-2l", (127, 178), True)
    assert (six_four.aspect, six_four.long_edge, six_four.quality) == ((4, 6), None, 90)
    assert parse_extra_prints("") == []


@pytest.mark.parametrize(
    "text", ["print-2l", "print-2l=127", "Print=1:2", "print=1:2", "a=1:2,a=3:4", "a=0:3"]
)
def test_bad_extra_prints_name_the_setting(text: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_extra_prints(text)
    assert "extra_prints" in info.value.message


def test_browsing_set_and_formats() -> None:
    specs = parse_browsing("large=2400,small=200", "webp")
    assert [(s.name, s.long_edge, s.format) for s in specs] == [
        ("large-webp", 2400, "WEBP"),
        ("small-webp", 200, "WEBP"),
    ]
    with pytest.raises(ConfigError):
        parse_browsing("preview=1600", "gif")
    with pytest.raises(ConfigError):
        parse_browsing("preview=huge", "jpeg")


def test_gps_reaches_the_row_only_when_configured() -> None:
    info = probe(full_camera_jpeg())
    off = photo_details(info, imaging_options(Settings()))
    on = photo_details(info, imaging_options(dataclasses.replace(Settings(), store_gps=True)))
    assert off["gps"] is None
    assert on["gps"] == {"latitude": -33.865, "longitude": -151.21, "altitude": 42.5}
    assert off["lens"] == "FUJIFILM XF35mmF1.4 R" and off["exposure"]["iso"] == 400


def test_bad_square_setting() -> None:
    with pytest.raises(ConfigError):
        imaging_options(dataclasses.replace(Settings(), square_print="round"))
