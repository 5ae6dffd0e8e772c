"""The documented error codes of failed photos and executions, and how an execution gets one."""

from __future__ import annotations

from dataclasses import dataclass

from bakusoku.domain.catalogue import ERROR_CODES, describe_failure


@dataclass(frozen=True)
class ErrorCode:
    """One stable code: what it means and what to do about it (the README lists the same)."""

    code: str
    meaning: str
    action: str


CATALOGUE: dict[str, ErrorCode] = {
    entry.code: entry
    for entry in (
        ErrorCode("image.empty", "the uploaded file has 0 bytes", "upload the photo again"),
        ErrorCode(
            "image.unsupported_format",
            "the bytes are not a JPEG, PNG, WebP or HEIC image",
            "upload the photo, not another file",
        ),
        ErrorCode(
            "image.corrupt",
            "an image, but damaged or truncated",
            "export or copy the photo again and re-upload",
        ),
        ErrorCode(
            "image.too_large", "more pixels than the decoder's safety limit", "resize the photo"
        ),
        ErrorCode(
            "image.too_small",
            "too few pixels for a print",
            "upload the original, not a thumbnail",
        ),
        ErrorCode(
            "upload.rejected",
            "the stored object differs from what was presigned (size)",
            "upload again",
        ),
        ErrorCode("storage.not_found", "the object disappeared before processing", "upload again"),
        ErrorCode(
            "storage.unavailable",
            "the object store could not be reached or failed",
            "check the object store, re-drive",
        ),
        ErrorCode(
            "db.unavailable", "the database could not be reached", "check the database, re-drive"
        ),
        ErrorCode("task.throttled", "the pipeline stayed too busy through every retry", "re-drive"),
        ErrorCode("task.timeout", "a step ran out of time", "re-drive; raise the function timeout"),
        ErrorCode(
            "internal",
            "anything else; the message says what",
            "report it with the execution name",
        ),
    )
}


def error_code(error: str | None, cause: str | None = None) -> str | None:
    """The stable code of an execution's ``error`` (the pipeline's Fail state already gives one)."""
    if not error:
        return None
    if error in CATALOGUE:
        return error
    if error in ERROR_CODES:
        return ERROR_CODES[error]
    return describe_failure(error, cause)[0]


def action_for(code: str | None) -> str:
    entry = CATALOGUE.get(code or "internal") or CATALOGUE["internal"]
    return entry.action
