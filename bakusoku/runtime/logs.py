"""START / END / REPORT lines in Lambda's format, through the ``bakusoku.runtime`` logger, and
what the functions themselves write, through ``bakusoku.runtime.function``."""

from __future__ import annotations

import logging
import math
import re
import sys
from collections.abc import Mapping
from typing import Any

LIFECYCLE_LOGGER = "bakusoku.runtime"  # INIT_START, START, END, REPORT and the [ERROR] block
logger = logging.getLogger(LIFECYCLE_LOGGER)
function_logger = logging.getLogger(f"{LIFECYCLE_LOGGER}.function")

# A line of the worker's logging handler: ``[LEVEL]\ttime\trequest id\tmessage``.
_LAMBDA_LINE = re.compile(
    r"^\[(?P<level>[A-Z]+)\]\t[^\t]*\t(?P<request_id>[^\t]*)\t(?P<message>.*)$", re.S
)
_LEVELS = {
    "DEBUG": logging.DEBUG,
    "INFO": logging.INFO,
    "WARNING": logging.WARNING,
    "ERROR": logging.ERROR,
    "CRITICAL": logging.CRITICAL,
}


def _extra(function_name: str, request_id: str) -> Mapping[str, Any]:
    return {"function_name": function_name, "aws_request_id": request_id}


def init_start(function_name: str, request_id: str) -> None:
    """Lambda's first line of a new environment's log stream."""
    runtime = "python:{}.{}".format(*sys.version_info[:2])
    logger.info("INIT_START Runtime Version: %s", runtime, extra=_extra(function_name, request_id))


def start(function_name: str, request_id: str) -> None:
    logger.info(
        "START RequestId: %s Version: $LATEST", request_id, extra=_extra(function_name, request_id)
    )


def end(function_name: str, request_id: str) -> None:
    logger.info("END RequestId: %s", request_id, extra=_extra(function_name, request_id))


def billed_ms(duration_ms: float, init_duration_ms: float | None) -> int:
    # Lambda bills in 1 ms steps and, since August 2025, bills the init phase too.
    return max(1, math.ceil(duration_ms + (init_duration_ms or 0.0)))


def report(
    function_name: str,
    request_id: str,
    *,
    duration_ms: float,
    memory_mb: int,
    max_memory_used_mb: int,
    init_duration_ms: float | None,
    status: str | None = None,
    error_type: str | None = None,
) -> None:
    parts = [
        f"REPORT RequestId: {request_id}",
        f"Duration: {duration_ms:.2f} ms",
        f"Billed Duration: {billed_ms(duration_ms, init_duration_ms)} ms",
        f"Memory Size: {memory_mb} MB",
        f"Max Memory Used: {max_memory_used_mb} MB",
    ]
    if init_duration_ms is not None:
        parts.append(f"Init Duration: {init_duration_ms:.2f} ms")
    if status is not None:
        parts.append(f"Status: {status}")
    if error_type is not None:
        parts.append(f"Error Type: {error_type}")
    logger.info("\t".join(parts), extra=_extra(function_name, request_id))


def function_error(function_name: str, request_id: str, error: Mapping[str, Any]) -> None:
    """The ``[ERROR]`` block Lambda's runtime writes when a handler fails."""
    lines = [f"[ERROR] {error.get('errorType')}: {error.get('errorMessage')}"]
    trace = error.get("stackTrace") or []
    if trace:
        lines.append("Traceback (most recent call last):")
        lines.extend(str(frame).rstrip("\n") for frame in trace)
    logger.warning("\n".join(lines), extra=_extra(function_name, request_id))


def function_output(function_name: str, request_id: str, line: str) -> None:
    """One line a worker wrote (a log record of its handler, a print, a traceback on stderr).

    Logged in this process so it passes the same handlers and filters as every other line: the
    level and request id of a logging record are kept, ``\\r`` (a newline inside one record)
    becomes a newline again.
    """
    line = line.rstrip("\r")
    if not line.strip():
        return
    level = logging.INFO
    match = _LAMBDA_LINE.match(line)
    if match and match["level"] in _LEVELS:
        level = _LEVELS[match["level"]]
        request_id = match["request_id"] or request_id
        line = match["message"]
    function_logger.log(
        level, "%s", line.replace("\r", "\n"), extra=_extra(function_name, request_id)
    )
