"""Typed errors the pipeline's handlers raise; each class name is also the workflow's error type.

Their codes are the ones ``bakusoku.domain.catalogue`` gives these error names (a test keeps the two
equal), so a photo fails with the same code whether the class or the catalogue names it.
"""

from __future__ import annotations

from bakusoku.errors import BakusokuError


class PipelineError(BakusokuError):
    """Base of errors raised by the photo pipeline's handlers."""


class UploadRejectedError(PipelineError):
    """Raised when the stored object is not what was presigned (size over the cap or not as declared)."""

    code = "upload.rejected"


class ObjectMissingError(PipelineError):
    """Raised when the object named by the event no longer exists in the store."""

    code = "storage.not_found"
