"""Building the object store from settings: the local store's uploads reach its outbox."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from bakusoku.config import ConfigError, Settings
from bakusoku.db.engine import create_db_engine
from bakusoku.db.migrate import upgrade
from bakusoku.db.outbox import ObjectEventOutbox
from bakusoku.pipeline.adapters import local_store_with_outbox, object_store, objects_dir
from bakusoku.storage.errors import StorageUnavailableError
from bakusoku.storage.local import LocalObjectStore

BUCKET = "photos"


class RecordingOutbox:
    """An outbox that keeps what it is given, in order."""

    def __init__(self) -> None:
        self.events: list[Mapping[str, Any]] = []

    def append(self, notification: Mapping[str, Any]) -> None:
        self.events.append(notification)


def _settings(tmp_path: Path, **values: Any) -> Settings:
    return Settings(data_dir=tmp_path, region="eu-west-1", upload_prefix="uploads/", **values)


def test_only_uploads_reach_the_outbox_and_each_wakes_the_trigger(tmp_path: Path) -> None:
    outbox, wakes = RecordingOutbox(), []
    store = local_store_with_outbox(_settings(tmp_path), outbox, wake=lambda: wakes.append(1))
    store.put_object(BUCKET, "uploads/a/p1.jpg", b"photo", content_type="image/jpeg")
    store.put_object(BUCKET, "renditions/a/p1/small.jpg", b"small", content_type="image/jpeg")
    [record] = [event["Records"][0] for event in outbox.events]
    assert record["s3"]["object"]["key"] == "uploads/a/p1.jpg"
    assert record["awsRegion"] == "eu-west-1"
    assert wakes == [1]
    assert store.root == objects_dir(_settings(tmp_path))


def test_local_setting_builds_the_local_store_under_the_data_directory(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'unused.db'}")
    store = object_store(_settings(tmp_path, object_store="local"), engine)
    assert isinstance(store, LocalObjectStore) and store.root == tmp_path / "objects"


def test_an_unknown_store_is_a_configuration_error(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'unused.db'}")
    with pytest.raises(ConfigError, match="'object_store' is 'ftp'"):
        object_store(_settings(tmp_path, object_store="ftp"), engine)


def _full_database(path: Path) -> sa.Engine:
    """A migrated SQLite database that can grow no more, as on a full disk."""
    url = f"sqlite:///{path}"
    migrated = create_db_engine(url)
    upgrade(migrated)
    migrated.dispose()
    engine = create_db_engine(url)
    with engine.connect() as conn:
        pages = conn.exec_driver_sql("PRAGMA page_count").scalar_one()

    @sa.event.listens_for(engine, "connect")
    def _cap(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute(f"PRAGMA max_page_count = {pages}")

    engine.dispose()  # the connection opened above has no cap
    return engine


def test_an_upload_a_full_database_cannot_record_is_unavailable_and_nothing_is_kept(
    tmp_path: Path,
) -> None:
    """SQLite's "database or disk is full" is no fault of the upload: the client is told to
    retry (S3's 503), as for a database out of reach, and no object is kept without its event."""
    engine = _full_database(tmp_path / "full.db")
    store = local_store_with_outbox(_settings(tmp_path), ObjectEventOutbox(engine))
    stored: list[str] = []
    with pytest.raises(StorageUnavailableError, match="full") as refused:
        for n in range(500):
            key = f"uploads/a/p{n}.jpg"
            store.put_object(BUCKET, key, b"photo", content_type="image/jpeg")
            stored.append(key)
    assert refused.value.status == 503
    assert not store.object_path(BUCKET, f"uploads/a/p{len(stored)}.jpg").exists()
    with engine.connect() as conn:
        recorded = conn.exec_driver_sql("SELECT count(*) FROM object_events").scalar_one()
    assert recorded == len(stored)
