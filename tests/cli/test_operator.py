"""The engine and the actor the operator commands (`bakusoku keys`, `bakusoku faces`) share."""

from __future__ import annotations

import getpass
from pathlib import Path

import sqlalchemy as sa

from bakusoku.cli.operator import cli_actor, migrated_engine
from bakusoku.config import load_settings


def test_migrated_engine_creates_the_folder_and_the_schema(tmp_path: Path) -> None:
    data_dir = tmp_path / "not-yet" / "data"
    engine = migrated_engine(load_settings({"data_dir": data_dir}))
    try:
        assert data_dir.is_dir()
        assert "photos" in sa.inspect(engine).get_table_names()
    finally:
        engine.dispose()


def test_cli_actor_names_the_login() -> None:
    assert cli_actor() == f"cli:{getpass.getuser()}"
