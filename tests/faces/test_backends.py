"""The face index the configuration names: off is none, and the embedded one without the 'faces'
extra is a FaceIndexError that says what to install (IndexFaces then keeps the photo, its faces
unindexed, without retrying a missing package)."""

from __future__ import annotations

import sys

import pytest
import sqlalchemy as sa

from bakusoku.config import Settings
from bakusoku.db.faces import FaceRepository
from bakusoku.faces.backends import face_index, missing_packages
from bakusoku.faces.errors import FaceIndexError


def _faces() -> FaceRepository:
    return FaceRepository(sa.create_engine("sqlite://"))  # never connected here


def test_off_is_no_index() -> None:
    assert face_index(Settings(face_index="off"), _faces()) is None


def test_the_embedded_index_without_numpy_says_to_install_the_faces_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # What a base install (pip install -e .) has: no numpy, so the embedded index cannot load.
    monkeypatch.delitem(sys.modules, "bakusoku.faces.embedded", raising=False)
    monkeypatch.setitem(sys.modules, "numpy", None)

    with pytest.raises(FaceIndexError) as raised:
        face_index(Settings(face_index="embedded"), _faces())

    assert str(raised.value) == (
        "face_index is 'embedded' but numpy is not installed: install the 'faces' extra"
        " (pip install 'bakusoku[faces]'), or set face_index to off"
    )


def test_missing_packages_names_the_first_the_embedded_index_lacks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    embedded, off = Settings(face_index="embedded"), Settings(face_index="off")
    assert missing_packages(embedded) is None  # the test extra installs the faces extra
    monkeypatch.setitem(sys.modules, "dlib", None)  # find_spec: None for a blocked module

    assert missing_packages(off) is None
    assert missing_packages(embedded) == (
        "face_index is 'embedded' but dlib is not installed: install the 'faces' extra"
        " (pip install 'bakusoku[faces]'), or set face_index to off"
    )
