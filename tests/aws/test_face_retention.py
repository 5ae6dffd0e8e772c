"""Faces past their album's retention are erased, counted from the sales window staff set (else
the album's last upload), by the one function the schedule, the Lambda handler and the CLI call."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from bakusoku.auth import audit as audit_actions
from bakusoku.aws.face_retention import due_albums, expire, handler_for
from bakusoku.cli.main import cli
from bakusoku.db.albums import SalesWindows
from bakusoku.db.engine import create_db_engine
from bakusoku.db.schema import audit_log, photos
from bakusoku.faces.port import AlbumRef
from bakusoku.faces.service import FaceService
from tests.faces.conftest import engine, index_photo, needs_models, photo, service

__all__ = ["engine", "service"]

pytestmark = [pytest.mark.integration, needs_models]

DAY = 86400
SOLD = AlbumRef("school", "sports-day")  # sales ended 100 days ago
ON_SALE = AlbumRef("school", "winter")  # sales end next month
UPLOADED = AlbumRef("school", "spring")  # no window set: counts from its last upload


def _upload_row(engine: sa.Engine, album: AlbumRef, at: float) -> None:
    with engine.begin() as conn:
        conn.execute(
            photos.insert().values(
                photo_id=f"row-{album.album}",
                album=album.album,
                bucket="b",
                object_key=f"uploads/{album.service}/{album.album}/row.jpg",
                status="ready",
                created_at=at,
                updated_at=at,
            )
        )


def test_only_albums_past_their_retention_are_erased_and_audited(
    service: FaceService, engine: sa.Engine
) -> None:
    index = service.require_index()
    for album in (SOLD, ON_SALE, UPLOADED):
        index_photo(index, album, f"{album.album}-obama", photo("obama"))
    now = time.time()
    windows = SalesWindows(engine)
    windows.set_end(SOLD.service, SOLD.album, now - 100 * DAY, "key:staff")
    windows.set_end(ON_SALE.service, ON_SALE.album, now + 30 * DAY, "key:staff")
    _upload_row(engine, UPLOADED, now - 20 * DAY)
    settings = service.settings

    assert due_albums(settings, engine, now) == [SOLD]
    done = expire(settings, engine, "cli:test", now)

    assert list(done) == [SOLD] and done[SOLD].face_ids
    assert service.find_child(SOLD, [photo("obama3")]) == []
    assert service.find_child(ON_SALE, [photo("obama3")])
    assert service.find_child(UPLOADED, [photo("obama3")])
    with engine.connect() as conn:
        audited = conn.execute(
            sa.select(audit_log.c.actor, audit_log.c.target, audit_log.c.details).where(
                audit_log.c.action == audit_actions.FACES_EXPIRE
            )
        ).all()
    assert [(a, t) for a, t, _ in audited] == [("cli:test", "sports-day")]
    # Ninety days after its last upload, the album without a window goes too.
    assert due_albums(settings, engine, now + 71 * DAY) == [UPLOADED]


def test_moving_the_window_moves_the_erasure(service: FaceService, engine: sa.Engine) -> None:
    index_photo(service.require_index(), SOLD, "p", photo("obama"))
    windows = SalesWindows(engine)
    now = time.time()
    windows.set_end(SOLD.service, SOLD.album, now - 100 * DAY, "key:staff")
    windows.set_end(SOLD.service, SOLD.album, now + 10 * DAY, "key:staff")  # sales extended

    assert handler_for(service.settings, engine) == {}
    assert service.find_child(SOLD, [photo("obama3")])
    windows.set_end(SOLD.service, SOLD.album, None, "key:staff")  # no window, no upload row
    assert due_albums(service.settings, engine, now + 365 * DAY) == []


def test_staff_set_and_clear_the_window_from_the_command_line(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    runner = CliRunner()

    set_it = runner.invoke(
        cli,
        ["albums", "sales-window", "sports-day", "--service", "school", "--ends", "2027-01-31",
         "--data-dir", str(data_dir)],
    )  # fmt: skip
    bad = runner.invoke(
        cli,
        ["albums", "sales-window", "sports-day", "--service", "school", "--ends", "soon",
         "--data-dir", str(data_dir)],
    )  # fmt: skip

    assert set_it.exit_code == 0, set_it.output
    assert "sales end 2027-02-01T00:00:00Z" in set_it.output
    assert bad.exit_code == 2 and "ISO date" in bad.output
    engine = create_db_engine(f"sqlite:///{data_dir / 'bakusoku.db'}")
    try:
        ends = SalesWindows(engine).end_of("school", "sports-day", "uploads/school/sports-day/")
        with engine.connect() as conn:
            action = conn.execute(sa.select(audit_log.c.action)).scalars().all()
    finally:
        engine.dispose()
    assert ends == datetime(2027, 2, 1, tzinfo=UTC).timestamp()
    assert action == [audit_actions.ALBUM_SALES_WINDOW]
