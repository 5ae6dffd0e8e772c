"""The embedded index on real photographs: search, tenants, consent and erasure.

Integration: dlib and MTCNN in process on real photos, an SQLite database in ``tmp_path``.
"""

from __future__ import annotations

import threading
import time
from typing import Any, cast

import pytest
import sqlalchemy as sa
from PIL import Image

from bakusoku.db.faces import FaceRepository, publishable_clause
from bakusoku.db.schema import photos
from bakusoku.faces.embedded import REFERENCE_DECODES, EmbeddedFaceIndex
from bakusoku.faces.embedding import FaceEmbedder
from bakusoku.faces.erasure import expire_albums
from bakusoku.faces.errors import NoFaceError
from bakusoku.faces.port import MATCH_THRESHOLD, AlbumRef, FaceCrop
from bakusoku.faces.service import FaceService
from tests.faces.conftest import index_photo, needs_models, photo
from tests.imaging.photos import encode, noisy_picture

pytestmark = [pytest.mark.integration, needs_models]

SCHOOL = AlbumRef("school", "sports-day")


def _index_album(service: FaceService, album: AlbumRef = SCHOOL, prefix: str = "") -> None:
    for name in ("obama", "obama2", "biden"):
        index_photo(service.require_index(), album, f"{prefix}{name}", photo(name))


def test_the_child_of_a_reference_photo_is_found_and_no_one_else(service: FaceService) -> None:
    _index_album(service)
    hits = service.find_child(SCHOOL, [photo("obama3")])
    assert {h.photo_id for h in hits} == {"obama", "obama2"}
    assert all(h.confidence >= MATCH_THRESHOLD for h in hits)
    assert [h.confidence for h in hits] == sorted((h.confidence for h in hits), reverse=True)
    faces = service.photo_faces(SCHOOL, hits[0].photo_id)
    assert [f.box for f in faces if f.face_id == hits[0].face_id] == [hits[0].box]
    assert {h.photo_id for h in service.find_child(SCHOOL, [photo("biden")])} == {"biden"}


def test_confirmed_faces_join_and_rejected_faces_leave(service: FaceService) -> None:
    _index_album(service)
    (obama,) = service.photo_faces(SCHOOL, "obama")
    (obama2,) = service.photo_faces(SCHOOL, "obama2")
    by_confirmation = service.find_child(SCHOOL, [], confirmed=[obama.face_id])
    assert {h.photo_id for h in by_confirmation} == {"obama", "obama2"}
    assert by_confirmation[0].photo_id == "obama" and by_confirmation[0].confidence == 1.0
    rejected = service.find_child(SCHOOL, [photo("obama3")], rejected=[obama2.face_id])
    assert {h.photo_id for h in rejected} == {"obama"}


def test_another_album_or_service_is_never_matched(service: FaceService) -> None:
    _index_album(service)
    _index_album(service, AlbumRef("school", "graduation"), prefix="grad-")
    _index_album(service, AlbumRef("other-studio", "sports-day"), prefix="other-")
    found = {h.photo_id for h in service.find_child(SCHOOL, [photo("obama3")])}
    assert found == {"obama", "obama2"}
    # A face id of another tenant, confirmed or erased, does nothing here.
    (foreign,) = service.photo_faces(AlbumRef("other-studio", "sports-day"), "other-biden")
    confirmed = service.find_child(SCHOOL, [photo("obama3")], confirmed=[foreign.face_id])
    assert {h.photo_id for h in confirmed} == found
    assert service.erase(SCHOOL, foreign.face_id, child=True).face_ids == []
    assert service.photo_faces(AlbumRef("other-studio", "sports-day"), "other-biden")


def test_a_face_too_small_to_match_is_recorded_not_embedded(service: FaceService) -> None:
    small = encode(_shrunk(photo("obama"), 110), "JPEG", quality=95)
    faces = index_photo(service.require_index(), SCHOOL, "small", small)
    assert faces and not any(f.embedded for f in faces)
    (row,) = service.photo_faces(SCHOOL, "small")
    assert row.vector is None and not row.embedded


def test_a_reference_photo_without_a_face_is_refused(service: FaceService) -> None:
    _index_album(service)
    with pytest.raises(NoFaceError, match="no face was found"):
        service.find_child(SCHOOL, [encode(noisy_picture(800, 600), "JPEG")])


def test_do_not_publish_takes_a_childs_photos_out_of_search_and_galleries(
    service: FaceService, engine: sa.Engine
) -> None:
    _index_album(service)
    (obama,) = service.photo_faces(SCHOOL, "obama")
    marked = service.mark_do_not_publish(SCHOOL, obama.face_id, child=True)
    assert len(marked) == 2
    assert service.find_child(SCHOOL, [photo("obama3")]) == []
    assert {h.photo_id for h in service.find_child(SCHOOL, [photo("biden")])} == {"biden"}
    with engine.begin() as conn:
        for name in ("obama", "obama2", "biden"):
            conn.execute(
                photos.insert().values(
                    photo_id=name,
                    album=SCHOOL.album,
                    bucket="b",
                    object_key=f"uploads/{SCHOOL.service}/{SCHOOL.album}/{name}.jpg",
                    status="ready",
                    created_at=1.0,
                    updated_at=1.0,
                )
            )
        gallery = conn.execute(
            sa.select(photos.c.photo_id).where(publishable_clause(SCHOOL.service, SCHOOL.album))
        )
        assert {r[0] for r in gallery} == {"biden"}
    service.mark_do_not_publish(SCHOOL, obama.face_id, child=True, suppressed=False)
    assert {h.photo_id for h in service.find_child(SCHOOL, [photo("obama3")])} == {
        "obama",
        "obama2",
    }


def test_an_erased_child_is_found_no_more(service: FaceService) -> None:
    _index_album(service)
    assert len(service.find_child(SCHOOL, [photo("obama3")])) == 2  # the album's vectors are kept
    (obama2,) = service.photo_faces(SCHOOL, "obama2")
    erased = service.erase(SCHOOL, obama2.face_id, child=True)
    assert set(erased.photo_ids) == {"obama", "obama2"}
    assert service.find_child(SCHOOL, [photo("obama3")]) == []
    assert service.find_child(SCHOOL, [photo("obama")]) == []
    assert {h.photo_id for h in service.find_child(SCHOOL, [photo("biden")])} == {"biden"}


def test_a_deleted_photos_faces_are_erased(service: FaceService) -> None:
    _index_album(service)
    assert len(service.find_child(SCHOOL, [photo("obama3")])) == 2
    assert len(service.erase_photo(SCHOOL, "obama").face_ids) == 1
    assert service.photo_faces(SCHOOL, "obama") == []
    assert {h.photo_id for h in service.find_child(SCHOOL, [photo("obama3")])} == {"obama2"}


def test_albums_past_their_retention_lose_their_faces(service: FaceService) -> None:
    _index_album(service)
    later = AlbumRef("school", "winter")
    index_photo(service.require_index(), later, "w", photo("biden"))
    now = time.time()
    ends = {SCHOOL: now - 91 * 86400, later: now - 10 * 86400}
    done = expire_albums(
        service.index(), service.faces, retention_days=90, sales_end=ends.get, now=now
    )
    assert list(done) == [SCHOOL]
    assert service.find_child(SCHOOL, [photo("obama3")]) == []
    assert service.photo_faces(later, "w")


def test_indexing_a_photo_again_replaces_its_faces(service: FaceService) -> None:
    index = service.require_index()
    first = index_photo(index, SCHOOL, "p", photo("obama"))
    again = index_photo(index, SCHOOL, "p", photo("obama"))
    assert [f.face_id for f in service.photo_faces(SCHOOL, "p")] == [again[0].face_id]
    assert first[0].face_id != again[0].face_id
    assert index.index_faces(SCHOOL, "q", [FaceCrop((0, 0, 10, 10), None)])[0].embedded is False


def _shrunk(data: bytes, width: int):  # type: ignore[no-untyped-def]
    import io

    from PIL import Image

    image = Image.open(io.BytesIO(data)).convert("RGB")
    return image.resize((width, round(image.height * width / image.width)))


class _HeldDetector:
    """Finds no face, but only once released; counts how many photos it holds at once."""

    def __init__(self) -> None:
        self.inside = self.most = 0
        self.lock = threading.Lock()
        self.release = threading.Event()

    def detect(self, image: Image.Image) -> list[Any]:
        with self.lock:
            self.inside += 1
            self.most = max(self.most, self.inside)
        self.release.wait(10)
        with self.lock:
            self.inside -= 1
        return []


def test_reference_photos_are_decoded_a_few_at_a_time(engine: sa.Engine) -> None:
    """Each decode may hold a 25 MP photo's pixels: however many searches run at once, at most
    REFERENCE_DECODES photos are decoded together, and the others wait their turn."""
    detector = _HeldDetector()
    # The detector finds no face, so no vector is ever made: no embedder is needed.
    index = EmbeddedFaceIndex(FaceRepository(engine), cast(FaceEmbedder, None), detector)
    image = encode(noisy_picture(640, 480))
    outcomes: list[str] = []

    def search() -> None:
        try:
            index.reference_vector(image)
        except NoFaceError as exc:
            outcomes.append(exc.code)

    searches = [threading.Thread(target=search) for _ in range(REFERENCE_DECODES + 3)]
    for thread in searches:
        thread.start()
    deadline = time.monotonic() + 10
    while detector.inside < REFERENCE_DECODES and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.3)  # the others had time to come in, were there room
    held = detector.most
    detector.release.set()
    for thread in searches:
        thread.join(10)

    assert held == REFERENCE_DECODES
    assert outcomes == ["faces.no_face"] * len(searches)  # every search was answered
