"""Renditions: sizes, print trim, orientation, privacy, formats and never upscaling."""

import base64
import resource
from collections.abc import Callable

import pytest
from PIL import Image

from bakusoku.imaging.color import srgb_icc_bytes
from bakusoku.imaging.errors import CorruptImageError, UnsupportedImageError
from bakusoku.imaging.memory import keep_pixel_memory
from bakusoku.imaging.renditions import (
    DEFAULT_SPECS,
    PRINT,
    THUMB,
    WEBP_SPECS,
    RenditionSpec,
    render_photo,
)
from tests.imaging.photos import (
    BLUE,
    RED,
    camera_jpeg,
    encode,
    marked_picture,
    near,
    noisy_picture,
    stored_with_orientation,
)

Opener = Callable[[bytes], Image.Image]


def _exact_print_ratio(width: int, height: int) -> bool:
    short, long = sorted((width, height))
    return abs(long - short * 127 / 89) <= 1 or abs(short - long * 89 / 127) <= 1


def test_default_renditions_of_a_12mp_photo(jpeg_12mp: bytes, open_output: Opener) -> None:
    result = render_photo(jpeg_12mp)
    names = ["print", "preview", "preview-webp", "thumb", "thumb-webp"]
    assert [r.name for r in result.renditions] == names
    assert (result.info.width, result.info.height) == (4000, 3000)
    printed, preview, preview_webp, thumb, thumb_webp = result.renditions
    assert (preview_webp.width, preview_webp.height) == (1600, 1200)
    assert (thumb_webp.width, thumb_webp.height) == (400, 300)
    assert open_output(preview_webp.data).format == "WEBP"
    assert (printed.width, printed.height) == (4000, 2803)
    assert _exact_print_ratio(printed.width, printed.height)
    # Cut losslessly: the centred trim (0, 98, 4000, 2901) starts on the JPEG's 16 px block grid.
    assert result.crop_box == (0, 96, 4000, 2899)
    assert result.reencoded == {}
    assert (preview.width, preview.height) == (1600, 1200)
    assert (thumb.width, thumb.height) == (400, 300)
    for rendition in result.renditions:
        webp = rendition.name.endswith("-webp")
        assert rendition.content_type == ("image/webp" if webp else "image/jpeg")
        assert rendition.byte_size == len(rendition.data)
        im = open_output(rendition.data)
        assert im.format == ("WEBP" if webp else "JPEG")
        assert im.mode == "RGB"
        assert im.size == (rendition.width, rendition.height)
    assert open_output(printed.data).info.get("progressive") is None
    assert open_output(preview.data).info.get("progressive") == 1


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        ((3000, 4000), (2803, 4000)),
        ((3000, 3000), (2102, 3000)),
        ((6000, 4000), (5708, 4000)),
    ],
)
def test_print_trim_follows_picture_orientation(
    size: tuple[int, int], expected: tuple[int, int]
) -> None:
    data = encode(marked_picture(*size), quality=80)
    printed = render_photo(data, [PRINT]).get("print")
    assert (printed.width, printed.height) == expected
    assert _exact_print_ratio(printed.width, printed.height)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_reaches_every_rendition(orientation: int, open_output: Opener) -> None:
    displayed = marked_picture(900, 600)
    result = render_photo(stored_with_orientation(displayed, orientation))
    assert result.info.orientation == orientation
    assert (result.info.width, result.info.height) == (900, 600)
    printed = result.get("print")
    assert (printed.width, printed.height) == (856, 600)  # landscape 127:89, as displayed
    for rendition in result.renditions:
        im = open_output(rendition.data)
        assert im.width > im.height
        assert "exif" not in im.info
        w, h = im.size
        # Red block stays top-left and blue top-right whatever the stored pixels were.
        assert near(im.getpixel((w // 20, h // 20)), RED, 45)
        assert near(im.getpixel((w - 1 - w // 20, h // 20)), BLUE, 45)
        assert not near(im.getpixel((w // 20, h - 1 - h // 20)), RED, 45)


def test_portrait_phone_photo_rotated_by_exif() -> None:
    displayed = marked_picture(1500, 2000)
    result = render_photo(stored_with_orientation(displayed, 6))
    assert (result.info.width, result.info.height) == (1500, 2000)
    assert (result.get("print").width, result.get("print").height) == (1402, 2000)
    assert (result.get("preview").width, result.get("preview").height) == (1200, 1600)
    assert (result.get("thumb").width, result.get("thumb").height) == (300, 400)


def test_outputs_carry_no_exif_gps_or_xmp(open_output: Opener) -> None:
    data = camera_jpeg()
    result = render_photo(data, DEFAULT_SPECS)
    assert result.info.has_gps
    assert result.info.taken_at == "2024-05-03T10:15:30.120+09:00"
    for rendition in result.renditions:
        im = open_output(rendition.data)
        assert "exif" not in im.info
        assert "xmp" not in im.info
        assert not im.getexif()
        assert im.info.get("icc_profile") == srgb_icc_bytes()
        # Belt and braces: the raw bytes hold no EXIF header and no GPS reference values.
        assert b"Exif\x00\x00" not in rendition.data
        assert b"Canon EOS R6" not in rendition.data
        assert b"adobe:ns:meta" not in rendition.data


def test_webp_specs(open_output: Opener) -> None:
    data = encode(marked_picture(2400, 1600))
    result = render_photo(data, WEBP_SPECS)
    preview, thumb = result.renditions
    assert preview.content_type == "image/webp"
    assert (preview.width, preview.height) == (1600, 1067)
    assert (thumb.width, thumb.height) == (400, 267)
    assert open_output(preview.data).format == "WEBP"


def test_never_upscales(open_output: Opener) -> None:
    data = encode(marked_picture(300, 200))
    result = render_photo(data)
    assert (result.get("print").width, result.get("print").height) == (285, 200)
    assert (result.get("preview").width, result.get("preview").height) == (300, 200)
    assert (result.get("thumb").width, result.get("thumb").height) == (300, 200)
    big = render_photo(
        data, [RenditionSpec("huge", 5000), RenditionSpec("print2k", 2000, crop_to_print=True)]
    )
    assert (big.get("huge").width, big.get("huge").height) == (300, 200)
    assert (big.get("print2k").width, big.get("print2k").height) == (285, 200)


def test_small_outputs_only_use_a_reduced_decode(open_output: Opener) -> None:
    data = encode(marked_picture(4000, 3000), quality=85)
    result = render_photo(data, [THUMB])
    thumb = result.get("thumb")
    assert (thumb.width, thumb.height) == (400, 300)
    im = open_output(thumb.data)
    assert near(im.getpixel((10, 10)), RED, 45)


def test_cropped_small_rendition_matches_print_framing(open_output: Opener) -> None:
    data = encode(marked_picture(3000, 2000))
    spec = RenditionSpec("print.preview", 1000, crop_to_print=True)
    result = render_photo(data, [PRINT, spec])
    small = result.get("print.preview")
    assert (small.width, small.height) == (1000, 701)
    assert _exact_print_ratio(small.width, small.height)


def test_faces_move_the_print_trim() -> None:
    data = encode(marked_picture(3000, 1500))
    centred = render_photo(data, [PRINT]).crop_box
    moved = render_photo(data, [PRINT], faces=[(50, 600, 250, 800)]).crop_box
    assert moved[0] < centred[0]
    assert moved[0] <= 50


def test_png_alpha_renders_on_white(open_output: Opener) -> None:
    im = Image.new("RGBA", (800, 600), (0, 0, 0, 0))
    result = render_photo(encode(im, "PNG"))
    assert result.info.format == "PNG"
    thumb = open_output(result.get("thumb").data)
    assert near(thumb.getpixel((10, 10)), (255, 255, 255), 3)


def test_typed_errors_surface_from_render() -> None:
    with pytest.raises(UnsupportedImageError):
        render_photo(b"just text, not a photo")
    data = encode(marked_picture(800, 600))
    with pytest.raises(CorruptImageError):
        render_photo(data[: len(data) // 2])
    with pytest.raises(CorruptImageError):
        render_photo(data[: len(data) // 2], [THUMB])


def test_spec_validation() -> None:
    with pytest.raises(ValueError):
        RenditionSpec("bad", 0)
    with pytest.raises(ValueError):
        RenditionSpec("bad", 100, quality=0)
    with pytest.raises(ValueError):
        render_photo(encode(marked_picture(40, 30)), [THUMB, THUMB])


def test_output_is_a_faithful_downscale(open_output: Opener) -> None:
    # The preview should look like the original: compare mean colour of a flat block.
    displayed = marked_picture(2000, 1500)
    preview = open_output(render_photo(encode(displayed, quality=95)).get("preview").data)
    small = displayed.resize(preview.size, Image.Resampling.LANCZOS)
    for xy in [(50, 50), (800, 500), (1550, 50)]:
        assert near(preview.getpixel(xy), small.getpixel(xy), 8)  # type: ignore[arg-type]


def test_placeholder_comes_with_the_renditions() -> None:
    data = encode(marked_picture(1200, 800))
    result = render_photo(data)
    assert result.placeholder is not None
    assert 20 <= len(result.placeholder) <= 40
    assert render_photo(data, with_placeholder=False).placeholder is None
    # Only a print rendition: the placeholder still shows the full frame (same aspect header).
    alone = render_photo(data, [PRINT]).placeholder
    assert alone is not None
    full, printed = base64.b64decode(result.placeholder), base64.b64decode(alone)
    assert (full[3] & 7, full[4] >> 7) == (printed[3] & 7, printed[4] >> 7) == (5, 1)


def test_package_exports_the_public_api() -> None:
    import bakusoku.imaging as imaging

    for name in imaging.__all__:
        assert hasattr(imaging, name), name


@pytest.mark.skipif(not keep_pixel_memory(), reason="pixel memory is kept with glibc's malloc only")
def test_the_next_photo_reuses_the_pixel_memory() -> None:
    # A worker renders photo after photo: the second finds its buffers already in memory, instead
    # of page-faulting ~60 MB in again.
    data = encode(noisy_picture(3000, 2000), quality=90)
    render_photo(data)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    render_photo(data)
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
    pixel_pages = 3000 * 2000 * 4 // 4096  # the decode alone, in 4 KiB pages
    assert faults < pixel_pages // 4, faults
