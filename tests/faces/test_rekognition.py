"""The Rekognition face index against botocore's real ``rekognition`` model, in process.

Every request the index sends crosses botocore's real serializer and is checked against the
service model, strictly (``rekognition_fake.check_request``: botocore's validation plus the maximum
lengths, patterns and enums Rekognition checks on its side), and every answer crosses botocore's
real parser; the fake behind them keeps collections in memory (see ``rekognition_fake``). The face
rows are in a real SQLite database in ``tmp_path``, migrated to head. No socket is opened.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import botocore.session
import pytest
import sqlalchemy as sa
import yaml
from botocore.config import Config
from hypothesis import given
from hypothesis import strategies as st

from bakusoku.config import ConfigError, Settings
from bakusoku.db.engine import create_db_engine
from bakusoku.db.faces import FaceRepository, FaceRow
from bakusoku.db.migrate import upgrade
from bakusoku.domain.catalogue import CATALOGUE, ERROR_CODES
from bakusoku.faces.errors import (
    FaceImageRejectedError,
    FaceIndexError,
    FaceIndexThrottledError,
    FaceIndexUnavailableError,
    NoFaceError,
)
from bakusoku.faces.port import AlbumRef, DetectingFaceIndex, FaceCrop, FaceIndex
from bakusoku.faces.rekognition import (
    COLLECTION_ID,
    MAX_COLLECTION_ID,
    PREFIX_TAG,
    RekognitionFaceIndex,
    _box,
    collection_id,
    collection_prefix,
)
from bakusoku.pipeline.functions import definition_text
from tests.faces.rekognition_fake import (
    FakeRekognition,
    Fault,
    ModelViolation,
    attach,
    blank_image,
    check_request,
    face_image,
)

PREFIX = "enphoto-dev-faces."
ALBUM = AlbumRef("school-a", "sports-day")
PHOTO = "3f2a9c1e-0b3d-4c6e-9a7f-2d4b6c8e0a1f"
OTHER_PHOTO = "9b1d0f7a-1c2d-4e5f-8a9b-0c1d2e3f4a5b"
BOX = (10.0, 20.0, 110.0, 140.0)


def client(fake: FakeRekognition) -> Any:
    """A real botocore client whose requests the fake answers; one attempt, so an injected
    error reaches the index at once (botocore's retries are its own, not ours to test)."""
    made = botocore.session.get_session().create_client(
        "rekognition",
        region_name=fake.region,
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="secret",
        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}),
    )
    attach(made, fake)
    return made


@pytest.fixture
def fake() -> FakeRekognition:
    return FakeRekognition()


@pytest.fixture
def faces(tmp_path: Path) -> FaceRepository:
    engine: sa.Engine = create_db_engine(f"sqlite:///{tmp_path / 'faces.db'}")
    upgrade(engine)
    return FaceRepository(engine)


@pytest.fixture
def index(fake: FakeRekognition, faces: FaceRepository) -> RekognitionFaceIndex:
    return RekognitionFaceIndex(client(fake), faces, prefix=PREFIX)


def test_it_is_a_face_index(index: RekognitionFaceIndex) -> None:
    port: FaceIndex = index
    assert port is index


# ---- collections: one per service and album, never shared ---------------------------------------


def test_readable_collection_ids_keep_service_and_album_apart() -> None:
    assert collection_id(PREFIX, ALBUM) == "enphoto-dev-faces.school-a.sports-day"
    # Case matters to Rekognition and to our album names alike.
    assert collection_id(PREFIX, AlbumRef("s", "Day")) != collection_id(
        PREFIX, AlbumRef("s", "day")
    )


names = st.text(min_size=0, max_size=300)


@given(names, names, names, names)
def test_no_two_albums_share_a_collection_and_every_id_is_valid(
    service_a: str, album_a: str, service_b: str, album_b: str
) -> None:
    a, b = AlbumRef(service_a, album_a), AlbumRef(service_b, album_b)
    first, second = collection_id(PREFIX, a), collection_id(PREFIX, b)
    for made in (first, second):
        assert COLLECTION_ID.fullmatch(made) and len(made) <= MAX_COLLECTION_ID, made
        assert made.startswith(PREFIX)  # what the functions' role is scoped to
    assert (first == second) == (a == b)


@pytest.mark.parametrize(
    ("service", "album"),
    [
        ("school-a", "sports.day"),  # a dot would make "school-a.sports" + "day" ambiguous
        ("school.a", "sports-day"),
        ("", "legacy-album"),  # a photo from before services
        ("school-a", "運動会"),
        ("School-A", "day"),  # service names are lower-case: not admitted as they are
        ("s" * 32, "a" * 250),  # readable form over 255 characters
    ],
)
def test_names_outside_the_admitted_patterns_are_hashed(service: str, album: str) -> None:
    made = collection_id(PREFIX, AlbumRef(service, album))
    assert re.fullmatch(rf"{re.escape(PREFIX)}_[0-9a-f]{{64}}", made), made


def test_the_prefix_comes_from_the_stack_or_the_setting() -> None:
    assert collection_prefix(Settings(service_name="enphoto", stage="dev")) == PREFIX
    assert collection_prefix(Settings(face_collection_prefix="shared-")) == "shared-"
    with pytest.raises(ConfigError, match="face_collection_prefix"):
        collection_prefix(Settings(face_collection_prefix="no spaces/slashes"))


# ---- indexing -------------------------------------------------------------------------------


def _backend_id(faces: FaceRepository, album: AlbumRef, face_id: str) -> str:
    [row] = faces.find(album.service, album.album, [face_id])
    assert row.backend_face_id is not None
    return row.backend_face_id


def test_the_first_face_creates_the_album_s_collection_tagged_with_the_prefix(
    index: RekognitionFaceIndex, fake: FakeRekognition, faces: FaceRepository
) -> None:
    [face] = index.index_faces(ALBUM, PHOTO, [FaceCrop(BOX, face_image(1))])
    collection = "enphoto-dev-faces.school-a.sports-day"
    assert [op for op, _ in fake.requests] == ["IndexFaces", "CreateCollection", "IndexFaces"]
    assert fake.tags[collection] == {PREFIX_TAG: PREFIX}
    assert face.embedded and face.photo_id == PHOTO and face.box == BOX
    # The row maps our face id to Rekognition's, and the photo id travels with the face.
    stored = fake.collections[collection][_backend_id(faces, ALBUM, face.face_id)]
    assert stored.external_image_id == PHOTO
    _, request = fake.requests[-1]
    assert (request["MaxFaces"], request["QualityFilter"]) == (1, "AUTO")
    # The next photo of the album goes straight to IndexFaces.
    index.index_faces(ALBUM, OTHER_PHOTO, [FaceCrop(BOX, face_image(2))])
    assert [op for op, _ in fake.requests[3:]] == ["IndexFaces"]


def test_a_collection_created_meanwhile_by_another_photo_is_fine(
    index: RekognitionFaceIndex, fake: FakeRekognition
) -> None:
    fake.fail_next("CreateCollection", Fault("ResourceAlreadyExistsException", "already exists"))
    fake.collections["enphoto-dev-faces.school-a.sports-day"] = {}
    fake.fail_next("IndexFaces", Fault("ResourceNotFoundException", "does not exist"))
    [face] = index.index_faces(ALBUM, PHOTO, [FaceCrop(BOX, face_image(1))])
    assert face.embedded


def test_faces_too_small_or_without_a_good_face_are_recorded_not_indexed(
    index: RekognitionFaceIndex, fake: FakeRekognition, faces: FaceRepository
) -> None:
    cuts = [
        FaceCrop(BOX, None),  # too small to embed: never sent
        FaceCrop(BOX, blank_image()),  # Rekognition finds no face in it
        FaceCrop(BOX, b"GIF89a not a jpeg"),  # unreadable to Rekognition
        FaceCrop(BOX, face_image(3)),
    ]
    indexed = index.index_faces(ALBUM, PHOTO, cuts)
    assert [f.embedded for f in indexed] == [False, False, False, True]
    rows = {r.face_id: r for r in faces.photo_faces(ALBUM.service, ALBUM.album, PHOTO)}
    assert set(rows) == {f.face_id for f in indexed}
    assert [rows[f.face_id].backend_face_id is not None for f in indexed] == [
        False,
        False,
        False,
        True,
    ]
    assert [op for op, _ in fake.requests].count("IndexFaces") == 4  # 3 sent, 1 retried


def test_a_retried_step_leaves_one_set_of_faces_in_rekognition(
    index: RekognitionFaceIndex, fake: FakeRekognition, faces: FaceRepository
) -> None:
    cuts = [FaceCrop(BOX, face_image(1)), FaceCrop(BOX, face_image(2))]
    first = index.index_faces(ALBUM, PHOTO, cuts)
    again = index.index_faces(ALBUM, PHOTO, cuts)
    collection = fake.collections["enphoto-dev-faces.school-a.sports-day"]
    rows = faces.photo_faces(ALBUM.service, ALBUM.album, PHOTO)
    assert {r.face_id for r in rows} == {f.face_id for f in again}
    assert set(collection) == {r.backend_face_id for r in rows}  # the first try's are deleted
    assert not {f.face_id for f in first} & {f.face_id for f in again}


def test_without_a_detector_of_ours_rekognition_finds_the_faces_of_the_whole_photo(
    index: RekognitionFaceIndex, fake: FakeRekognition, faces: FaceRepository
) -> None:
    assert isinstance(index, DetectingFaceIndex)
    first = index.index_photo(ALBUM, PHOTO, face_image(1, size=800), (4000, 3000))
    [face] = index.index_photo(ALBUM, PHOTO, face_image(1, size=800), (4000, 3000))  # retried
    assert face.embedded and face.box == (0.0, 0.0, 4000.0, 3000.0)  # the fake's box: all of it
    request = [r for op, r in fake.requests if op == "IndexFaces"][-1]
    assert (request["MaxFaces"], request["ExternalImageId"]) == (100, PHOTO)
    collection = fake.collections["enphoto-dev-faces.school-a.sports-day"]
    assert set(collection) == {_backend_id(faces, ALBUM, face.face_id)}  # the first try's: gone
    assert first[0].face_id != face.face_id
    found = index.search_by_image(ALBUM, face_image(1), limit=5)
    assert [(m.face_id, m.photo_id) for m in found] == [(face.face_id, PHOTO)]
    assert index.index_photo(ALBUM, OTHER_PHOTO, blank_image(), (10, 10)) == []  # no face


def test_rekognition_s_boxes_become_the_original_s_pixels_within_the_photo() -> None:
    ratios = {"Left": -0.1, "Top": 0.5, "Width": 0.3, "Height": 0.7}
    assert _box(ratios, (1000, 2000)) == pytest.approx((0.0, 1000.0, 200.0, 2000.0))


def test_a_photo_id_rekognition_cannot_carry_is_refused_before_any_call(
    index: RekognitionFaceIndex, fake: FakeRekognition
) -> None:
    with pytest.raises(FaceIndexError, match="ExternalImageId"):
        index.index_faces(ALBUM, "photo id/with spaces", [FaceCrop(BOX, face_image(1))])
    assert fake.requests == []


# ---- searching ------------------------------------------------------------------------------


def _album_with_two_people(index: RekognitionFaceIndex) -> dict[str, str]:
    """Photo ids by face id: person 1 in PHOTO and OTHER_PHOTO, person 2 in a third photo."""
    third = "0c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f"
    found = {}
    for photo, seed, size in ((PHOTO, 1, 160), (OTHER_PHOTO, 1, 240), (third, 2, 160)):
        [face] = index.index_faces(ALBUM, photo, [FaceCrop(BOX, face_image(seed, size))])
        found[face.face_id] = photo
    return found


def test_search_by_image_answers_our_face_ids_with_similarity_in_0_1(
    index: RekognitionFaceIndex, fake: FakeRekognition
) -> None:
    people = _album_with_two_people(index)
    found = index.search_by_image(ALBUM, face_image(1, size=400, quality=70), limit=10)
    assert {m.photo_id for m in found} == {PHOTO, OTHER_PHOTO}
    assert {m.face_id for m in found} <= set(people)  # ours, not Rekognition's
    assert all(people[m.face_id] == m.photo_id for m in found)
    assert all(0.8 <= m.similarity <= 1.0 for m in found)
    assert [m.similarity for m in found] == sorted((m.similarity for m in found), reverse=True)
    _, request = fake.requests[-1]
    assert request["FaceMatchThreshold"] == pytest.approx(80.0)
    assert len(index.search_by_image(ALBUM, face_image(1), limit=1)) == 1


def test_search_by_faces_finds_the_other_photos_of_confirmed_faces(
    index: RekognitionFaceIndex,
) -> None:
    people = _album_with_two_people(index)
    confirmed = next(f for f, p in people.items() if p == PHOTO)
    found = index.search_by_faces(ALBUM, [confirmed, confirmed], limit=10)
    assert [m.photo_id for m in found] == [OTHER_PHOTO]
    assert confirmed not in {m.face_id for m in found}


def test_search_by_faces_skips_faces_gone_never_indexed_or_of_another_album(
    index: RekognitionFaceIndex,
) -> None:
    people = _album_with_two_people(index)
    confirmed = next(f for f, p in people.items() if p == PHOTO)
    elsewhere = AlbumRef("school-b", "sports-day")
    [theirs] = index.index_faces(elsewhere, PHOTO, [FaceCrop(BOX, face_image(1))])
    assert index.search_by_faces(ALBUM, [theirs.face_id, "never-indexed"], limit=10) == []
    index.delete_faces(ALBUM, [confirmed])
    assert index.search_by_faces(ALBUM, [confirmed], limit=10) == []


def test_a_face_rekognition_has_but_no_row_names_is_never_answered(
    index: RekognitionFaceIndex, fake: FakeRekognition, faces: FaceRepository
) -> None:
    people = _album_with_two_people(index)
    orphaned = next(f for f, p in people.items() if p == OTHER_PHOTO)
    faces.delete_faces(ALBUM.service, ALBUM.album, [orphaned])  # as if a try were cut short
    found = index.search_by_image(ALBUM, face_image(1), limit=10)
    assert [m.photo_id for m in found] == [PHOTO]


def test_a_search_never_reaches_another_album_or_service(index: RekognitionFaceIndex) -> None:
    _album_with_two_people(index)
    for other in (AlbumRef("school-a", "graduation"), AlbumRef("school-b", "sports-day")):
        assert index.search_by_image(other, face_image(1), limit=10) == []


def test_an_album_without_faces_answers_an_empty_search(index: RekognitionFaceIndex) -> None:
    assert index.search_by_image(ALBUM, face_image(1), limit=10) == []
    assert index.search_by_faces(ALBUM, ["3f2a9c1e-0b3d-4c6e-9a7f-2d4b6c8e0a1f"], limit=5) == []


def test_a_reference_photo_without_a_face_says_so(index: RekognitionFaceIndex) -> None:
    _album_with_two_people(index)
    with pytest.raises(NoFaceError, match="no face was found"):
        index.search_by_image(ALBUM, blank_image(), limit=10)


def test_a_reference_photo_rekognition_cannot_read_says_what_to_send(
    index: RekognitionFaceIndex, fake: FakeRekognition
) -> None:
    _album_with_two_people(index)
    with pytest.raises(FaceImageRejectedError, match="JPEG or PNG"):
        index.search_by_image(ALBUM, b"RIFF....WEBPVP8 ", limit=10)
    sent = len(fake.requests)
    with pytest.raises(FaceImageRejectedError, match="5 MiB"):
        index.search_by_image(ALBUM, b"\xff\xd8\xff" + bytes(5 * 1024 * 1024), limit=10)
    assert len(fake.requests) == sent  # refused before it is sent


# ---- erasure --------------------------------------------------------------------------------


def test_delete_faces_removes_them_from_rekognition_then_the_rows(
    index: RekognitionFaceIndex, fake: FakeRekognition, faces: FaceRepository
) -> None:
    people = _album_with_two_people(index)
    kept = next(f for f, p in people.items() if p == OTHER_PHOTO)
    index.delete_faces(ALBUM, [f for f in people if f != kept])
    collection = fake.collections["enphoto-dev-faces.school-a.sports-day"]
    assert set(collection) == {_backend_id(faces, ALBUM, kept)}
    assert [r.face_id for r in faces.album_faces(ALBUM.service, ALBUM.album)] == [kept]


def test_an_erasure_rekognition_refuses_keeps_the_rows_to_try_again(
    index: RekognitionFaceIndex, fake: FakeRekognition, faces: FaceRepository
) -> None:
    people = _album_with_two_people(index)
    fake.fail_next("DeleteFaces", Fault("ThrottlingException", "Rate exceeded", 500))
    with pytest.raises(FaceIndexThrottledError):
        index.delete_faces(ALBUM, list(people))
    assert len(faces.album_faces(ALBUM.service, ALBUM.album)) == 3
    index.delete_faces(ALBUM, list(people))
    assert faces.album_faces(ALBUM.service, ALBUM.album) == []


def test_delete_faces_goes_in_batches_of_4096(
    index: RekognitionFaceIndex, fake: FakeRekognition, faces: FaceRepository
) -> None:
    index.index_faces(ALBUM, PHOTO, [FaceCrop(BOX, face_image(1))])  # the collection exists
    rows = [
        FaceRow(
            face_id=f"f{i:05d}",
            photo_id=OTHER_PHOTO,
            box=BOX,
            embedded=True,
            backend_face_id=f"00000000-0000-4000-8000-{i:012x}",
        )
        for i in range(5000)
    ]
    faces.replace_photo_faces(ALBUM.service, ALBUM.album, OTHER_PHOTO, rows)
    index.delete_faces(ALBUM, [r.face_id for r in rows])
    batches = [r["FaceIds"] for op, r in fake.requests if op == "DeleteFaces"]
    assert [len(b) for b in batches] == [4096, 904]
    assert faces.photo_faces(ALBUM.service, ALBUM.album, OTHER_PHOTO) == []


def test_deleting_from_an_album_without_a_collection_does_nothing(
    index: RekognitionFaceIndex, fake: FakeRekognition, faces: FaceRepository
) -> None:
    row = FaceRow("f1", PHOTO, BOX, True, backend_face_id="3f2a9c1e-0b3d-4c6e-9a7f-2d4b6c8e0a1f")
    faces.replace_photo_faces(ALBUM.service, ALBUM.album, PHOTO, [row])
    index.delete_faces(ALBUM, ["f1"])
    index.delete_album(ALBUM)
    assert [op for op, _ in fake.requests] == ["DeleteFaces", "DeleteCollection"]
    assert faces.album_faces(ALBUM.service, ALBUM.album) == []


def test_delete_album_removes_the_collection_and_only_it(
    index: RekognitionFaceIndex, fake: FakeRekognition, faces: FaceRepository
) -> None:
    _album_with_two_people(index)
    other = AlbumRef("school-b", "sports-day")
    index.index_faces(other, PHOTO, [FaceCrop(BOX, face_image(1))])
    index.delete_album(ALBUM)
    assert set(fake.collections) == {"enphoto-dev-faces.school-b.sports-day"}
    assert faces.album_faces(ALBUM.service, ALBUM.album) == []
    assert len(faces.album_faces(other.service, other.album)) == 1
    assert index.search_by_image(ALBUM, face_image(1), limit=10) == []


# ---- errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "raised"),
    [
        (Fault("ThrottlingException", "Slow down", 500), FaceIndexThrottledError),
        (
            Fault("ProvisionedThroughputExceededException", "over the TPS quota"),
            FaceIndexThrottledError,
        ),
        (Fault("InternalServerError", "oops", 500), FaceIndexUnavailableError),
        (Fault("AccessDeniedException", "not allowed"), FaceIndexError),
    ],
)
def test_rekognition_errors_become_typed_errors(
    index: RekognitionFaceIndex, fake: FakeRekognition, fault: Fault, raised: type[Exception]
) -> None:
    _album_with_two_people(index)
    fake.fail_next("SearchFacesByImage", fault)
    with pytest.raises(raised) as caught:
        index.search_by_image(ALBUM, face_image(1), limit=10)
    assert type(caught.value) is raised
    if isinstance(caught.value, FaceIndexUnavailableError):
        assert caught.value.reason == fault.code
    if fault.code == "AccessDeniedException":  # names the action to allow, and how
        assert "rekognition:SearchFacesByImage" in str(caught.value)
        assert "face_index" in str(caught.value)


def test_throttling_while_indexing_fails_the_step_with_a_retried_error_name(
    index: RekognitionFaceIndex, fake: FakeRekognition
) -> None:
    fake.fail_next("IndexFaces", Fault("ThrottlingException", "Rate exceeded", 500))
    with pytest.raises(FaceIndexThrottledError) as caught:
        index.index_faces(ALBUM, PHOTO, [FaceCrop(BOX, face_image(1))])
    name = type(caught.value).__name__
    assert CATALOGUE[ERROR_CODES[name]].retried
    assert ERROR_CODES[name] == caught.value.code
    retried_with_backoff = [
        rule
        for state in yaml.safe_load(definition_text())["States"].values()
        for rule in state.get("Retry", [])
        if name in rule["ErrorEquals"]
    ]
    assert retried_with_backoff, "the pipeline's Retry rules must name FaceIndexThrottledError"
    assert all(r["MaxAttempts"] > 0 and r["BackoffRate"] > 1 for r in retried_with_backoff)


def test_only_a_face_not_found_is_skipped_by_search_by_faces(
    index: RekognitionFaceIndex, fake: FakeRekognition
) -> None:
    people = _album_with_two_people(index)
    confirmed = next(f for f, p in people.items() if p == PHOTO)
    fake.fail_next("SearchFaces", Fault("InvalidParameterException", "Request has invalid params"))
    with pytest.raises(FaceIndexError, match="invalid params"):
        index.search_by_faces(ALBUM, [confirmed], limit=10)
    missing = Fault("InvalidParameterException", "faceId was not found in the collection.")
    fake.fail_next("SearchFaces", missing)  # just indexed, not searchable yet
    assert index.search_by_faces(ALBUM, [confirmed], limit=10) == []


def test_an_unreachable_endpoint_is_unavailable_not_a_crash(faces: FaceRepository) -> None:
    made = botocore.session.get_session().create_client(
        "rekognition",
        region_name="ap-northeast-1",
        endpoint_url="http://127.0.0.1:9",  # refused at once: nothing listens on the discard port
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="secret",
        config=Config(retries={"total_max_attempts": 1}, connect_timeout=1),
    )

    def refuse(request: Any, **_: Any) -> None:
        from botocore.exceptions import EndpointConnectionError

        raise EndpointConnectionError(endpoint_url=request.url)

    made.meta.events.register("before-send.rekognition", refuse)  # no socket is opened
    index = RekognitionFaceIndex(made, faces, prefix=PREFIX)
    with pytest.raises(FaceIndexUnavailableError, match="could not be reached"):
        index.search_by_image(ALBUM, face_image(1), limit=3)


def test_error_messages_name_no_other_album(
    index: RekognitionFaceIndex, fake: FakeRekognition
) -> None:
    _album_with_two_people(index)
    fake.fail_next("SearchFacesByImage", Fault("AccessDeniedException", "not allowed"))
    with pytest.raises(FaceIndexError) as caught:
        index.search_by_image(ALBUM, face_image(1), limit=3)
    assert "school-a.sports-day" in str(caught.value)
    assert "school-b" not in str(caught.value)


# ---- the checker itself refuses what Rekognition refuses -------------------------------------


@pytest.mark.parametrize(
    ("operation", "params"),
    [
        ("CreateCollection", {"CollectionId": "has space"}),
        ("CreateCollection", {"CollectionId": "x" * 256}),
        ("DeleteFaces", {"CollectionId": "c", "FaceIds": ["not-a-face-id"]}),
        ("DeleteFaces", {"CollectionId": "c", "FaceIds": [PHOTO] * 4097}),
        ("IndexFaces", {"CollectionId": "c", "Image": {"Bytes": b"x"}, "ExternalImageId": "a/b"}),
        ("IndexFaces", {"CollectionId": "c", "Image": {"Bytes": b"x"}, "QualityFilter": "BEST"}),
        ("SearchFaces", {"CollectionId": "c", "FaceId": PHOTO, "MaxFaces": 4097}),
        ("SearchFacesByImage", {"CollectionId": "c", "Image": {"Bytes": b"x"}, "Extra": 1}),
        ("SearchFaces", {"CollectionId": "c"}),
    ],
)
def test_the_model_check_refuses_requests_rekognition_refuses(
    operation: str, params: dict[str, Any]
) -> None:
    with pytest.raises(ModelViolation):
        check_request(operation, params)
