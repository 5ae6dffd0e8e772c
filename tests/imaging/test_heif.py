"""HEIC/HEIF uploads: decoded through libheif, oriented once, typed errors like the others."""

import io

import pytest
from PIL import Image

from bakusoku.imaging import decode
from bakusoku.imaging.decode import open_photo, probe
from bakusoku.imaging.errors import CorruptImageError, UnsupportedImageError
from bakusoku.imaging.renditions import render_photo
from tests.imaging.photos import BLUE, RED, marked_picture, undo_orientation

pillow_heif = pytest.importorskip("pillow_heif", reason="pillow-heif encodes the HEIC test photos")
pytestmark = pytest.mark.skipif(
    not decode._heif_available(), reason="no HEIF decoder (pi-heif) installed"
)


def _heic(displayed: Image.Image, orientation: int = 1) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "Apple"
    exif[0x0110] = "iPhone 15"
    exif.get_ifd(0x8769)[0x9003] = "2024:10:12 09:30:00"
    exif.get_ifd(0x8769)[0x9011] = "+09:00"
    buffer = io.BytesIO()
    # The encoder turns the EXIF orientation into the container's irot/imir boxes, like phones do.
    pillow_heif.from_pillow(undo_orientation(displayed, orientation)).save(
        buffer, quality=90, exif=exif.tobytes()
    )
    return buffer.getvalue()


@pytest.mark.parametrize("orientation", [1, 3, 6, 8])
def test_heic_is_oriented_once(orientation: int) -> None:
    data = _heic(marked_picture(300, 200), orientation)
    info = probe(data, verify=True)
    assert info.format == "HEIF"
    assert info.content_type == "image/heic"
    assert info.orientation == orientation
    assert (info.width, info.height) == (300, 200)
    image = open_photo(data).decode()
    assert image.size == (300, 200)
    red, blue = image.getpixel((15, 10)), image.getpixel((285, 10))
    assert isinstance(red, tuple) and isinstance(blue, tuple)
    assert all(abs(a - b) < 50 for a, b in zip(red, RED, strict=True))
    assert all(abs(a - b) < 50 for a, b in zip(blue, BLUE, strict=True))


def test_heic_metadata_and_renditions() -> None:
    result = render_photo(_heic(marked_picture(1200, 900)))
    assert result.info.camera_make == "Apple"
    assert result.info.camera_model == "iPhone 15"
    assert result.info.taken_at == "2024-10-12T09:30:00+09:00"
    assert [(r.width, r.height) for r in result.renditions] == [
        (1200, 841),
        (1200, 900),
        (1200, 900),
        (400, 300),
        (400, 300),
    ]
    jpeg, webp = "image/jpeg", "image/webp"
    assert [r.content_type for r in result.renditions] == [jpeg, jpeg, webp, jpeg, webp]


def test_truncated_heic_is_corrupt() -> None:
    data = _heic(Image.effect_noise((400, 300), 60).convert("RGB"))
    with pytest.raises(CorruptImageError):
        render_photo(data[: len(data) // 2])


def test_heic_without_a_decoder_is_unsupported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(decode, "_heif_available", lambda: False)
    with pytest.raises(UnsupportedImageError) as info:
        probe(_heic(marked_picture(30, 20)))
    assert "HEIC" in info.value.message
