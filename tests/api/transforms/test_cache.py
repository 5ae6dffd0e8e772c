"""The transform disk cache on a real directory: repeats, the size cap, LRU order, restarts."""

import os
from pathlib import Path

from bakusoku.api.transforms.cache import CachedImage, TransformCache


def image(size: int, fill: bytes = b"x") -> CachedImage:
    return CachedImage(fill * size, "image/webp")


def stored_bytes(directory: Path) -> int:
    return sum(p.stat().st_size for p in directory.iterdir())


def test_a_put_entry_comes_back_whole(tmp_path: Path) -> None:
    cache = TransformCache(tmp_path / "c", 10_000)
    assert cache.get('"a"') is None
    cache.put('"a"', CachedImage(b"\x00\n\xffpixels", "image/avif"))
    assert cache.get('"a"') == CachedImage(b"\x00\n\xffpixels", "image/avif")


def test_the_cap_holds_and_the_least_recently_used_goes_first(tmp_path: Path) -> None:
    directory = tmp_path / "c"
    entry = len(image(1000).data) + len("image/webp") + 1
    cache = TransformCache(directory, entry * 3)
    for key in ("a", "b", "c"):
        cache.put(key, image(1000))
    assert cache.get("a") is not None  # a is now the most recently used
    cache.put("d", image(1000))
    assert cache.get("b") is None
    assert all(cache.get(k) is not None for k in ("a", "c", "d"))
    assert cache.total_bytes == stored_bytes(directory) == entry * 3


def test_an_entry_larger_than_the_cap_is_not_kept(tmp_path: Path) -> None:
    cache = TransformCache(tmp_path / "c", 500)
    cache.put("big", image(1000))
    assert cache.get("big") is None and cache.total_bytes == 0


def test_a_restart_keeps_entries_and_their_use_order(tmp_path: Path) -> None:
    directory = tmp_path / "c"
    entry = len(image(1000).data) + len("image/webp") + 1
    first = TransformCache(directory, entry * 2)
    first.put("old", image(1000))
    first.put("new", image(1000))
    old, new = sorted(directory.iterdir(), key=lambda p: p.stat().st_mtime_ns)
    os.utime(old, ns=(1, 1))  # make the use order unambiguous on coarse clocks
    os.utime(new, ns=(2, 2))
    (directory / "half-written.1.tmp").write_bytes(b"junk")
    second = TransformCache(directory, entry * 2)
    assert second.get("new") is not None
    second.put("newest", image(1000))
    assert second.get("old") is None and second.get("new") is not None
    assert not list(directory.glob("*.tmp"))
    assert second.total_bytes == stored_bytes(directory)


def test_a_shrunk_cap_evicts_at_start(tmp_path: Path) -> None:
    directory = tmp_path / "c"
    big = TransformCache(directory, 100_000)
    for key in "abcdef":
        big.put(key, image(1000))
    small = TransformCache(directory, 2500)
    assert small.get("f") is not None
    assert stored_bytes(directory) <= 2500


def test_a_directory_that_cannot_be_made_turns_the_cache_off_not_the_answers(
    tmp_path: Path,
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_bytes(b"")
    cache = TransformCache(blocker / "cache", 10_000)  # under a file: mkdir fails
    cache.put("a", image(10))
    assert cache.get("a") is None and cache.total_bytes == 0
