"""Keys, scopes, rate limits and request checks, on a real SQLite database."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from pydantic import ValidationError

from bakusoku.api.models import UploadRequest
from bakusoku.auth.errors import InvalidKeySpecError, KeyNotFoundError
from bakusoku.auth.keys import KeyStore
from bakusoku.auth.ratelimit import RateLimiter
from bakusoku.auth.scope import key_visible
from bakusoku.db.engine import create_db_engine
from bakusoku.db.migrate import upgrade
from bakusoku.db.schema import api_keys
from bakusoku.domain.keys import owner_of, photo_ref, upload_key

PHOTO = "0b7e6f4c-1f7a-4c55-9d51-0a4b6f0e2d11"


@pytest.fixture
def engine(tmp_path: Path) -> sa.Engine:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'auth.db'}")
    upgrade(engine)
    return engine


def test_keys_are_stored_hashed_and_checked_in_full(engine: sa.Engine) -> None:
    store = KeyStore(engine)
    record, token = store.create(
        service="enphoto", albums=["sports"], role="viewer", created_by="t"
    )
    with engine.connect() as conn:
        stored = conn.execute(sa.select(api_keys)).one()
    secret = token.split("_", 2)[2]  # prefix, id, secret (which may hold "_")
    assert secret not in str(tuple(stored)) and len(stored.secret_sha256) == 64
    principal = store.authenticate(token)
    assert principal is not None
    assert (principal.service, principal.albums, principal.role) == (
        "enphoto",
        ("sports",),
        "viewer",
    )
    assert store.authenticate(token[:-1] + ("A" if token[-1] != "A" else "B")) is None
    assert store.authenticate("bks_" + "0" * 12 + "_" + "x" * 43) is None
    assert store.authenticate("not a key") is None
    store.revoke(record.key_id, revoked_by="t")
    assert store.authenticate(token) is None
    assert [k.key_id for k in store.list(include_revoked=True)] == [record.key_id]
    assert store.list() == []


def test_key_specs_and_unknown_ids_are_refused(engine: sa.Engine) -> None:
    store = KeyStore(engine)
    for service, albums, role in (
        ("../x", None, "viewer"),
        ("Enphoto", None, "viewer"),
        ("enphoto", ["../etc"], "viewer"),
        ("enphoto", ["\uff53\uff50\uff4f\uff52\uff54\uff53"], "viewer"),
        ("enphoto", None, "root"),
    ):
        with pytest.raises(InvalidKeySpecError):
            store.create(service=service, albums=albums, role=role, created_by="t")
    record, _ = store.create(service="enphoto", albums=None, role="admin", created_by="t")
    with pytest.raises(KeyNotFoundError):
        store.revoke(record.key_id, revoked_by="t", service="kurapuri")
    with pytest.raises(KeyNotFoundError):
        store.get("ffffffffffff")


def test_keys_name_service_and_album_and_scope_follows_them() -> None:
    key = upload_key("uploads/", "sports", PHOTO, "image/jpeg", service="enphoto")
    assert key == f"uploads/enphoto/sports/{PHOTO}.jpg"
    assert owner_of(key, "uploads/") == ("enphoto", "sports")
    ref = photo_ref("bakusoku", key, "uploads/")
    assert (ref.photo_id, ref.album, ref.service) == (PHOTO, "sports", "enphoto")
    legacy = photo_ref("bakusoku", f"uploads/sports/{PHOTO}.jpg", "uploads/")
    assert (legacy.photo_id, legacy.album, legacy.service) == (PHOTO, "sports", None)
    assert owner_of(f"uploads/sports/{PHOTO}.jpg", "uploads/") is None
    assert owner_of(f"uploads/enphoto/../x/{PHOTO}.jpg", "uploads/") is None

    from bakusoku.auth.principal import OPERATOR, Principal

    viewer = Principal("k", "enphoto", ("sports",), "viewer")
    assert key_visible(viewer, key, "uploads/")
    assert not key_visible(viewer, key.replace("/sports/", "/trips/"), "uploads/")
    assert not key_visible(viewer, key.replace("enphoto", "kurapuri"), "uploads/")
    assert not key_visible(viewer, f"uploads/sports/{PHOTO}.jpg", "uploads/")
    assert key_visible(OPERATOR, f"uploads/sports/{PHOTO}.jpg", "uploads/")


def test_rate_limiter_allows_a_burst_then_says_when_to_retry() -> None:
    now = [0.0]
    limiter = RateLimiter(60, 3, clock=lambda: now[0])
    assert [limiter.acquire("a") for _ in range(3)] == [None, None, None]
    assert limiter.acquire("a") == 1
    assert limiter.acquire("b") is None  # per key
    now[0] += 1.0
    assert limiter.acquire("a") is None
    assert RateLimiter(0, 1).acquire("a") is None


def test_waiting_looks_at_a_bucket_without_taking_from_it() -> None:
    now = [0.0]
    limiter = RateLimiter(6, 2, clock=lambda: now[0])  # one token every 10 s
    assert [limiter.waiting("a") for _ in range(5)] == [None] * 5
    limiter.acquire("a")
    limiter.acquire("a")
    assert limiter.waiting("a") == 10
    now[0] += 10.0
    assert limiter.waiting("a") is None


@pytest.mark.parametrize(
    "field,value",
    [
        ("filename", "../../etc/passwd"),
        ("filename", "/etc/passwd"),
        ("filename", "C:\\photos\\a.jpg"),
        ("filename", "photo\u202egpj.exe"),  # right-to-left override
        ("filename", "photo\x00.jpg"),
        ("filename", "あ" * 100),  # 300 bytes of UTF-8
        ("album", "../etc"),
        ("album", "\uff53\uff50\uff4f\uff52\uff54\uff53"),  # full-width letters
        ("album", "a" * 65),
        ("album", "sports\n"),
        ("service", "../enphoto"),
        ("expires_in", 7200),
    ],
)
def test_upload_requests_refuse_paths_tricks_and_long_names(field: str, value: object) -> None:
    body: dict[str, object] = {
        "filename": "写真.jpg",
        "content_type": "image/jpeg",
        "size": 1,
        "album": "sports",
    }
    UploadRequest(**body)  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        UploadRequest(**{**body, field: value})  # type: ignore[arg-type]
