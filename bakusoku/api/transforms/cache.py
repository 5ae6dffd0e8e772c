"""A bounded disk cache of transform outputs: size-capped, least recently used goes first.

Entries are files named by their key (the output's strong ETag), the content type on the first
line and the bytes after it, written whole (temporary file, then rename). The index of sizes and
use order lives in memory, rebuilt at start from the files' modification times (bumped on each
hit), so a restart keeps what was cached. One process owns a cache directory.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

_TMP_SUFFIX = ".tmp"


@dataclass(frozen=True, slots=True)
class CachedImage:
    data: bytes
    content_type: str


class TransformCache:
    """At most ``max_bytes`` of transform outputs under ``directory``."""

    def __init__(self, directory: Path, max_bytes: int) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._sizes: OrderedDict[str, int] = OrderedDict()  # oldest use first
        self._total = 0
        self._loaded = False
        self._broken = False

    @property
    def total_bytes(self) -> int:
        return self._total

    def get(self, key: str) -> CachedImage | None:
        name = _file_name(key)
        with self._lock:
            if not self._usable() or name not in self._sizes:
                return None
            self._sizes.move_to_end(name)
        try:
            raw = (self.directory / name).read_bytes()
            os.utime(self.directory / name)  # the order survives a restart
        except OSError:
            self._forget(name)
            return None
        content_type, _, data = raw.partition(b"\n")
        return CachedImage(data, content_type.decode("ascii", "replace"))

    def put(self, key: str, image: CachedImage) -> None:
        name = _file_name(key)
        size = len(image.data) + len(image.content_type) + 1
        if size > self.max_bytes:
            return
        try:
            with self._lock:
                if not self._usable():
                    return
                tmp = self.directory / f"{name}.{threading.get_ident()}{_TMP_SUFFIX}"
                tmp.write_bytes(image.content_type.encode("ascii") + b"\n" + image.data)
                os.replace(tmp, self.directory / name)
                self._total += size - self._sizes.pop(name, 0)
                self._sizes[name] = size
                self._evict()
        except OSError as exc:
            # A full or read-only disk costs the cache, never the answer.
            log.warning("transform cache: cannot write %s: %s", self.directory, exc)

    def _evict(self) -> None:
        while self._total > self.max_bytes and self._sizes:
            name, size = self._sizes.popitem(last=False)
            self._total -= size
            (self.directory / name).unlink(missing_ok=True)

    def _forget(self, name: str) -> None:
        with self._lock:
            self._total -= self._sizes.pop(name, 0)

    def _usable(self) -> bool:
        """Index the directory on first use; a directory that cannot be made or read turns the
        cache off for this process (a read-only data directory, as on AWS Lambda), never the
        answers (called under the lock)."""
        if self._broken:
            return False
        try:
            self._load()
        except OSError as exc:
            log.warning("transform cache off: cannot use %s: %s", self.directory, exc)
            self._broken = True
        return not self._broken

    def _load(self) -> None:
        """Index the files already there, oldest use first."""
        if self._loaded:
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        entries = []
        for path in self.directory.iterdir():
            if path.name.endswith(_TMP_SUFFIX):
                path.unlink(missing_ok=True)  # a write cut short by a crash
                continue
            stat = path.stat()
            entries.append((stat.st_mtime_ns, path.name, stat.st_size))
        for _, name, size in sorted(entries):
            self._sizes[name] = size
            self._total += size
        self._loaded = True
        self._evict()


def _file_name(key: str) -> str:
    # Keys are ETags (quotes and all): hash them into a safe, fixed-length file name.
    return hashlib.sha256(key.encode()).hexdigest()[:40]
