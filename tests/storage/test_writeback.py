"""Early writeback of a file's new bytes: available on Linux, never in the way of the data."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from bakusoku.storage.writeback import start_writeback


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="sync_file_range is Linux's")
def test_linux_has_the_call() -> None:
    assert start_writeback is not None


@pytest.mark.skipif(start_writeback is None, reason="no sync_file_range here")
def test_queued_range_reads_back_whole_and_then_fsyncs(tmp_path: Path) -> None:
    assert start_writeback is not None
    data = os.urandom(2 * 1024 * 1024 + 123)
    path = tmp_path / "object"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        os.write(fd, data[: 1024 * 1024])
        start_writeback(fd, 0, 1024 * 1024)
        os.write(fd, data[1024 * 1024 :])
        start_writeback(fd, 1024 * 1024, len(data) - 1024 * 1024)
        os.fsync(fd)
    finally:
        os.close(fd)
    assert path.read_bytes() == data


@pytest.mark.skipif(start_writeback is None, reason="no sync_file_range here")
def test_a_failing_call_is_left_to_the_fsync_that_follows(tmp_path: Path) -> None:
    assert start_writeback is not None
    fd = os.open(tmp_path / "gone", os.O_WRONLY | os.O_CREAT, 0o644)
    os.close(fd)
    start_writeback(fd, 0, 4096)  # a closed descriptor: EBADF, ignored rather than raised
