"""The error catalogue: every stable code a failed photo can show, and everything derived from it.

One entry per code says what it means, what to do, which error names (as the workflow sees them)
give it, whether the pipeline retries those errors, and the message to show when the error's own says
too little. The error-name → code mapping, the failure message of a photo, the action in alerts and
the README's table are all read from ``CATALOGUE``; the exception classes' ``code`` attributes and the
pipeline's Retry rules are checked against it by tests. ``python -m bakusoku.domain.catalogue
--markdown`` prints the README's table.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from dataclasses import dataclass

FALLBACK_CODE = "internal"
"""The code of any error the catalogue does not name."""


@dataclass(frozen=True)
class ErrorCode:
    """One stable code: what it means, what to do, and which errors end a photo with it.

    ``error_names`` are Lambda's ``errorType`` (our exception class names, botocore's, S3's) or a
    ``States.*`` / ``Lambda.*`` name. ``retried`` says whether the pipeline's Retry rules try those
    errors again before the photo fails (the same bytes never decode on a second try, a busy database
    can). ``generic_message`` replaces the failure message when the error's own is a bare exception
    text that does not say what to do.
    """

    code: str
    meaning: str
    action: str
    error_names: tuple[str, ...]
    retried: bool
    generic_message: str | None = None


CATALOGUE: dict[str, ErrorCode] = {
    entry.code: entry
    for entry in (
        ErrorCode(
            "image.empty",
            "the uploaded file has 0 bytes",
            "upload the photo again",
            ("EmptyImageError",),
            retried=False,
        ),
        ErrorCode(
            "image.unsupported_format",
            "the bytes are not a JPEG, PNG, WebP or HEIC image (GIF, SVG, PSD, raw files; TIFF"
            " unless `allow_tiff`)",
            "upload the photo, not another file",
            ("UnsupportedImageError",),
            retried=False,
        ),
        ErrorCode(
            "image.corrupt",
            "an image, but damaged or truncated",
            "export or copy the photo again and re-upload",
            ("CorruptImageError",),
            retried=False,
        ),
        ErrorCode(
            "image.too_large",
            "the header declares more pixels than `max_image_pixels` (100 MP); nothing is decoded",
            "resize the photo",
            ("ImageTooLargeError",),
            retried=False,
        ),
        ErrorCode(
            "image.too_small",
            "the short side is under `min_print_short_edge` (300 px): too few pixels to print",
            "upload the original, not a thumbnail or messenger copy",
            ("ImageTooSmallError",),
            retried=False,
        ),
        ErrorCode(
            "upload.rejected",
            "the stored object differs from what was presigned (size)",
            "upload again",
            ("UploadRejectedError",),
            retried=False,
        ),
        ErrorCode(
            "storage.not_found",
            "the object disappeared before processing",
            "upload again",
            ("ObjectMissingError",),
            retried=False,
        ),
        ErrorCode(
            "storage.unavailable",
            "the object store could not be reached or answered with a server error",
            "check the object store, re-drive",
            (
                "StorageUnavailableError",
                "EndpointConnectionError",
                "ConnectTimeoutError",
                "ReadTimeoutError",
                "ServiceUnavailable",
                "SlowDown",
            ),
            retried=True,
            generic_message="the object store could not be reached; check it, then re-drive",
        ),
        ErrorCode(
            "task.throttled",
            "the pipeline stayed too busy through every retry",
            "re-drive",
            ("Lambda.TooManyRequestsException", "Lambda.ENILimitReachedException"),
            retried=True,
            generic_message="the pipeline was too busy to take the photo after every retry;"
            " re-drive it",
        ),
        ErrorCode(
            "task.timeout",
            "a step ran out of time",
            "re-drive; raise the function timeout",
            ("Sandbox.Timedout", "States.Timeout"),
            retried=True,
            generic_message="a pipeline step ran out of time; re-drive it, and raise the function"
            " timeout if it happens again for large photos",
        ),
        ErrorCode(
            "db.unavailable",
            "the database could not be reached",
            "check the database, re-drive",
            ("OperationalError", "DatabaseUnavailableError", "DatabaseBusyError"),
            retried=True,
            generic_message="the database could not be reached; check it is running, then re-drive",
        ),
        ErrorCode(
            "faces.unindexed",
            "the photo is ready, but its faces could not be indexed (the face index failed, or its"
            " packages are not installed): it is missing from face search",
            "install the `faces` extra or set `face_index: off`, then `bakusoku faces reindex`",
            ("FaceIndexError",),
            retried=False,
        ),
        ErrorCode(
            "faces.throttled",
            "the face index (Amazon Rekognition) stayed over its requests-per-second quota"
            " through every retry: the photo is ready, its faces unindexed",
            "`bakusoku faces reindex` later; ask for a higher Rekognition quota (IndexFaces) in"
            " Service Quotas",
            ("FaceIndexThrottledError",),
            retried=True,
        ),
        ErrorCode(
            "faces.unavailable",
            "the face index could not be reached or failed on its side: the photo is ready, its"
            " faces unindexed",
            "check the face index (Rekognition's health, the network path to it), then"
            " `bakusoku faces reindex`",
            ("FaceIndexUnavailableError",),
            retried=True,
        ),
        ErrorCode(
            "bibs.unread",
            "the race photo is ready, but its bib numbers could not be read (the text engine"
            " failed, or its packages are not installed): it is in the race's bib-unknown set",
            "install the `bibs` extra, or tag the photo in the race's bib review",
            ("BibReadError",),
            retried=False,
        ),
        ErrorCode(
            FALLBACK_CODE,
            "anything else; the message says what",
            "report it with the execution name",
            ("States.TaskFailed",),
            retried=True,
        ),
    )
}

ERROR_CODES: dict[str, str] = {
    name: entry.code for entry in CATALOGUE.values() for name in entry.error_names
}
"""Error name as the workflow sees it → the code of the photo it fails."""

MAX_MESSAGE = 2000


def code_of(error: str) -> str:
    """The code a workflow error name gives a photo; ``internal`` for a name not catalogued."""
    return ERROR_CODES.get(error, FALLBACK_CODE)


def describe_failure(error: str, cause: str | None) -> tuple[str, str]:
    """Turn a workflow error name and cause into ``(code, message)`` for the photo and alerts."""
    code = code_of(error)
    message = _cause_message(cause)
    generic = CATALOGUE[code].generic_message
    if generic:
        message = f"{generic} ({error}: {message})" if message else generic
    if not message:
        message = f"{error}: the photo could not be processed"
    return code, message[:MAX_MESSAGE]


def _cause_message(cause: str | None) -> str:
    """The ``errorMessage`` of a Lambda-style JSON cause, or the cause itself when it is plain text."""
    if not cause:
        return ""
    try:
        parsed = json.loads(cause)
    except ValueError:
        return cause
    return str(parsed.get("errorMessage", "")) if isinstance(parsed, dict) else ""


def failure_code(error: str | None) -> str | None:
    """The stable code of an execution's ``error``: the pipeline's Fail state already gives a code,
    a failure before it gives an error name; None when the execution did not fail."""
    if not error:
        return None
    return error if error in CATALOGUE else code_of(error)


def action_for(code: str | None) -> str:
    """What to do about a failure with ``code`` (an unknown or missing code: ``internal``'s)."""
    return CATALOGUE.get(code or FALLBACK_CODE, CATALOGUE[FALLBACK_CODE]).action


def markdown_table() -> str:
    """The README's table of codes (code, meaning, what to do), one row per entry in order."""
    rows = ["| code | meaning | what to do |", "| --- | --- | --- |"]
    rows.extend(
        f"| `{entry.code}` | {_cell(entry.meaning)} | {_cell(entry.action)} |"
        for entry in CATALOGUE.values()
    )
    return "\n".join(rows) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bakusoku.domain.catalogue",
        description="Print the error catalogue of failed photos.",
    )
    parser.add_argument(
        "--markdown", action="store_true", required=True, help="as README.md's Markdown table"
    )
    parser.parse_args(argv)
    print(markdown_table(), end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
