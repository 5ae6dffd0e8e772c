"""What goes on a certificate and where its files go: fields from the race, entry and standing,
the photo decoded no larger than the design's 2L frame needs with its faces scaled along, and
one folder per bib, revision and photo."""

from __future__ import annotations

import io

from PIL import Image

from bakusoku.races.certificate_making import (
    certificate_fields,
    decode_for_print,
    files_of,
    frame_pixels,
)
from bakusoku.races.certificate_records import CertificateKey
from bakusoku.races.certificates import load_design
from bakusoku.races.repository import RaceRef, Standing

RACE = {"name": "第10回 湘南マラソン", "race_date": "2026-12-06", "course": "フル"}


def _jpeg(size: tuple[int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (90, 130, 90)).save(out, "JPEG")
    return out.getvalue()


def test_the_fields_come_from_the_entry_the_finish_and_the_standing() -> None:
    finish = {"bib": "1024", "net_ms": 11_565_300, "gun_ms": 11_642_000, "name": "timing name"}
    standing = Standing("1024", "山田 太郎", "フル男子", 11_565_300, 11_642_000, 12, 3)

    fields = certificate_fields(
        RACE, {"name": "山田 太郎", "category": "フル男子"}, finish, standing
    )

    assert fields["name"] == "山田 太郎" and fields["bib"] == "1024"
    assert fields["net_time"] == "3:12:45.3" and fields["gun_time"] == "3:14:02"
    assert fields["placing"] == "総合 12位 (12th) ・ フル男子 3位 (3rd)"
    assert (fields["race"], fields["date"], fields["course"]) == (
        "第10回 湘南マラソン",
        "2026-12-06",
        "フル",
    )


def test_without_an_entry_or_a_net_time_the_results_own_name_and_gun_time_stand_in() -> None:
    finish = {"bib": "77", "net_ms": None, "gun_ms": 14_400_000, "name": "Ann Smith"}

    fields = certificate_fields(RACE | {"course": None}, None, finish, None)

    assert fields["name"] == "Ann Smith" and fields["net_time"] == "4:00:00"
    assert fields["placing"] == "" and fields["course"] == ""


def test_a_12_mp_photo_decodes_at_half_size_for_the_classic_frame_and_its_faces_follow() -> None:
    design = load_design("classic")
    frame_w, frame_h = frame_pixels(design, "2L")

    picture, faces = decode_for_print(_jpeg((4000, 3000)), [[2500, 400, 2800, 700]], design)

    assert picture.size == (2000, 1500)  # the DCT's 1/2: still covers the frame
    assert picture.height >= frame_h and picture.width >= frame_w
    assert faces == [(1250.0, 200.0, 1400.0, 350.0)]


def test_a_small_photo_is_decoded_whole() -> None:
    picture, faces = decode_for_print(_jpeg((1200, 900)), [], load_design("finish-line"))
    assert picture.size == (1200, 900) and faces == []


def test_each_revision_and_photo_has_its_own_folder_in_the_races_album() -> None:
    key = CertificateKey(RaceRef("runs", "shonan-2026"), "1024", 2, "p-1")

    files = files_of("renditions/", key)

    folder = "renditions/shonan-2026/_certificates/runs/1024/r2-p-1/"
    assert (files.jpeg_l, files.jpeg_2l, files.pdf) == (
        f"{folder}L.jpg",
        f"{folder}2L.jpg",
        f"{folder}certificate.pdf",
    )
