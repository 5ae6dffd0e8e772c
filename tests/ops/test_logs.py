"""Log lines: JSON with the ids in context; never a signature, a GPS value or a secret."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable

import pytest

from bakusoku.config import ConfigError
from bakusoku.ops.logs import (
    JsonFormatter,
    Redactor,
    TerminalDetail,
    log_context,
    request_id_var,
    resolve_log_format,
)
from bakusoku.runtime import logs as runtime_logs

PRESIGNED = (
    "http://127.0.0.1:8081/bakusoku/uploads/a/b.jpg?X-Amz-Algorithm=AWS4-HMAC-SHA256"
    "&X-Amz-Credential=BKSK0123%2F20261123%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20261123T201500Z"
    "&X-Amz-Expires=900&X-Amz-SignedHeaders=content-length%3Bhost"
    "&X-Amz-Signature=9f8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a39281706f5e4d3c2b1a0"
)


def test_presigned_urls_lose_their_credentials_and_signature() -> None:
    text = Redactor().redact(f"PUT {PRESIGNED} failed")
    assert "9f8e7d6c5b4a" not in text and "BKSK0123" not in text
    assert text.startswith("PUT http://127.0.0.1:8081/bakusoku/uploads/a/b.jpg?X-Amz-Algorithm=")
    header = "AWS4-HMAC-SHA256 Credential=AKID/20261123/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=0123456789abcdef0123456789abcdef"
    assert "0123456789abcdef" not in Redactor().redact(header)
    assert "AKID/2026" not in Redactor().redact(header)


def test_gps_values_are_redacted_in_every_usual_shape() -> None:
    redactor = Redactor()
    for line in (
        "exif {'GPSLatitude': (35.0, 39.0, 0.0), 'GPSLongitude': (139.0, 44.0, 0.0)}",
        'photo {"gps": {"lat": 35.65, "lon": 139.7333}}',
        "position latitude=35.65 longitude=139.7333",
        "GPSInfo: 35/1, 39/1, 0/1",
    ):
        text = redactor.redact(line)
        assert "35" not in text and "139" not in text, text


def test_registered_secrets_and_slack_urls_never_pass() -> None:
    redactor = Redactor(["whsec-abcdef123456"])
    text = redactor.redact(
        "posting to https://hooks.slack.com/services/T000/B000/XXXXabc with key whsec-abcdef123456"
    )
    assert "hooks.slack.com" not in text and "whsec-abcdef123456" not in text
    assert "bk_live_0123456789" not in redactor.redact("Authorization: Bearer bk_live_0123456789")


def test_json_lines_carry_request_photo_and_execution_ids() -> None:
    record = logging.LogRecord(
        "bakusoku.test", logging.INFO, __file__, 1, "hello %s", ("world",), None
    )
    token = request_id_var.set("req-1")
    try:
        with log_context(photo_id="p-1", execution_name="e-1"):
            line = json.loads(JsonFormatter().format(record))
    finally:
        request_id_var.reset(token)
    assert line["message"] == "hello world"
    assert (line["request_id"], line["photo_id"], line["execution_name"]) == ("req-1", "p-1", "e-1")
    assert line["level"] == "INFO" and line["time"].endswith("Z")


def test_the_filter_rewrites_records_before_any_handler_formats_them() -> None:
    record = logging.LogRecord(
        "bakusoku.test", logging.WARNING, __file__, 1, "upload to %s", (PRESIGNED,), None
    )
    assert Redactor().filter(record)
    assert "X-Amz-Signature=[redacted]" in record.getMessage()


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_auto_is_text_on_a_terminal_and_json_otherwise() -> None:
    assert resolve_log_format("auto", _Terminal()) == "text"
    assert resolve_log_format("auto", io.StringIO()) == "json"
    assert resolve_log_format("json", _Terminal()) == "json"
    assert resolve_log_format("text", io.StringIO()) == "text"
    with pytest.raises(ConfigError, match="'log_format' has the bad value 'yaml'"):
        resolve_log_format("yaml", io.StringIO())


def _records_of(*emit: Callable[[], None]) -> list[logging.LogRecord]:
    """What the function runtime's loggers write when ``emit`` runs."""
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logger = runtime_logs.logger  # what the functions write propagates to it
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        for call in emit:
            call()
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    return records


def test_a_terminal_is_spared_start_end_report_but_not_what_functions_write() -> None:
    records = _records_of(
        lambda: runtime_logs.init_start("store-photo", "r-1"),
        lambda: runtime_logs.start("store-photo", "r-1"),
        lambda: runtime_logs.function_error("store-photo", "r-1", {"errorType": "Oops"}),
        lambda: runtime_logs.end("store-photo", "r-1"),
        lambda: runtime_logs.report(
            "store-photo",
            "r-1",
            duration_ms=12.0,
            memory_mb=512,
            max_memory_used_mb=80,
            init_duration_ms=None,
        ),
        lambda: runtime_logs.function_output("store-photo", "r-1", "[WARNING]\tt\tr-1\tslow disk"),
    )
    shown = [r.getMessage() for r in records if TerminalDetail().filter(r)]
    assert len(records) == 6
    assert shown == ["slow disk"]


def test_a_terminal_is_spared_migration_steps_but_not_warnings() -> None:
    step = logging.LogRecord(
        "alembic.runtime.migration", logging.INFO, __file__, 1, "Running", (), None
    )
    trouble = logging.LogRecord("alembic", logging.WARNING, __file__, 1, "odd", (), None)
    ours = logging.LogRecord("bakusoku.trigger", logging.INFO, __file__, 1, "sweep", (), None)
    assert [TerminalDetail().filter(r) for r in (step, trouble, ours)] == [False, True, True]
