"""MarkCertificateFailed: the certificate workflow's Catch target.

Records the certificate ``failed`` with a code and a reason a person can act on: the
certificate's own errors say which input is missing and what to do; any other error (a photo
that does not decode, the store out of reach) is described as the photo pipeline describes it.
"""

from __future__ import annotations

from typing import Any

from bakusoku.domain.catalogue import describe_failure
from bakusoku.pipeline.adapters import adapters
from bakusoku.races.certificate_door import key_of
from bakusoku.races.certificates import DesignError
from bakusoku.races.errors import (
    CertificateError,
    CertificateInputError,
    CertificatePhotoNotReadyError,
)

# The certificate's own errors, by the name the workflow sees, with what to do when the error
# came without a message.
_OWN: dict[str, tuple[str, str]] = {
    cls.__name__: (cls.code, what)
    for cls, what in (
        (CertificateInputError, "post the bib's finish result, or tag another photo of the bib"),
        (
            CertificatePhotoNotReadyError,
            "the photo did not become ready: see its status, re-drive it, then tag it again",
        ),
        (DesignError, "fix the race's certificate design (PUT /v1/races/{album})"),
        (CertificateError, "see the execution's history"),
    )
}


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Input: ``{"certificate": the execution input, "executionName", "error": {"Error", "Cause"}}``."""
    key = key_of(event["certificate"])
    code, reason = describe(event.get("error") or {})
    adapters().certificates.mark_failed(key, str(event["executionName"]), code, reason)
    return {"bib": key.bib, "revision": key.revision, "Error": code, "Cause": reason}


def describe(error: dict[str, Any]) -> tuple[str, str]:
    """``(code, reason)`` of a caught error."""
    name = str(error.get("Error", "States.TaskFailed"))
    code, message = describe_failure(name, error.get("Cause"))
    if name in _OWN:
        own_code, what = _OWN[name]
        plain = message if not message.endswith("the photo could not be processed") else ""
        return own_code, plain or f"{name}: {what}"
    return code, message.replace(
        "the photo could not be processed", "the certificate could not be made"
    )
