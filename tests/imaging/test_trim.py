"""Print trim geometry: 89:127 boxes, largest, centred, and kept around faces."""

import pytest

from bakusoku.imaging.trim import print_crop_box

SIZES = [
    (4000, 3000),
    (3000, 4000),
    (3000, 3000),
    (6000, 4000),
    (4000, 6000),
    (4032, 3024),
    (3024, 4032),
    (1920, 1080),
    (1080, 1920),
    (8192, 5464),
    (127, 89),
    (89, 127),
    (1000, 10),
    (10, 1000),
    (1, 1),
    (2, 3),
]


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_box_has_print_aspect_within_one_pixel(width: int, height: int) -> None:
    left, top, right, bottom = print_crop_box(width, height)
    w, h = right - left, bottom - top
    short, long = (w, h) if height >= width else (h, w)
    # The exact long side for this short side (and vice versa) is within one pixel.
    assert abs(long - short * 127 / 89) <= 1 or abs(short - long * 89 / 127) <= 1


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_box_is_largest_inside_and_centred(width: int, height: int) -> None:
    left, top, right, bottom = print_crop_box(width, height)
    assert 0 <= left < right <= width
    assert 0 <= top < bottom <= height
    # Largest: one side spans the whole image.
    assert right - left == width or bottom - top == height
    # Centred: equal margins, up to the odd pixel.
    assert abs(left - (width - right)) <= 1
    assert abs(top - (height - bottom)) <= 1


def test_orientation_follows_the_picture() -> None:
    assert print_crop_box(4000, 3000) == (0, 98, 4000, 2901)  # landscape 127:89
    assert print_crop_box(3000, 4000) == (98, 0, 2901, 4000)  # portrait 89:127
    left, top, right, bottom = print_crop_box(3000, 3000)
    assert (right - left, bottom - top) == (2102, 3000)  # square: portrait by default
    left, top, right, bottom = print_crop_box(3000, 3000, square="landscape")
    assert (right - left, bottom - top) == (3000, 2102)


def test_exact_ratio_image_is_not_cropped() -> None:
    assert print_crop_box(1270, 890) == (0, 0, 1270, 890)
    assert print_crop_box(890, 1270) == (0, 0, 890, 1270)


def test_other_aspect() -> None:
    left, top, right, bottom = print_crop_box(4000, 3000, aspect=(2, 3))
    assert (right - left, bottom - top) == (4000, 2667)


def test_faces_move_the_box_just_enough() -> None:
    # Landscape 6000x3000: box is 4281 wide, centred at 859; a face at the far left pulls it.
    box = print_crop_box(6000, 3000, faces=[(100, 1000, 400, 1300)])
    assert box[0] <= 100 - 0.25 * 300
    assert box[2] - box[0] == 4281
    # A face already inside the centred box changes nothing.
    assert print_crop_box(6000, 3000, faces=[(2900, 1000, 3100, 1200)]) == print_crop_box(
        6000, 3000
    )


def test_faces_keep_all_inside_when_possible() -> None:
    faces = [(200, 500, 500, 800), (4000, 500, 4300, 800)]
    left, top, right, bottom = print_crop_box(6000, 3000, faces=faces)
    assert left <= 200 and right >= 4300
    assert (top, bottom) == (0, 3000)


def test_faces_too_spread_are_centred_on() -> None:
    faces = [(0, 500, 300, 800), (5700, 500, 6000, 800), (1000, 500, 1300, 800)]
    left, _, right, _ = print_crop_box(6000, 3000, faces=faces)
    assert right - left == 4281
    assert left >= 0 and right <= 6000
    assert abs((left + right) / 2 - 3000) <= 1


def test_faces_in_portrait_move_vertically() -> None:
    box = print_crop_box(3000, 6000, faces=[(1000, 5500, 1300, 5800)])
    assert box[3] == 6000 or box[3] >= 5800
    assert box[2] - box[0] == 3000


@pytest.mark.parametrize(("width", "height"), [(0, 10), (10, 0), (-1, 5)])
def test_rejects_empty_images(width: int, height: int) -> None:
    with pytest.raises(ValueError):
        print_crop_box(width, height)
