"""Writing past the page cache: aligned buffers go to disk directly, anything else the usual way,
and the file always holds exactly the bytes given, in order (real files under ``tmp_path``)."""

from __future__ import annotations

import fcntl
import mmap
import os
from pathlib import Path

import pytest

from bakusoku.storage.direct_write import ALIGNMENT, O_DIRECT, open_new, write_all

pytestmark = pytest.mark.integration

FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL


def _aligned(data: bytes) -> memoryview:
    """``data`` in page-aligned memory, as the store's receive buffers are."""
    buffer = mmap.mmap(-1, max(len(data), 1))
    buffer[: len(data)] = data
    return memoryview(buffer)[: len(data)]


def _is_direct(fd: int) -> bool:
    return bool(fcntl.fcntl(fd, fcntl.F_GETFL) & O_DIRECT)


@pytest.fixture
def direct_fd(tmp_path: Path) -> tuple[int, Path]:
    path = tmp_path / "upload"
    fd, direct = open_new(path, FLAGS, 0o644, direct=True)
    if not direct:
        os.close(fd)
        pytest.skip(f"{tmp_path} is on a file system without O_DIRECT")
    return fd, path


def test_whole_aligned_buffers_stay_direct_and_a_short_tail_ends_it(
    direct_fd: tuple[int, Path],
) -> None:
    fd, path = direct_fd
    first, second, tail = os.urandom(2 * ALIGNMENT), os.urandom(ALIGNMENT), os.urandom(100)
    try:
        assert _is_direct(fd)
        assert write_all(fd, [_aligned(first), _aligned(second)], direct=True) is True
        assert _is_direct(fd)
        assert write_all(fd, [_aligned(tail)], direct=True) is False
        assert not _is_direct(fd)
        assert write_all(fd, [b"more"], direct=False) is False
    finally:
        os.close(fd)
    assert path.read_bytes() == first + second + tail + b"more"


def test_a_buffer_the_disk_refuses_for_its_address_is_written_the_usual_way(
    direct_fd: tuple[int, Path],
) -> None:
    fd, path = direct_fd
    data = os.urandom(2 * ALIGNMENT + 1)
    misplaced = _aligned(data)[1:]  # a whole number of blocks, one byte off a page boundary
    try:
        assert write_all(fd, [misplaced], direct=True) is False
        assert not _is_direct(fd)
    finally:
        os.close(fd)
    assert path.read_bytes() == data[1:]


def test_bytes_of_any_length_are_written_in_order_when_not_direct(tmp_path: Path) -> None:
    path = tmp_path / "plain"
    fd, direct = open_new(path, FLAGS, 0o644, direct=False)
    chunks = [os.urandom(n) for n in (1, ALIGNMENT, 3 * ALIGNMENT + 7, 0, 5)]
    try:
        assert direct is False and not _is_direct(fd)
        assert write_all(fd, chunks, direct=False) is False
    finally:
        os.close(fd)
    assert path.read_bytes() == b"".join(chunks)
