"""Building the object store from settings: the local store's uploads reach its outbox."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from bakusoku.config import ConfigError, Settings
from bakusoku.pipeline.adapters import local_store_with_outbox, object_store, objects_dir
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
