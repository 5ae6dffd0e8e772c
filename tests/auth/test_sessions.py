"""Parents' sessions on a real SQLite database: one album, short-lived, ended with their code."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from bakusoku.auth.codes import AlbumCode, AlbumCodeStore
from bakusoku.auth.principal import Principal
from bakusoku.auth.sessions import ParentSessionStore
from bakusoku.db.engine import create_db_engine
from bakusoku.db.migrate import upgrade
from bakusoku.db.schema import parent_sessions

HOUR = 3600.0


@pytest.fixture
def engine(tmp_path: Path) -> sa.Engine:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'sessions.db'}")
    upgrade(engine)
    return engine


def _code(engine: sa.Engine, expires_in: float = 48 * HOUR) -> AlbumCode:
    record, _ = AlbumCodeStore(engine).create(
        service="enphoto", album="sports", expires_at=time.time() + expires_in, created_by="t"
    )
    return record


def test_a_session_is_one_album_of_one_service_and_no_staff_role(engine: sa.Engine) -> None:
    sessions = ParentSessionStore(engine)
    session, token = sessions.start(_code(engine), minutes=120)
    found = sessions.authenticate(token)
    assert found == session
    principal = found.principal
    assert (principal.service, principal.albums, principal.role) == (
        "enphoto",
        ("sports",),
        "parent",
    )
    assert principal.is_parent and not principal.is_operator
    assert not any(principal.has_role(role) for role in ("viewer", "uploader", "admin"))
    assert principal.actor == f"parent:{session.session_id}"
    assert Principal("k", "enphoto", None, "viewer").has_role("viewer")
    with engine.connect() as conn:
        row = conn.execute(sa.select(parent_sessions)).one()
    assert token.split("_", 2)[2] not in str(tuple(row))  # the secret, which may hold "_"
    assert sessions.authenticate(token[:-1] + ("A" if token[-1] != "A" else "B")) is None
    assert sessions.authenticate("bks_" + token[4:]) is None


def test_sessions_expire_and_never_outlive_their_code(engine: sa.Engine) -> None:
    sessions = ParentSessionStore(engine)
    now = time.time()
    session, token = sessions.start(_code(engine), minutes=120, now=now)
    assert session.expires_at == now + 2 * HOUR
    assert sessions.authenticate(token, now=now + 2 * HOUR - 1) is not None
    assert sessions.authenticate(token, now=now + 2 * HOUR) is None
    code = _code(engine, expires_in=600)
    short, _ = sessions.start(code, minutes=120, now=now)
    assert short.expires_at == code.expires_at


def test_ending_or_revoking_ends_the_session_and_forgets_what_was_said(engine: sa.Engine) -> None:
    codes, sessions = AlbumCodeStore(engine), ParentSessionStore(engine)
    code = _code(engine)
    first, first_token = sessions.start(code, minutes=60)
    second, second_token = sessions.start(code, minutes=60)
    sessions.set_verdict(first.session_id, ["face-1"], "confirmed")
    sessions.end(first.session_id)
    assert sessions.authenticate(first_token) is None and sessions.get(first.session_id) is None
    codes.revoke(code.code_id, revoked_by="t")
    assert sessions.authenticate(second_token) is None  # at once, before any clean-up
    assert sessions.end_for_code(code.code_id) == [second.session_id]
    assert sessions.get(second.session_id) is None


def test_verdicts_move_a_face_between_confirmed_and_rejected(engine: sa.Engine) -> None:
    sessions = ParentSessionStore(engine)
    session, _ = sessions.start(_code(engine), minutes=60)
    sid = session.session_id
    state = sessions.set_verdict(sid, ["a", "b"], "confirmed")
    assert (state.confirmed, state.rejected) == (("a", "b"), ())
    state = sessions.set_verdict(sid, ["b"], "rejected")
    assert (state.confirmed, state.rejected) == (("a",), ("b",))
    state = sessions.set_verdict(sid, ["a"], "none")
    assert (state.confirmed, state.rejected) == ((), ("b",))


def test_expired_sessions_are_deleted_when_the_next_one_starts(engine: sa.Engine) -> None:
    sessions = ParentSessionStore(engine)
    code = _code(engine)
    old, _ = sessions.start(code, minutes=1, now=time.time() - 3600)
    sessions.start(code, minutes=60)
    assert sessions.get(old.session_id) is None
