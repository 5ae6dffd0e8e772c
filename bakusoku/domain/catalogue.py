"""Errors the pipeline raises, and the stable code a failed photo shows for every error name."""

from __future__ import annotations

import json

from bakusoku.errors import BakusokuError


class PipelineError(BakusokuError):
    """Base of errors raised by the photo pipeline's handlers."""


class UploadRejectedError(PipelineError):
    """Raised when the stored object is not what was presigned (size over the cap or not as declared)."""

    code = "upload.rejected"


class ObjectMissingError(PipelineError):
    """Raised when the object named by the event no longer exists in the store."""

    code = "storage.not_found"


# Error names as the workflow sees them (Lambda's errorType, or a States.* / Lambda.* name) → code.
ERROR_CODES: dict[str, str] = {
    "EmptyImageError": "image.empty",
    "CorruptImageError": "image.corrupt",
    "UnsupportedImageError": "image.unsupported_format",
    "ImageTooLargeError": "image.too_large",
    "ImageTooSmallError": "image.too_small",
    "UploadRejectedError": "upload.rejected",
    "ObjectMissingError": "storage.not_found",
    # The object store could not be reached or answered with a server error.
    "StorageUnavailableError": "storage.unavailable",
    "EndpointConnectionError": "storage.unavailable",
    "ConnectTimeoutError": "storage.unavailable",
    "ReadTimeoutError": "storage.unavailable",
    "ServiceUnavailable": "storage.unavailable",
    "SlowDown": "storage.unavailable",
    "OperationalError": "db.unavailable",
    "DatabaseUnavailableError": "db.unavailable",
    "DatabaseBusyError": "db.unavailable",
    "Lambda.TooManyRequestsException": "task.throttled",
    "Lambda.ENILimitReachedException": "task.throttled",
    "Sandbox.Timedout": "task.timeout",
    "States.Timeout": "task.timeout",
    "States.TaskFailed": "internal",
}

_GENERIC_MESSAGES = {
    "task.throttled": "the pipeline was too busy to take the photo after every retry; re-drive it",
    "task.timeout": "a pipeline step ran out of time; re-drive it, and raise the function timeout "
    "if it happens again for large photos",
    "db.unavailable": "the database could not be reached; check it is running, then re-drive",
    "storage.unavailable": "the object store could not be reached; check it, then re-drive",
}


def describe_failure(error: str, cause: str | None) -> tuple[str, str]:
    """Turn a workflow error name and cause into ``(code, message)`` for the photo and alerts."""
    code = ERROR_CODES.get(error, "internal")
    message = ""
    if cause:
        try:
            parsed = json.loads(cause)
            message = str(parsed.get("errorMessage", "")) if isinstance(parsed, dict) else ""
        except ValueError:
            message = cause
    if code in _GENERIC_MESSAGES:
        message = (
            f"{_GENERIC_MESSAGES[code]} ({error}: {message})"
            if message
            else (_GENERIC_MESSAGES[code])
        )
    if not message:
        message = f"{error}: the photo could not be processed"
    return code, message[:2000]
