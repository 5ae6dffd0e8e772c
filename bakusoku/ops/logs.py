"""Log lines: JSON with photo, execution and request ids for machines, short text for a person,
and redaction of secrets in both.

Every line passes a redaction filter: presigned-URL query strings and SigV4 signatures, GPS values,
webhook URLs and any registered secret are replaced before the line is written. The format is the
``log_format`` setting: ``json``, ``text``, or ``auto`` (text when the output is a terminal).
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import re
import sys
from collections.abc import Iterable, Iterator
from typing import Any, Literal, TextIO

from bakusoku import utc
from bakusoku.config import ConfigError
from bakusoku.runtime import logs as runtime_logs

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "bakusoku_request_id", default=None
)
photo_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "bakusoku_photo_id", default=None
)
execution_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "bakusoku_execution", default=None
)

REDACTED = "[redacted]"
_PATTERNS = [
    # A presigned URL's query (credential, date, signature): keep the path, drop the query.
    (re.compile(r"(\?|&)(X-Amz-[A-Za-z-]+=)[^\s\"'&]*", re.IGNORECASE), r"\1\2" + REDACTED),
    (re.compile(r"(Signature=)[0-9a-fA-F]{16,}"), r"\1" + REDACTED),
    (re.compile(r"(Credential=)[^\s,\"'&]+"), r"\1" + REDACTED),
    (re.compile(r"https://hooks\.slack\.com/[^\s\"']+"), REDACTED),
    (re.compile(r"(Bearer\s+)[A-Za-z0-9._~+/=-]{8,}"), r"\1" + REDACTED),
    # GPS positions under any of their usual names, as numbers, rationals or tuples.
    (
        re.compile(
            r"(?i)([\"']?\b(?:gps[\w ]*|latitude|longitude|lat|lng|lon)[\"']?\s*[:=]\s*)"
            r"(\([^)]*\)|\[[^\]]*\]|\{[^}]*\}|\"[^\"]*\"|'[^']*'|[-+]?\d[\d.,/ ]*)"
        ),
        r"\1" + REDACTED,
    ),
]
_CONTEXT_FIELDS = ("function_name", "aws_request_id", "photo_id", "execution_name", "request_id")


class Redactor(logging.Filter):
    """Rewrites each record's message so no secret, signature or GPS value is written."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets: set[str] = {s for s in secrets if s and len(s) >= 6}

    def add(self, *secrets: str) -> None:
        self.secrets.update(s for s in secrets if s and len(s) >= 6)

    def redact(self, text: str) -> str:
        for secret in sorted(self.secrets, key=len, reverse=True):
            if secret in text:
                text = text.replace(secret, REDACTED)
        for pattern, replacement in _PATTERNS:
            text = pattern.sub(replacement, text)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        record.msg = self.redact(message)
        record.args = None
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and the ids in context."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": utc.iso_millis(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        context = {
            "request_id": request_id_var.get(),
            "photo_id": photo_id_var.get(),
            "execution_name": execution_var.get(),
        }
        for name in _CONTEXT_FIELDS:
            value = getattr(record, name, None) or context.get(name)
            if value:
                line[name] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exception"] = record.exc_text
        return json.dumps(line, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """One short line for a person: local time, level, logger and message."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s", datefmt="%H:%M:%S")


LOG_FORMATS = ("auto", "json", "text")
LogFormat = Literal["json", "text"]


def resolve_log_format(setting: str, stream: TextIO) -> LogFormat:
    """``json`` or ``text`` for the ``log_format`` setting; ``auto`` is text on a terminal only."""
    if setting not in LOG_FORMATS:
        raise ConfigError(
            f"setting 'log_format' has the bad value {setting!r}: use one of {', '.join(LOG_FORMATS)}"
        )
    if setting == "auto":
        return "text" if stream.isatty() else "json"
    return "json" if setting == "json" else "text"


class TerminalDetail(logging.Filter):
    """Drops detail a person at a terminal does not want at the default level.

    That is the function runtime's own lines (INIT_START, START, END, REPORT and the ``[ERROR]``
    block of a failed invocation: each failed photo gets its own line with its error code) and
    Alembic's migration steps. What the functions write, and every other warning, still shows.
    JSON lines keep them all, as CloudWatch Logs keeps Lambda's.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == runtime_logs.LIFECYCLE_LOGGER:
            return record.levelno >= logging.ERROR
        if record.name == "alembic" or record.name.startswith("alembic."):
            return record.levelno >= logging.WARNING
        return True


def configure_logging(redactor: Redactor, *, json_lines: bool = True) -> None:
    """Put the redactor and the format (JSON, else text) on every handler of the root logger."""
    root = logging.getLogger()
    if not root.handlers:
        root.addHandler(logging.StreamHandler(sys.stderr))
        root.setLevel(logging.INFO)
    for handler in root.handlers:
        if not any(isinstance(f, Redactor) for f in handler.filters):
            handler.addFilter(redactor)
        handler.setFormatter(JsonFormatter() if json_lines else TextFormatter())
    # httpx logs every request URL at INFO; webhook URLs are secrets.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)


@contextlib.contextmanager
def log_context(
    *, photo_id: str | None = None, execution_name: str | None = None
) -> Iterator[None]:
    """Tag log lines written inside the block with a photo and an execution."""
    tokens = []
    if photo_id is not None:
        tokens.append((photo_id_var, photo_id_var.set(photo_id)))
    if execution_name is not None:
        tokens.append((execution_var, execution_var.set(execution_name)))
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)
