"""Errors of the face index; codes are in the one catalogue (``bakusoku.domain.catalogue``).

Each class name is also the workflow's error type. A message names the caller's own album's
collection at most, never another tenant's, and says what to do.
"""

from __future__ import annotations

from bakusoku.errors import BakusokuError


class FaceIndexError(BakusokuError):
    """The photo's faces could not be indexed (the backend failed, or is not installed)."""

    code = "faces.unindexed"


class FaceIndexUnavailableError(FaceIndexError):
    """The face index could not serve the request now (a service error, no answer); retried."""

    code = "faces.unavailable"

    def __init__(self, message: str, *, reason: str = "") -> None:
        super().__init__(message)
        self.reason = reason  # the service's error code, or the exception that stood for none


class FaceIndexThrottledError(FaceIndexUnavailableError):
    """The face index refused the request for its rate (Rekognition's transactions per second);
    the pipeline retries it with a longer back-off than other errors."""

    code = "faces.throttled"


class NoFaceError(BakusokuError):
    """A reference photo shows no face the index can match."""

    code = "faces.no_face"


class FaceImageRejectedError(NoFaceError):
    """A reference photo the face index cannot read at all: its format, size or dimensions."""

    code = "faces.image_rejected"


class FaceIndexOffError(BakusokuError):
    """Face search was asked for while the face index is off."""

    code = "faces.off"
