"""Errors of the face index; codes are in the one catalogue (``bakusoku.domain.catalogue``)."""

from __future__ import annotations

from bakusoku.errors import BakusokuError


class FaceIndexError(BakusokuError):
    """The photo's faces could not be indexed (the backend failed, or is not installed)."""

    code = "faces.unindexed"


class NoFaceError(BakusokuError):
    """A reference photo shows no face the index can match."""

    code = "faces.no_face"


class FaceIndexOffError(BakusokuError):
    """Face search was asked for while the face index is off."""

    code = "faces.off"
