"""Safe opening: format sniffing, typed errors, pixel limits, truncation, metadata, colour."""

import os
import struct
import zlib

import pytest
from PIL import Image, ImageFile, ImageOps

from bakusoku.errors import BakusokuError
from bakusoku.imaging.decode import open_photo, probe
from bakusoku.imaging.errors import (
    CorruptImageError,
    EmptyImageError,
    ImageError,
    ImageTooLargeError,
    UnsupportedImageError,
)
from bakusoku.imaging.sniff import sniff
from tests.imaging.photos import (
    RED,
    camera_jpeg,
    encode,
    marked_picture,
    stored_with_orientation,
)


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(kind + payload)
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def _png(width: int, height: int, bit_depth: int, colour_type: int, rows: bytes) -> bytes:
    header = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(rows))
        + _png_chunk(b"IEND", b"")
    )


def test_error_classes_have_stable_codes() -> None:
    assert issubclass(ImageError, BakusokuError)
    expected = {
        EmptyImageError: "image.empty",
        UnsupportedImageError: "image.unsupported_format",
        CorruptImageError: "image.corrupt",
        ImageTooLargeError: "image.too_large",
    }
    for cls, code in expected.items():
        assert issubclass(cls, ImageError)
        assert cls("x").code == code


def test_empty_upload() -> None:
    with pytest.raises(EmptyImageError) as info:
        probe(b"")
    assert info.value.code == "image.empty"


def test_text_renamed_to_jpg_is_unsupported() -> None:
    with pytest.raises(UnsupportedImageError) as info:
        probe(b"Bonjour, voici les photos de la kermesse\n")
    message = info.value.message
    assert "plain text" in message
    assert "JPEG" in message and "PNG" in message


def test_random_bytes_are_unsupported() -> None:
    with pytest.raises(UnsupportedImageError) as info:
        probe(b"\x00\x9f\x13" + os.urandom(4096))
    assert "unrecognised binary data" in info.value.message


@pytest.mark.parametrize(
    ("data", "description"),
    [
        (b"GIF89a" + b"\x00" * 40, "GIF"),
        (b"%PDF-1.7\n" + b"\x00" * 40, "PDF"),
        (b"II*\x00" + b"\x00" * 40, "TIFF"),
        (b"PK\x03\x04" + b"\x00" * 40, "ZIP"),
        (b"<!DOCTYPE html><html>", "HTML"),
        (b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom", "MP4"),
        (b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1", "AVIF"),
    ],
)
def test_other_formats_are_named(data: bytes, description: str) -> None:
    with pytest.raises(UnsupportedImageError) as info:
        probe(data)
    assert description in info.value.message


def test_name_is_irrelevant_format_comes_from_bytes() -> None:
    png = encode(marked_picture(60, 40), "PNG")
    assert sniff(png[:64]).kind == "PNG"
    assert probe(png).format == "PNG"


def test_heif_brands_are_recognised() -> None:
    assert sniff(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic").kind == "HEIF"
    assert sniff(b"\x00\x00\x00\x18ftypmif1\x00\x00\x00\x00mif1heic").kind == "HEIF"


@pytest.mark.parametrize("fraction", [0.3, 0.6, 0.95])
def test_truncated_jpeg_is_corrupt(fraction: float) -> None:
    data = encode(marked_picture(800, 600), "JPEG", quality=90)
    cut = data[: int(len(data) * fraction)]
    assert probe(cut).width == 800  # the header alone is fine...
    with pytest.raises(CorruptImageError) as info:
        probe(cut, verify=True)  # ...but the pixels are not all there.
    assert info.value.code == "image.corrupt"
    with pytest.raises(CorruptImageError):
        open_photo(cut).decode()


def test_truncated_progressive_jpeg_is_corrupt() -> None:
    data = encode(marked_picture(800, 600), "JPEG", quality=90, progressive=True)
    with pytest.raises(CorruptImageError):
        probe(data[: len(data) * 2 // 3], verify=True)


def test_truncated_png_is_corrupt() -> None:
    data = encode(Image.effect_noise((300, 200), 40), "PNG")
    with pytest.raises(CorruptImageError):
        probe(data[: len(data) // 2], verify=True)


def test_damaged_header_is_corrupt() -> None:
    with pytest.raises(CorruptImageError):
        probe(b"\xff\xd8\xff\xe0" + b"\x00" * 200)


def test_load_truncated_images_must_stay_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    with pytest.raises(RuntimeError):
        open_photo(encode(marked_picture(40, 30))).decode()


def test_png_bomb_header_is_too_large() -> None:
    # 50,000 x 50,000 px declared (2.5 gigapixels) in a file of a few dozen bytes.
    bomb = _png(50_000, 50_000, 8, 0, b"\x00" * 16)
    with pytest.raises(ImageTooLargeError) as info:
        probe(bomb)
    assert info.value.code == "image.too_large"


def test_jpeg_header_over_our_limit_is_too_large() -> None:
    data = bytearray(encode(marked_picture(64, 48)))
    sof = data.find(b"\xff\xc0")
    # SOF0: marker, length (2), precision (1), height (2), width (2).
    data[sof + 5 : sof + 9] = struct.pack(">HH", 12_000, 12_000)  # 144 MP
    with pytest.raises(ImageTooLargeError) as info:
        probe(bytes(data))
    assert "12000 x 12000" in info.value.message


def test_pixel_limit_is_configurable() -> None:
    data = encode(marked_picture(400, 300))
    assert probe(data, max_pixels=120_000).width == 400
    with pytest.raises(ImageTooLargeError):
        probe(data, max_pixels=100_000)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_orientation_is_applied(orientation: int) -> None:
    displayed = marked_picture(300, 200)
    data = stored_with_orientation(displayed, orientation)
    info = probe(data)
    assert info.orientation == orientation
    assert (info.width, info.height) == (300, 200)
    image = open_photo(data).decode()
    assert image.size == (300, 200)
    # Same result as Pillow's own exif_transpose, an independent reference.
    reference = ImageOps.exif_transpose(Image.open(__import__("io").BytesIO(data)))
    assert reference is not None
    assert image.size == reference.size
    red = image.getpixel((20, 15))
    assert isinstance(red, tuple)
    assert red[0] > 180 and red[1] < 80 and red[2] < 80


def test_camera_metadata() -> None:
    info = probe(camera_jpeg())
    assert info.format == "JPEG"
    assert info.content_type == "image/jpeg"
    assert info.camera_make == "Canon"
    assert info.camera_model == "Canon EOS R6"
    assert info.taken_at == "2024-05-03T10:15:30.120+09:00"
    assert info.has_gps is True
    assert info.byte_size > 0


def test_time_without_offset_is_naive_and_blank_clock_is_none() -> None:
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9003] = "2023:10:08 09:00:05"
    assert probe(encode(marked_picture(40, 30), exif=exif.tobytes())).taken_at == (
        "2023-10-08T09:00:05"
    )
    exif.get_ifd(0x8769)[0x9003] = "0000:00:00 00:00:00"
    assert probe(encode(marked_picture(40, 30), exif=exif.tobytes())).taken_at is None


def test_broken_exif_is_ignored() -> None:
    data = encode(marked_picture(40, 30), exif=b"Exif\x00\x00MM\x00*\xff\xff\xff\xff garbage")
    info = probe(data, verify=True)
    assert info.orientation == 1
    assert info.taken_at is None


def test_png_with_alpha_is_flattened_on_white() -> None:
    im = Image.new("RGBA", (40, 20), (255, 0, 0, 255))
    im.paste((0, 0, 0, 0), (20, 0, 40, 20))
    image = open_photo(encode(im, "PNG")).decode()
    assert image.mode == "RGB"
    assert image.getpixel((5, 5)) == (255, 0, 0)
    assert image.getpixel((35, 5)) == (255, 255, 255)


def test_palette_png_with_transparency_is_flattened() -> None:
    im = Image.new("P", (20, 10), 1)
    im.putpalette([0, 0, 0, 0, 0, 255] + [0] * 762)
    im.paste(0, (10, 0, 20, 10))
    image = open_photo(encode(im, "PNG", transparency=0)).decode()
    assert image.getpixel((2, 2)) == (0, 0, 255)
    assert image.getpixel((15, 2)) == (255, 255, 255)


def test_16_bit_grey_png_is_scaled_not_clipped() -> None:
    rows = b"".join(b"\x00" + struct.pack(">4H", 0, 16384, 32768, 65535) for _ in range(2))
    image = open_photo(_png(4, 2, 16, 0, rows)).decode()
    assert image.mode == "RGB"
    values = [image.getpixel((x, 0)) for x in range(4)]
    assert values == [(0, 0, 0), (64, 64, 64), (128, 128, 128), (255, 255, 255)]


def test_16_bit_rgb_png() -> None:
    rows = b"\x00" + struct.pack(">6H", 65535, 0, 0, 32768, 32768, 32768)
    image = open_photo(_png(2, 1, 16, 2, rows)).decode()
    assert image.getpixel((0, 0)) == (255, 0, 0)
    assert image.getpixel((1, 0)) == (128, 128, 128)


def test_cmyk_jpeg_becomes_rgb() -> None:
    cmyk = Image.new("CMYK", (64, 48), (0, 255, 255, 0))  # process red
    data = encode(cmyk, "JPEG", quality=95)
    image = open_photo(data).decode()
    assert image.mode == "RGB"
    r, g, b = image.getpixel((32, 24))  # type: ignore[misc]
    assert r > 200 and g < 60 and b < 60


def test_grey_jpeg_becomes_rgb() -> None:
    image = open_photo(encode(Image.new("L", (32, 32), 100))).decode()
    assert image.mode == "RGB"
    assert image.getpixel((5, 5)) == (100, 100, 100)


def test_webp_and_mpo_inputs() -> None:
    webp = encode(marked_picture(120, 80), "WEBP", quality=90)
    assert probe(webp, verify=True).format == "WEBP"
    first, second = marked_picture(120, 80), Image.new("RGB", (120, 80), (0, 255, 0))
    mpo = encode(first, "MPO", save_all=True, append_images=[second])
    info = probe(mpo, verify=True)
    assert info.format == "MPO"
    assert info.content_type == "image/jpeg"
    image = open_photo(mpo).decode()
    pixel = image.getpixel((5, 5))
    assert isinstance(pixel, tuple)
    assert pixel[0] == pytest.approx(RED[0], abs=20)


def test_draft_decode_keeps_at_least_the_requested_scale() -> None:
    data = encode(marked_picture(4000, 3000), quality=85)
    image = open_photo(data).decode(min_scale=0.1)
    assert image.size == (500, 375)  # 1/8 in the DCT, still >= 400 px wide
    data6 = stored_with_orientation(marked_picture(3000, 4000), 6)
    image = open_photo(data6).decode(min_scale=0.3)
    assert image.size == (1500, 2000)  # 1/4 would be under 0.3: 1/2, oriented


def test_decode_happens_once() -> None:
    photo = open_photo(encode(marked_picture(40, 30)))
    photo.decode()
    with pytest.raises(RuntimeError):
        photo.decode()


def test_big_but_allowed_header_raises_no_warning() -> None:
    # 100 MP is over Pillow's warning threshold (89.5 MP) but within our limit: no noise.
    data = bytearray(encode(marked_picture(64, 48)))
    sof = data.find(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", 10_000, 10_000)
    info = probe(bytes(data))  # warnings are errors in this test suite
    assert (info.width, info.height) == (10_000, 10_000)


def test_webp_exif_orientation() -> None:
    displayed = marked_picture(300, 200)
    exif = Image.Exif()
    exif[0x0112] = 8
    stored = displayed.transpose(Image.Transpose.ROTATE_270)
    data = encode(stored, "WEBP", quality=95, exif=exif.tobytes())
    info = probe(data)
    assert (info.orientation, info.width, info.height) == (8, 300, 200)
    red = open_photo(data).decode().getpixel((15, 10))
    assert isinstance(red, tuple) and red[0] > 180 and red[1] < 80


def test_png_exif_after_image_data_is_read_on_decode() -> None:
    displayed = marked_picture(300, 200)
    exif = Image.Exif()
    exif[0x0112] = 3
    data = encode(displayed.transpose(Image.Transpose.ROTATE_180), "PNG", exif=exif.tobytes())
    photo = open_photo(data)
    image = photo.decode()
    assert photo.info.orientation == 3
    red = image.getpixel((15, 10))
    assert isinstance(red, tuple) and red[0] > 180 and red[1] < 80


def test_cmyk_jpeg_with_reduced_decode() -> None:
    data = encode(Image.new("CMYK", (1600, 1200), (0, 255, 255, 0)), "JPEG", quality=90)
    image = open_photo(data).decode(min_scale=0.25)
    assert image.size == (400, 300)
    r, g, b = image.getpixel((200, 150))  # type: ignore[misc]
    assert r > 200 and g < 60 and b < 60


def test_png_colour_key_transparency_is_flattened() -> None:
    im = Image.new("RGB", (20, 10), (0, 255, 0))
    im.paste((255, 0, 0), (0, 0, 10, 10))
    image = open_photo(encode(im, "PNG", transparency=(0, 255, 0))).decode()
    assert image.getpixel((2, 2)) == (255, 0, 0)
    assert image.getpixel((15, 2)) == (255, 255, 255)


def test_the_decode_is_planned_from_the_header() -> None:
    photo = open_photo(encode(Image.new("RGB", (4000, 3000), (90, 120, 150)), "JPEG"))

    plan = photo.plan(min_scale=0.2)

    assert (plan.size, plan.scale) == ((1000, 750), 0.25)  # the DCT's 1/4: the smallest >= 0.2
    assert photo.decode(min_scale=0.2).size == plan.size
    png = open_photo(encode(Image.new("RGB", (400, 300)), "PNG"))
    assert png.plan(min_scale=0.2).size == (400, 300)  # only JPEG decodes at a reduced scale
