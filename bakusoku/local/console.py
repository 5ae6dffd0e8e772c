"""What ``bakusoku up`` prints for a person: the banner, a line per photo, a summary on stop.

The banner says where everything is once the servers answer. At a terminal (``log_format`` text),
each upload gets a line when the pipeline trigger receives it and another when its execution ends
(ready, failed with its error code, or a duplicate, with the time it took), and stopping prints
how many photos this run saw and the median time to ready. The photo lines come from the trigger's
and the workflow engine's listeners, not from polling; JSON log lines carry the facts for machines.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

import sqlalchemy as sa

from bakusoku.config import Settings
from bakusoku.domain.keys import photo_ref
from bakusoku.events import ObjectCreated, parse_object_created
from bakusoku.events.errors import EventError
from bakusoku.faces.backends import missing_packages as missing_face_packages
from bakusoku.races.readers import missing_packages as missing_bib_packages
from bakusoku.workflow.engine import ExecutionDescription

FindPhoto = Callable[[str], Mapping[str, Any] | None]
FINAL = ("ready", "failed", "duplicate")


def banner_lines(settings: Settings, version: str) -> list[str]:
    """Where the web app, API, store, data and database are, and how to stop."""
    api = settings.api_url
    database = sa.make_url(settings.effective_database_url).render_as_string(hide_password=True)
    return [
        f"bakusoku {version} is up",
        f"  web app:      {api}/  (upload page: {api}/upload)",
        f"  API:          {api}/v1  (docs: {api}/docs)",
        f"  object store: {settings.store_url}/{settings.bucket}",
        f"  data:         {settings.data_dir.resolve()}",
        f"  database:     {database}",
        f"  workers:      {settings.effective_workers}",
        *missing_extras(settings),
        "Press Ctrl-C to stop.",
    ]


def missing_extras(settings: Settings) -> list[str]:
    """What the configured face index and bib reader lack on this machine (an extra not
    installed): photos are still kept, their faces unindexed or their bibs left to staff."""
    lines = []
    if faces := missing_face_packages(settings):
        lines.append(f"  faces:        not indexed: {faces}")
    if bibs := missing_bib_packages(settings):
        lines.append(f"  bibs:         not read: {bibs}")
    return lines


class PhotoConsole:
    """Writes one line per received and per finished photo, and the run's summary.

    ``received`` is a pipeline-trigger listener, ``ended`` a workflow-engine listener; both may be
    called from several threads at once. ``find_photo`` reads a photo's row by id.
    """

    def __init__(
        self,
        find_photo: FindPhoto,
        upload_prefix: str,
        write: Callable[[str], None],
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._find = find_photo
        self._prefix = upload_prefix
        self._write = write
        self._clock = clock
        self._lock = threading.Lock()
        self.counts: Counter[str] = Counter()
        self.seconds_to_ready: list[float] = []

    def received(self, record: ObjectCreated) -> None:
        ref = photo_ref(record.bucket, record.key, self._prefix)
        photo = self._find(ref.photo_id) or {}
        size = f" ({_size(record.size)})" if record.size is not None else ""
        name = _name(photo, record.key)
        self._line("received", f"{name}{size} into {ref.album}, photo {ref.photo_id}")
        with self._lock:
            self.counts["received"] += 1

    def ended(self, description: ExecutionDescription) -> None:
        records = _records(description)
        if not records:
            return
        record = records[0]
        photo = self._find(photo_ref(record.bucket, record.key, self._prefix).photo_id) or {}
        status = photo.get("status")
        outcome = status if status in FINAL else "failed"  # e.g. an execution stopped by hand
        seconds = _seconds(description)
        took = f"{_name(photo, record.key)} in {_duration(seconds)}"
        self._line(outcome, took + _why(outcome, photo, description))
        with self._lock:
            self.counts[outcome] += 1
            if outcome == "ready":
                self.seconds_to_ready.append(seconds)

    def summary(self) -> str:
        """``photos this run: 3 received, 2 ready, 1 failed, 0 duplicate; p50 to ready 1.2 s``."""
        with self._lock:
            counts = ", ".join(f"{self.counts[n]} {n}" for n in ("received", *FINAL))
            times = list(self.seconds_to_ready)
        p50 = f"; p50 to ready {_duration(statistics.median(times))}" if times else ""
        return f"photos this run: {counts}{p50}"

    def _line(self, event: str, text: str) -> None:
        stamp = time.strftime("%H:%M:%S", time.localtime(self._clock()))
        line = f"{stamp} {event:<9} {text}"
        with self._lock:
            self._write(line)


def _why(outcome: str, photo: Mapping[str, Any], description: ExecutionDescription) -> str:
    """What follows the time on a photo's last line: nothing, its original, or its error."""
    if outcome == "ready":
        return ""
    if outcome == "duplicate":
        return f": same bytes as photo {photo['duplicate_of']}"
    code = photo.get("error_code") or description.error or description.status
    message = _short(photo.get("error_message") or description.cause or "")
    return f": {code}" + (f" ({message})" if message else "")


def _records(description: ExecutionDescription) -> list[ObjectCreated]:
    """The upload an execution processed; none for an execution whose input is no upload."""
    try:
        return parse_object_created(description.input)
    except EventError:
        return []


def _name(photo: Mapping[str, Any], key: str) -> str:
    return str(photo.get("filename") or key.rsplit("/", 1)[-1])


def _short(message: str, limit: int = 160) -> str:
    message = " ".join(message.split())
    return message if len(message) <= limit else message[: limit - 1] + "…"


def _seconds(description: ExecutionDescription) -> float:
    if description.stop_date is None:
        return 0.0
    return max(0.0, (description.stop_date - description.start_date).total_seconds())


def _duration(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.1f} s"


def _size(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} KiB"
    return f"{size / 1024 / 1024:.1f} MiB"
