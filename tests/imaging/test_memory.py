"""A photo's memory is bounded: the shipped MakeRenditions in a real worker process, on 12 MP and
100 MP photos, stays under :func:`bakusoku.imaging.memory.peak_bytes` and 1 GiB at the pixel cap,
and gives a large photo's memory back."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from bakusoku.config import Settings
from bakusoku.domain.keys import upload_key
from bakusoku.imaging.decode import open_photo
from bakusoku.imaging.memory import KEEP_BYTES, PIXEL_BYTES, peak_bytes
from bakusoku.imaging.trim import print_crop_box
from bakusoku.pipeline.functions import FUNCTIONS
from bakusoku.runtime import FunctionConfig, FunctionRuntime
from bakusoku.storage.local import LocalObjectStore
from tests.imaging.photos import blocky_picture, encode, noisy_picture

BUCKET = "bakusoku"
ALBUM = "memory"
MIB = 1024 * 1024
# The cap of max_image_pixels, and what a worker may reach at it, all included.
CAP_PIXELS = Settings().max_image_pixels
AT_THE_CAP = 1024 * MIB
MAKE_RENDITIONS = next(f for f in FUNCTIONS if f.name == "make-renditions")


class Worker:
    """One warm MakeRenditions worker (the pipeline's memory size) over a local store."""

    def __init__(self, runtime: FunctionRuntime, store: LocalObjectStore) -> None:
        self._runtime = runtime
        self._store = store

    def render(self, data: bytes, content_type: str) -> dict[str, Any]:
        photo_id = str(uuid.uuid4())
        key = upload_key("uploads/", ALBUM, photo_id, content_type)
        self._store.put_object(BUCKET, key, data, content_type=content_type)
        event = {"bucket": BUCKET, "key": key, "album": ALBUM, "photoId": photo_id}
        measured: dict[str, Any] = self._runtime.invoke("measured", event)
        return measured


@pytest.fixture(scope="module")
def worker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Worker]:
    data_dir = tmp_path_factory.mktemp("memory")
    store = LocalObjectStore(data_dir / "objects")
    store.create_bucket(BUCKET)
    config = FunctionConfig(
        name="measured",
        handler="tests.imaging.measured_handler.make_renditions",
        memory_mb=MAKE_RENDITIONS.memory_mb,
        timeout_seconds=300,  # the machine running the tests may be busy
        environment={
            "BAKUSOKU_DATA_DIR": str(data_dir),
            "BAKUSOKU_OBJECT_STORE": "local",
            "BAKUSOKU_DATABASE_URL": f"sqlite:///{data_dir / 'unused.db'}",
        },
    )
    with FunctionRuntime([config], max_environments=1) as runtime:
        running = Worker(runtime, store)
        # Imports, codecs and the face detector load on the first photo, not in a measured one.
        running.render(encode(noisy_picture(1200, 900), "JPEG"), "image/jpeg")
        yield running


def _assert_within_the_bound(measured: dict[str, Any], data: bytes) -> None:
    pixels = open_photo(data).plan().pixels
    grew = measured["peak"] - measured["rss_before"]
    bound = peak_bytes(pixels, len(data))
    assert grew <= bound, f"the photo took {grew / MIB:.0f} MiB, the bound is {bound / MIB:.0f}"


def _assert_at_the_cap(measured: dict[str, Any], data: bytes) -> None:
    pixels = open_photo(data).plan().pixels
    assert 0.99 * CAP_PIXELS <= pixels <= CAP_PIXELS
    assert measured["peak"] <= AT_THE_CAP, f"the worker reached {measured['peak'] / MIB:.0f} MiB"
    # A full-size picture and more were really there: the bound is not met by doing no work.
    assert measured["peak"] - measured["rss_before"] > PIXEL_BYTES // 2 * pixels
    # The large photo's memory went back to the system, not kept for the next photo.
    assert measured["rss_after"] - measured["rss_before"] < KEEP_BYTES


def _assert_full_resolution_print(measured: dict[str, Any], size: tuple[int, int]) -> None:
    left, top, right, bottom = print_crop_box(*size)
    printed = measured["output"]["renditions"]["print"]
    assert (printed["width"], printed["height"]) == (right - left, bottom - top)


pytestmark = pytest.mark.integration


def test_a_12_mp_photo_stays_under_the_bound(worker: Worker, jpeg_12mp: bytes) -> None:
    measured = worker.render(jpeg_12mp, "image/jpeg")

    _assert_full_resolution_print(measured, (4000, 3000))
    _assert_within_the_bound(measured, jpeg_12mp)


def test_a_100_mp_camera_jpeg_stays_under_the_bound_and_1_gb(worker: Worker) -> None:
    # 3:2 is close to the print's 127:89, so the print crop is nearly the whole picture.
    data = encode(noisy_picture(12240, 8160), "JPEG", quality=90)

    measured = worker.render(data, "image/jpeg")

    _assert_full_resolution_print(measured, (12240, 8160))
    _assert_within_the_bound(measured, data)
    _assert_at_the_cap(measured, data)


def test_a_100_mp_transparent_png_stays_under_the_bound_and_1_gb(worker: Worker) -> None:
    data = encode(blocky_picture(9990, 9990, "RGBA"), "PNG")

    measured = worker.render(data, "image/png")

    _assert_full_resolution_print(measured, (9990, 9990))
    _assert_within_the_bound(measured, data)
    _assert_at_the_cap(measured, data)
