"""Getting in with a code: limits per address and per album, and the audit of every attempt."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from bakusoku.api.errors import ApiError
from bakusoku.api.parent_access import ParentAccess, session_cookie
from bakusoku.config import Settings
from bakusoku.db.engine import create_db_engine
from bakusoku.db.migrate import upgrade


@pytest.fixture
def parents(tmp_path: Path) -> ParentAccess:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'parents.db'}")
    upgrade(engine)
    settings = Settings(
        data_dir=tmp_path, code_attempts_per_minute=3, code_album_attempts_per_minute=4
    )
    return ParentAccess.from_settings(settings, engine)


def _code(parents: ParentAccess, album: str = "sports") -> str:
    _record, code = parents.codes.create(
        service="enphoto", album=album, expires_at=time.time() + 3600, created_by="t"
    )
    return code


def _wrong(code: str) -> str:
    return code[:-1] + ("Z" if code[-1] != "Z" else "Y")


def _status(parents: ParentAccess, code: str, client: str) -> tuple[int, str]:
    try:
        parents.redeem(code, client)
    except ApiError as exc:
        return exc.status, exc.code
    return 201, "ok"


def test_each_address_has_a_few_tries_a_minute(parents: ParentAccess) -> None:
    code = _code(parents)
    tries = [_status(parents, _wrong(code), "10.0.0.1") for _ in range(4)]
    assert tries == [(401, "code.invalid")] * 3 + [(429, "code.too_many_attempts")]
    # even the right code waits: the limit is on tries, not on wrong ones only
    assert _status(parents, code, "10.0.0.1") == (429, "code.too_many_attempts")
    assert _status(parents, code, "10.0.0.2") == (201, "ok")


def test_wrong_codes_for_one_album_are_limited_from_any_address(parents: ParentAccess) -> None:
    code = _code(parents)
    other_album = _code(parents, "trips")
    tries = [_status(parents, _wrong(code), f"10.0.1.{i}") for i in range(5)]
    assert tries == [(401, "code.invalid")] * 4 + [(429, "code.too_many_attempts")]
    assert _status(parents, code, "10.0.2.1") == (429, "code.too_many_attempts")
    assert _status(parents, other_album, "10.0.2.2") == (201, "ok")
    # codes whose first characters name no album count only against their address
    assert _status(parents, "2222-2222-2222", "10.0.3.1") == (401, "code.invalid")


def test_every_attempt_past_the_limits_is_audited(parents: ParentAccess) -> None:
    code = _code(parents)
    _status(parents, _wrong(code), "10.0.4.1")
    _status(parents, "hello", "10.0.4.2")
    _status(parents, code, "10.0.4.3")
    entries = parents.audit.list()
    seen = [(e["action"], e["actor"], (e["details"] or {}).get("reason")) for e in entries]
    assert seen == [
        ("code.use", "parent@10.0.4.3", None),
        ("code.fail", "parent@10.0.4.2", "malformed"),
        ("code.fail", "parent@10.0.4.1", "wrong"),
    ]
    assert entries[0]["service"] == entries[2]["service"] == "enphoto"
    assert entries[1]["service"] is None  # no album named: only operators see it


def test_the_session_cookie_is_read_from_the_cookie_header_only() -> None:
    def scope(*headers: tuple[bytes, bytes]) -> dict[str, object]:
        return {"headers": list(headers)}

    assert session_cookie(scope((b"cookie", b"a=1; bakusoku_parent=bkp_x_y; b=2"))) == "bkp_x_y"
    assert session_cookie(scope((b"authorization", b"Bearer bkp_x_y"))) is None
    assert session_cookie(scope((b"cookie", b"bakusoku_parent=" + b"x" * 500))) is None


def test_the_reference_photos_held_are_capped_by_the_setting(tmp_path: Path) -> None:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'parents.db'}")
    upgrade(engine)
    settings = Settings(data_dir=tmp_path, parent_references_held_mb=1)
    held = ParentAccess.from_settings(settings, engine).references
    photo = bytes(600 * 1024)
    held.add("first", photo, expires_at=time.time() + 60)
    held.add("second", photo, expires_at=time.time() + 60)
    assert held.get("first") == [] and held.held_bytes() == len(photo)


def test_a_token_with_a_wrong_secret_leaves_the_sessions_photos_alone(
    parents: ParentAccess,
) -> None:
    # A session's id is not its secret (it names the session in the audit log): a cookie that
    # pairs it with any other secret opens nothing and takes nothing away.
    code = _code(parents)
    session, token = parents.redeem(code, "10.0.5.1")
    parents.references.add(session.session_id, b"photo", expires_at=session.expires_at)
    forged = token[: -len("x" * 8)] + ("A" * 8 if not token.endswith("A" * 8) else "B" * 8)
    assert parents.authenticate(forged) is None
    assert parents.references.get(session.session_id) == [b"photo"]
    # its own token, once the code is revoked (from the command line: no call drops them then)
    parents.codes.revoke(code[:4], revoked_by="t")
    assert parents.authenticate(token) is None
    assert parents.references.get(session.session_id) == []
