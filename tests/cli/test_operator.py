"""What the operator commands (`bakusoku keys`, `albums`, `faces`) share: engine, actor, output."""

from __future__ import annotations

import getpass
import json
from pathlib import Path

import sqlalchemy as sa
from click.testing import CliRunner, Result

from bakusoku.cli.main import cli
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


def _run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_a_key_made_is_printed_once_and_listed_without_its_secret(tmp_path: Path) -> None:
    made = _run("keys", "create", "--service", "school-a", "--json", "--data-dir", str(tmp_path))
    assert made.exit_code == 0, made.output
    key = json.loads(made.stdout)
    assert key["key"].startswith(f"bks_{key['key_id']}_")
    listed = _run("keys", "list", "--json", "--data-dir", str(tmp_path))
    (only,) = json.loads(listed.stdout)
    assert only["key_id"] == key["key_id"]
    assert key["key"] not in listed.stdout
    plain = _run("keys", "list", "--data-dir", str(tmp_path))
    assert plain.stdout.startswith(f"{key['key_id']}  school-a")


def test_a_code_made_warns_once_on_stderr_and_a_wrong_id_is_a_clean_error(tmp_path: Path) -> None:
    shared = _run("albums", "share", "day-1", "--service", "school-a", "--data-dir", str(tmp_path))
    assert shared.exit_code == 0, shared.output
    summary, code = shared.stdout.splitlines()
    assert summary.startswith("code ") and "opens album day-1 of school-a" in summary
    assert "/p/ . Keep it now: it cannot be shown again." in shared.stderr
    listed = _run("albums", "codes", "--json", "--data-dir", str(tmp_path))
    assert code not in listed.stdout and len(json.loads(listed.stdout)) == 1
    wrong = _run("albums", "revoke", "zzzz", "--data-dir", str(tmp_path))
    assert wrong.exit_code == 1
    assert wrong.stderr.startswith("Error: ") and "Traceback" not in wrong.output
