"""``bakusoku up`` as a person runs it, on a pseudo-terminal, stopped with Ctrl-C.

On a terminal it prints the banner, a line per photo received and per photo ready, failed (with
the code the API reports) or duplicate, and a summary; JSON log lines when asked for them.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.conftest import make_jpeg
from tests.e2e.server import RunningServer
from tests.e2e.test_pipeline_end_to_end import upload, wait_final

pytestmark = pytest.mark.integration

TIME = r"\d\d:\d\d:\d\d"
TOOK = r"\d+ ms|\d+\.\d s"
LIFECYCLE = ("START RequestId", "END RequestId", "REPORT RequestId", "INIT_START")
BANNER = re.compile(r"^(bakusoku \S+ is up|  \w.*|Press Ctrl-C to stop\.|stopping: .*|stopped)$")


def screen(server: RunningServer) -> list[str]:
    return server.log_path.read_text(errors="replace").splitlines()


def test_on_a_terminal_up_prints_each_photo_and_a_summary_on_ctrl_c(tmp_path: Path) -> None:
    server = RunningServer(tmp_path / "data", terminal=True).start()
    try:
        photo = make_jpeg(1200, 900)
        ready = upload(server.api, photo, filename="race-01.jpg", album="console")
        assert wait_final(server.api, ready)["status"] == "ready"
        broken = upload(server.api, b"\xff\xd8 not a photo" * 64, filename="notes.jpg")
        error = wait_final(server.api, broken)["error"]
        again = upload(server.api, photo, filename="race-01 copy.jpg", album="console")
        assert wait_final(server.api, again)["status"] == "duplicate"
    finally:
        assert server.interrupt() == 0, server.log()

    lines = screen(server)
    text = "\n".join(lines)
    for label in ("web app", "API", "object store", "data", "database", "workers"):
        assert re.search(rf"^  {label}: +\S", text, re.M), f"no {label} in the banner:\n{text}"
    assert "Press Ctrl-C to stop." in lines
    expected = [
        rf"{TIME} received  race-01\.jpg \(\d+ KiB\) into console, photo {ready}",
        rf"{TIME} ready     race-01\.jpg in ({TOOK})",
        rf"{TIME} received  notes\.jpg \(\d+ B\) into e2e, photo {broken}",
        rf"{TIME} failed    notes\.jpg in ({TOOK}): {re.escape(error['code'])} \(.+\)",
        rf"{TIME} duplicate race-01 copy\.jpg in ({TOOK}): same bytes as photo {ready}",
        r"photos this run: 3 received, 1 ready, 1 failed, 1 duplicate; "
        rf"p50 to ready ({TOOK})",
    ]
    for pattern in expected:
        assert any(re.fullmatch(pattern, line) for line in lines), f"{pattern!r} not in:\n{text}"
    assert not [line for line in lines if any(word in line for word in LIFECYCLE)], text
    assert not [line for line in lines if line.startswith("{")], text
    assert lines[-1] == "stopped"


def test_with_log_format_json_a_terminal_gets_the_json_lines_and_no_photo_lines(
    tmp_path: Path,
) -> None:
    server = RunningServer(tmp_path / "data", terminal=True, args=("--log-format", "json"))
    server.start()
    try:
        photo_id = upload(server.api, make_jpeg(1200, 900), filename="race-01.jpg")
        assert wait_final(server.api, photo_id)["status"] == "ready"
    finally:
        assert server.interrupt() == 0, server.log()

    lines = screen(server)
    others = [line for line in lines if not line.startswith("{") and not BANNER.match(line)]
    assert others == [], "\n".join(lines)
    records = [json.loads(line) for line in lines if line.startswith("{")]
    messages = [record["message"] for record in records]
    for word in LIFECYCLE:
        assert any(message.startswith(word) for message in messages), f"no {word} line"
    assert all({"time", "level", "logger", "message"} <= record.keys() for record in records)
