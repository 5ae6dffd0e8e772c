"""Metadata to the photo row (lens, exposure, GPS, offset) and none of it in any rendition."""

import io

from PIL import Image, TiffImagePlugin

from bakusoku.imaging import DEFAULT_SPECS, probe, render_photo
from bakusoku.imaging.color import srgb_icc_bytes
from tests.imaging.photos import encode, marked_picture

SERIAL = "SN-0042-PRIVATE"


def full_camera_jpeg() -> bytes:
    """A JPEG with everything a camera writes: EXIF (MakerNote, serial, GPS, thumbnail), XMP, IPTC."""
    exif = Image.Exif()
    exif[0x010F] = "FUJIFILM"
    exif[0x0110] = "X-T5"
    exif[0x0112] = 1
    ifd = exif.get_ifd(0x8769)
    ifd[0x9003] = "2026:10:10 09:30:05"
    ifd[0x9011] = "-05:30"
    ifd[0x829A] = TiffImagePlugin.IFDRational(1, 250)
    ifd[0x829D] = TiffImagePlugin.IFDRational(28, 10)
    ifd[0x8827] = 400
    ifd[0x920A] = TiffImagePlugin.IFDRational(350, 10)
    ifd[0xA405] = 53
    ifd[0xA433] = "FUJIFILM"
    ifd[0xA434] = "XF35mmF1.4 R"
    ifd[0xA431] = SERIAL  # BodySerialNumber
    ifd[0x927C] = b"FUJIFILM\x0c\x00MAKERNOTE-SECRET" * 4  # MakerNote
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "S", (33.0, 51.0, 54.0)
    gps[3], gps[4] = "W", (151.0, 12.0, 36.0)
    gps[5], gps[6] = b"\x00", 42.5
    thumb = encode(marked_picture(160, 120), "JPEG", quality=70)
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF>IMG_0042.JPG</rdf:RDF></x:xmpmeta>'
    data = encode(marked_picture(1200, 900), "JPEG", quality=90, exif=exif.tobytes(), xmp=xmp)
    # IPTC (APP13, "Photoshop 3.0") and an embedded thumbnail (a second JPEG in an APP segment).
    iptc = b"Photoshop 3.0\x008BIM\x04\x04\x00\x00\x00\x00\x00\x10\x1c\x02\x05\x00\x0bIPTC-SECRET"
    app13 = b"\xff\xed" + (len(iptc) + 2).to_bytes(2, "big") + iptc
    app_thumb = b"\xff\xe3" + (len(thumb) + 2).to_bytes(2, "big") + thumb
    return data[:2] + app13 + app_thumb + data[2:]


def test_camera_facts_are_read() -> None:
    info = probe(full_camera_jpeg())
    assert (info.camera_make, info.camera_model) == ("FUJIFILM", "X-T5")
    assert info.lens == "FUJIFILM XF35mmF1.4 R"
    assert info.taken_at == "2026-10-10T09:30:05-05:30"
    assert info.exposure.as_dict() == {
        "exposure_time": 0.004,
        "f_number": 2.8,
        "iso": 400,
        "focal_length": 35.0,
        "focal_length_35mm": 53,
    }
    assert info.gps is not None
    assert info.gps.as_dict() == {"latitude": -33.865, "longitude": -151.21, "altitude": 42.5}


def test_no_rendition_carries_any_metadata_block() -> None:
    data = full_camera_jpeg()
    assert SERIAL.encode() in data and b"IPTC-SECRET" in data and b"MAKERNOTE" in data
    for rendition in render_photo(data, DEFAULT_SPECS).renditions:
        raw = rendition.data
        for secret in (b"Exif\x00\x00", b"adobe:ns:meta", b"Photoshop 3.0", b"8BIM", b"IPTC"):
            assert secret not in raw, (rendition.name, secret)
        for secret in (SERIAL.encode(), b"MAKERNOTE", b"IMG_0042", b"FUJIFILM", b"X-T5"):
            assert secret not in raw, (rendition.name, secret)
        # Exactly one picture: no embedded thumbnail (a second SOI marker) in a JPEG rendition.
        if rendition.content_type == "image/jpeg":
            assert raw.count(b"\xff\xd8\xff") == 1
        im = Image.open(io.BytesIO(raw))
        assert not im.getexif()
        assert im.info.get("icc_profile") == srgb_icc_bytes()


def test_broken_gps_is_ignored() -> None:
    exif = Image.Exif()
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (500.0, 0.0, 0.0)  # impossible latitude
    gps[3], gps[4] = "E", (10.0, 0.0, 0.0)
    info = probe(encode(marked_picture(64, 48), "JPEG", exif=exif.tobytes()))
    assert info.has_gps and info.gps is None
