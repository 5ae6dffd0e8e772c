"""Album codes on a real SQLite database: typeable, stored hashed, expiring, revocable."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from bakusoku.auth.codes import (
    ALPHABET,
    AlbumCodeStore,
    Redeemed,
    code_id_of,
    normalise,
    parse_expiry,
)
from bakusoku.auth.errors import CodeNotFoundError, InvalidCodeSpecError
from bakusoku.db.engine import create_db_engine
from bakusoku.db.migrate import upgrade
from bakusoku.db.schema import album_codes

DAY = 86400.0


@pytest.fixture
def store(tmp_path: Path) -> AlbumCodeStore:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'codes.db'}")
    upgrade(engine)
    return AlbumCodeStore(engine)


def _engine(store: AlbumCodeStore) -> sa.Engine:
    return store._engine  # the fixture's own engine, to look at the stored row


def test_codes_are_typeable_and_only_a_salted_hash_is_kept(store: AlbumCodeStore) -> None:
    record, code = store.create(
        service="enphoto", album="sports", expires_at=time.time() + DAY, created_by="t"
    )
    groups = code.split("-")
    assert [len(g) for g in groups] == [4, 4, 4]
    assert all(c in ALPHABET for c in "".join(groups))
    assert not set("01OIL") & set(code)
    assert record.code_id == groups[0]
    with _engine(store).connect() as conn:
        row = conn.execute(sa.select(album_codes)).one()
    secret = "".join(groups[1:])
    assert secret not in str(tuple(row)) and row.secret_hash.startswith("scrypt$")
    other, _ = store.create(
        service="enphoto", album="sports", expires_at=time.time() + DAY, created_by="t"
    )
    with _engine(store).connect() as conn:
        hashes = [r.secret_hash for r in conn.execute(sa.select(album_codes))]
    assert len(set(hashes)) == 2 and other.code_id != record.code_id


def test_a_code_is_read_as_a_person_types_it(store: AlbumCodeStore) -> None:
    record, code = store.create(
        service="enphoto", album="sports", expires_at=time.time() + DAY, created_by="t"
    )
    for typed in (code, code.lower(), code.replace("-", " "), f"  {code.replace('-', '')} "):
        found = store.redeem(typed)
        assert found.outcome is Redeemed.OK and found.code is not None
        assert (found.code.service, found.code.album) == ("enphoto", "sports")
    assert store.get(record.code_id).uses == 4
    assert normalise("ABCD-EFGH-JKM") is None  # too short
    assert normalise("ABCD-EFGH-JKM0") is None  # 0 is not in the alphabet
    assert code_id_of(code) == record.code_id


def test_wrong_expired_and_revoked_codes_open_nothing(store: AlbumCodeStore) -> None:
    now = time.time()
    record, code = store.create(
        service="enphoto", album="sports", expires_at=now + DAY, created_by="t"
    )
    last = code[-1]
    wrong = code[:-1] + ("Z" if last != "Z" else "Y")
    assert store.redeem(wrong).outcome is Redeemed.WRONG
    assert store.redeem(wrong).code == store.get(record.code_id)  # its album is known
    unknown = ("Z" if code[0] != "Z" else "Y") + code[1:]
    assert store.redeem(unknown).outcome is Redeemed.WRONG
    assert store.redeem("not a code").outcome is Redeemed.MALFORMED
    assert store.redeem(code, now=now + DAY + 1).outcome is Redeemed.EXPIRED
    store.revoke(record.code_id, revoked_by="t")
    assert store.redeem(code).outcome is Redeemed.REVOKED
    assert store.get(record.code_id).uses == 0
    assert store.list() == [] and len(store.list(include_inactive=True)) == 1


def test_codes_belong_to_one_service(store: AlbumCodeStore) -> None:
    record, _ = store.create(
        service="enphoto", album="sports", expires_at=time.time() + DAY, created_by="t"
    )
    assert store.get(record.code_id, service="enphoto") == record
    with pytest.raises(CodeNotFoundError):
        store.get(record.code_id, service="kurapuri")
    with pytest.raises(CodeNotFoundError) as missing:
        store.get("bks_0123456789ab_secret")
    assert "bks_" not in missing.value.message  # a key pasted in its place is not repeated
    for service, album in (("Bad Service", "sports"), ("enphoto", "../x"), ("enphoto", "")):
        with pytest.raises(InvalidCodeSpecError):
            store.create(service=service, album=album, expires_at=time.time() + 1, created_by="t")


def test_expiry_is_a_duration_a_date_or_a_time_within_bounds() -> None:
    now = 1_780_000_000.0  # 2026-05-28
    limits = {"now": now, "default_days": 30, "max_days": 365}
    assert parse_expiry(None, **limits) == now + 30 * DAY
    assert parse_expiry("12h", **limits) == now + 12 * 3600
    assert parse_expiry("2w", **limits) == now + 14 * DAY
    assert parse_expiry("2026-12-31", **limits) == 1_798_761_600.0  # the end of that day, UTC
    assert parse_expiry("2026-06-01T09:00:00Z", **limits) == 1_780_304_400.0
    for bad in ("yesterday", "2020-01-01", "400d", "0h", "-1d"):
        with pytest.raises(InvalidCodeSpecError):
            parse_expiry(bad, **limits)
