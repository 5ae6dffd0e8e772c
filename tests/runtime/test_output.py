"""What a worker writes (logging, print, stderr) is logged by the parent, redacted, with its ids."""

from __future__ import annotations

import io
import json
import logging
import os
from collections.abc import Iterator

import pytest

from bakusoku.ops.logs import JsonFormatter, Redactor, log_context
from tests.runtime.conftest import RuntimeFactory, fn

SECRET = "hooks-secret-value-0123456789"
LEAK = (
    f"{SECRET} http://127.0.0.1:8081/bakusoku/x.jpg?X-Amz-Signature=0123456789abcdef0123456789abcdef"
    ' {"gps": {"latitude": 35.6581, "longitude": 139.7414}}'
)


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """The root logger as ``bakusoku up`` configures it: JSON lines through the redactor."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(Redactor([SECRET]))
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield stream
    root.removeHandler(handler)
    root.setLevel(level)


def test_worker_output_is_logged_by_the_parent_redacted_and_tagged(
    make_runtime: RuntimeFactory, log_lines: io.StringIO
) -> None:
    runtime = make_runtime(fn("chatty", "tests.runtime.handlers.chatty.handler"))
    with log_context(photo_id="photo-1", execution_name="exec-1"):
        runtime.invoke("chatty", {"say": LEAK}, request_id="req-1")
    records = [json.loads(line) for line in log_lines.getvalue().splitlines()]
    worker = [r for r in records if r["logger"] == "bakusoku.runtime.function"]
    messages = [r["message"] for r in worker]
    assert any(m.startswith("logged ") for m in messages)
    assert any(m.startswith("printed ") for m in messages)
    assert any(m.startswith("stderr ") for m in messages)
    # One record with a traceback stays one log line, as Lambda keeps it one log event.
    (traceback,) = [m for m in messages if m.startswith("a traceback follows")]
    assert "Traceback (most recent call last):" in traceback and "ValueError: raised" in traceback
    for r in worker:
        assert r["function_name"] == "chatty" and r["aws_request_id"] == "req-1"
        assert r["photo_id"] == "photo-1" and r["execution_name"] == "exec-1"
    text = log_lines.getvalue()
    for value in (SECRET, "0123456789abcdef0123456789abcdef", "35.6581", "139.7414"):
        assert value not in text
    assert "[redacted]" in text
    # The START line comes before the function's lines, END and REPORT after them.
    order = [r["message"].split(" ", 1)[0] for r in records]
    assert order.index("START") < order.index("logged") < order.index("END")


def test_withheld_variables_never_reach_a_worker(
    make_runtime: RuntimeFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BAKUSOKU_SLACK_WEBHOOK_URL", f"https://hooks.example/{SECRET}")
    monkeypatch.setenv("BAKUSOKU_KEPT", "yes")
    runtime = make_runtime(
        fn("chatty", "tests.runtime.handlers.chatty.handler"),
        withhold=["BAKUSOKU_SLACK_WEBHOOK_URL"],
    )
    names = runtime.invoke("chatty", {"say": "hello"})
    assert "BAKUSOKU_KEPT" in names and "BAKUSOKU_SLACK_WEBHOOK_URL" not in names
    assert os.environ["BAKUSOKU_SLACK_WEBHOOK_URL"]  # this process keeps it
