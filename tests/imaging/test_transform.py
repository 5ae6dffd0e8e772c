"""On-the-fly transforms on real images: geometry, orientation, faces, sources, formats."""

from collections.abc import Callable

import pytest
from PIL import Image, ImageChops, ImageStat

from bakusoku.imaging.color import srgb_icc_bytes
from bakusoku.imaging.decode import open_photo
from bakusoku.imaging.errors import ImageError
from bakusoku.imaging.transform import (
    CONTENT_TYPES,
    SOURCE_HEADROOM,
    Geometry,
    SourceCandidate,
    Transform,
    avif_supported,
    choose_source,
    plan,
    render_transform,
)
from bakusoku.imaging.trim import FACE_MARGIN, print_crop_box
from tests.imaging.icc import display_p3_profile
from tests.imaging.photos import (
    BLUE,
    RED,
    camera_jpeg,
    encode,
    marked_picture,
    near,
    noisy_picture,
    scene_with_face,
    stored_with_orientation,
)

Opener = Callable[[bytes], Image.Image]


# ---- geometry (pure) ----------------------------------------------------------------------------


def test_contain_fits_inside_and_never_upscales() -> None:
    assert plan((4000, 3000), Transform(400, 400)) == Geometry((0, 0, 4000, 3000), (400, 300))
    assert plan((4000, 3000), Transform(None, 300)).size == (400, 300)
    assert plan((300, 200), Transform(400, 400)).size == (300, 200)


def test_cover_fills_the_box_from_the_largest_window_of_its_aspect() -> None:
    geometry = plan((4000, 3000), Transform(400, 400, "cover"))
    assert geometry.size == (400, 400)
    assert geometry.region == (500, 0, 3500, 3000)


def test_cover_of_a_small_picture_keeps_the_aspect_at_full_resolution() -> None:
    geometry = plan((300, 200), Transform(800, 400, "cover"))
    assert geometry.region == (0, 25, 300, 175)
    assert geometry.size == (300, 150)


def test_crop_cuts_a_window_of_the_size_without_resampling() -> None:
    geometry = plan((4000, 3000), Transform(400, 300, "crop"))
    assert geometry == Geometry((1800, 1350, 2200, 1650), (400, 300))
    assert geometry.scale == 1.0


def test_face_gravity_places_the_window_as_the_print_trim_does() -> None:
    faces = [(3300.0, 200.0, 3600.0, 600.0)]
    geometry = plan((4000, 3000), Transform(400, 400, "cover", "face"), faces)
    left, _, right, _ = geometry.region
    margin = FACE_MARGIN * 400
    assert left <= 3300 - margin and right >= 3600 + margin
    # The same rule as the print trim: an 89:127 cover lands where print_crop_box puts the trim.
    portrait_faces = [(2650.0, 300.0, 2950.0, 700.0)]
    trim = plan((3000, 4000), Transform(890, 1270, "cover", "face"), portrait_faces).region
    assert trim == print_crop_box(3000, 4000, faces=portrait_faces)
    assert trim[0] > 0  # moved from the centre towards the face
    assert plan((4000, 3000), Transform(400, 400, "cover"), faces).region == (500, 0, 3500, 3000)


def test_the_smallest_rendition_with_headroom_is_the_source() -> None:
    original = SourceCandidate("o.jpg", 4000, "image/jpeg")
    renditions = [
        SourceCandidate("preview.webp", 1600, "image/webp"),
        SourceCandidate("preview.jpg", 1600, "image/jpeg"),
        SourceCandidate("thumb.jpg", 400, "image/jpeg"),
    ]
    small = plan((4000, 3000), Transform(400, 400))
    assert choose_source(original, renditions, 4000, small).key == "preview.jpg"
    tiny = plan((4000, 3000), Transform(300, 300))
    assert 300 * SOURCE_HEADROOM <= 400
    assert choose_source(original, renditions, 4000, tiny).key == "thumb.jpg"
    large = plan((4000, 3000), Transform(1600, 1600))
    assert choose_source(original, renditions, 4000, large).key == "o.jpg"
    face_crop = plan((4000, 3000), Transform(400, 300, "crop"))
    assert choose_source(original, renditions, 4000, face_crop).key == "o.jpg"


# ---- pixels -------------------------------------------------------------------------------------


@pytest.mark.parametrize("orientation", range(1, 9))
def test_output_is_upright_for_every_exif_orientation(
    orientation: int, open_output: Opener
) -> None:
    data = stored_with_orientation(marked_picture(600, 400), orientation)
    out = render_transform(data, Transform(300, None))
    im = open_output(out.data)
    assert im.size == (300, 200) == (out.width, out.height)
    assert near(im.getpixel((10, 10)), RED)
    assert near(im.getpixel((289, 10)), BLUE)


def test_output_carries_no_metadata_but_an_srgb_profile(open_output: Opener) -> None:
    out = render_transform(camera_jpeg((1200, 900), gps=True), Transform(400, None, format="JPEG"))
    im = open_output(out.data)
    assert not im.getexif()
    assert "xmp" not in im.info and "exif" not in im.info
    assert im.info["icc_profile"] == srgb_icc_bytes()


def test_wide_gamut_input_is_converted_to_srgb(open_output: Opener) -> None:
    # P3 red at 180 is a more saturated red than sRGB 180: it must come out brighter in sRGB.
    data = encode(
        Image.new("RGB", (640, 480), (180, 0, 0)), "PNG", icc_profile=display_p3_profile()
    )
    out = open_output(render_transform(data, Transform(100, None, format="WEBP", quality=95)).data)
    r, g, b = out.convert("RGB").getpixel((50, 30))  # type: ignore[misc]
    assert 188 <= r <= 210 and g <= 8 and b <= 8


@pytest.mark.parametrize("fmt", ["JPEG", "WEBP", "AVIF"])
def test_each_format_is_what_it_says(fmt: str, open_output: Opener) -> None:
    if fmt == "AVIF" and not avif_supported():
        pytest.skip("this Pillow cannot write AVIF")
    out = render_transform(encode(marked_picture(800, 600)), Transform(400, None, format=fmt))  # type: ignore[arg-type]
    im = open_output(out.data)
    assert im.format == fmt and out.content_type == CONTENT_TYPES[fmt]  # type: ignore[index]
    assert im.size == (400, 300)


def test_quality_changes_the_bytes() -> None:
    data = encode(noisy_picture(800, 600))
    low = render_transform(data, Transform(400, None, quality=40)).data
    high = render_transform(data, Transform(400, None, quality=90)).data
    assert len(low) < len(high)


def test_face_gravity_keeps_the_face_in_a_square(open_output: Opener) -> None:
    scene, face = scene_with_face((2400, 1200), (1900, 300), 240)
    out = render_transform(
        encode(scene, quality=92), Transform(400, 400, "cover", "face"), faces=[face]
    )
    im = open_output(out.data)
    assert im.size == (400, 400)
    skin = (224, 180, 150)
    # The face's middle (right part of the picture) is in the square; centred it would be cut off.
    scale = 400 / 1200
    region_left = plan((2400, 1200), Transform(400, 400, "cover", "face"), [face]).region[0]
    assert region_left > 600  # moved right of the centred window
    cx = round(((face[0] + face[2]) / 2 - region_left) * scale)
    cy = round(((face[1] + face[3]) / 2) * scale)
    assert near(im.getpixel((cx, cy + 10)), skin, 60)
    centred = open_output(
        render_transform(encode(scene, quality=92), Transform(400, 400, "cover"), faces=[face]).data
    )
    assert not any(near(centred.getpixel((x, cy + 10)), skin, 30) for x in range(0, 400, 4))


def test_a_rendition_source_gives_the_same_picture_as_the_original(open_output: Opener) -> None:
    picture = marked_picture(4000, 3000)
    original = encode(picture, quality=92)
    preview = encode(picture.resize((1600, 1200), Image.Resampling.LANCZOS), quality=92)
    transform = Transform(400, 400, "cover")
    from_original = open_output(render_transform(original, transform).data)
    from_preview = open_output(render_transform(preview, transform, full=(4000, 3000)).data)
    assert from_original.size == from_preview.size == (400, 400)
    difference = ImageStat.Stat(ImageChops.difference(from_original, from_preview)).mean
    assert max(difference) < 3


def test_crop_is_a_full_resolution_window(open_output: Opener) -> None:
    picture = noisy_picture(1200, 900)
    data = encode(picture, "PNG")
    out = open_output(
        render_transform(data, Transform(200, 100, "crop", format="WEBP", quality=95)).data
    )
    window = picture.crop((500, 400, 700, 500))
    assert max(ImageStat.Stat(ImageChops.difference(out.convert("RGB"), window)).mean) < 8


def test_a_dct_scaled_decode_serves_a_small_output() -> None:
    # The 12 MP JPEG decodes at 1/8 for a 400 px output: measured as far less time than a full
    # decode would take would be flaky here, so check the decoded size instead.
    data = encode(noisy_picture(4000, 3000), quality=85)
    photo = open_photo(data)
    geometry = plan((4000, 3000), Transform(400, None))
    assert photo.plan(geometry.scale).size == (500, 375)
    out = render_transform(data, Transform(400, None))
    assert (out.width, out.height) == (400, 300)


def test_undecodable_bytes_raise_an_image_error() -> None:
    with pytest.raises(ImageError):
        render_transform(encode(marked_picture(600, 400))[:2000], Transform(300, None))
