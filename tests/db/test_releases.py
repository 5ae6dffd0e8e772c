"""Expand/contract, enforced: the previous release keeps working against this release's schema.

The previous release is what ``bakusoku/db/release-schema.json`` froze of it (its tables and
columns as its code declares them, and its migration head); its code is not needed for the
check, so it runs on a clean clone without history. Release N's tables are rebuilt from that
file and used against a database migrated by release N+1 (this tree), next to N+1's own engine.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory

from bakusoku.db.engine import create_db_engine
from bakusoku.db.migrate import MIGRATIONS_DIR, upgrade
from bakusoku.db.releases import ColumnShape, ReleaseSchema, current_schema, previous_release
from bakusoku.workflow.engine import WorkflowEngine
from bakusoku.workflow.invoker import FunctionInvoker
from tests.db.fixtures import KINDS

PREVIOUS = previous_release()


def _release_tables(release: ReleaseSchema) -> dict[str, sa.Table]:
    """The release's tables as its code declared them (only the columns it knows)."""
    meta = sa.MetaData()
    types: dict[str, Any] = {  # every type class SQLAlchemy exports, by name
        name: value
        for name, value in vars(sa).items()
        if isinstance(value, type) and issubclass(value, sa.types.TypeEngine)
    }
    tables = {}
    for name, columns in release.tables.items():
        tables[name] = sa.Table(
            name,
            meta,
            *(
                sa.Column(
                    column,
                    eval(shape.type, {"__builtins__": {}}, types),  # "String(length=80)"
                    primary_key=shape.primary_key,
                    nullable=shape.nullable,
                    autoincrement=shape.autoincrement or "auto",
                )
                for column, shape in columns.items()
            ),
        )
    return tables


def _value(shape: ColumnShape, n: int) -> Any:
    """A value of the column's type, distinct per ``n``."""
    kind = shape.type.split("(")[0]
    if kind in ("String", "Text"):
        return f"v{n}"
    if kind in ("Integer", "BigInteger", "SmallInteger"):
        return n
    if kind in ("Double", "Float"):
        return float(n)
    if kind == "JSON":
        return {"n": n}
    if kind == "Boolean":
        return bool(n % 2)
    raise AssertionError(f"no test value for {shape.type}: add one")


def _migrations_after(revision: str) -> list[str]:
    """The migrations newer than ``revision``, oldest first."""
    scripts = ScriptDirectory(str(MIGRATIONS_DIR))
    newer = [s.revision for s in scripts.walk_revisions(base=revision, head="heads")]
    return [r for r in reversed(newer) if r != revision]


def test_the_snapshot_is_of_a_release_the_migrations_reach() -> None:
    """The frozen release names a migration this tree ships, and its tables exist there."""
    scripts = ScriptDirectory(str(MIGRATIONS_DIR))
    assert scripts.get_revision(PREVIOUS.migration_head) is not None
    assert {"photos", "executions", "execution_events"} <= set(PREVIOUS.tables)


def test_the_previous_release_schema_is_what_its_migration_head_builds(tmp_path: Any) -> None:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'n.db'}")
    try:
        upgrade(engine, PREVIOUS.migration_head)
        inspector = sa.inspect(engine)
        built = {
            table: {c["name"] for c in inspector.get_columns(table)}
            for table in inspector.get_table_names()
        }
    finally:
        engine.dispose()
    for table, columns in PREVIOUS.tables.items():
        assert set(columns) <= built.get(table, set()), f"{table}: the snapshot is not release N's"


def test_every_migration_since_the_previous_release_only_expands(tmp_path: Any) -> None:
    """Step by step: nothing release N uses is dropped, renamed, retyped or made required, and
    nothing new is required of N's inserts. A drop waits for a release that stopped using it."""
    engine = create_db_engine(f"sqlite:///{tmp_path / 'steps.db'}")
    problems: list[str] = []
    try:
        upgrade(engine, PREVIOUS.migration_head)
        for revision in _migrations_after(PREVIOUS.migration_head):
            upgrade(engine, revision)
            inspector = sa.inspect(engine)
            tables = set(inspector.get_table_names())
            for table, used in PREVIOUS.tables.items():
                if table not in tables:
                    problems.append(f"{revision} drops or renames table {table}, which N uses")
                    continue
                found = {c["name"]: c for c in inspector.get_columns(table)}
                for name, shape in used.items():
                    if name not in found:
                        problems.append(f"{revision} drops or renames {table}.{name}, N uses it")
                    elif shape.nullable and not found[name]["nullable"]:
                        problems.append(f"{revision} makes {table}.{name} required; N may omit it")
                for name, column in found.items():
                    if name not in used and not (column["nullable"] or column["default"]):
                        problems.append(
                            f"{revision} adds {table}.{name} NOT NULL without a server default: "
                            "N's inserts leave it out; make it nullable (expand), fill it, and "
                            "require it in a later release"
                        )
    finally:
        engine.dispose()
    assert problems == []


def test_the_previous_release_columns_keep_their_types() -> None:
    now = current_schema("next").tables
    changed = [
        f"{table}.{name}: {shape.type} -> {now[table][name].type}"
        for table, columns in PREVIOUS.tables.items()
        for name, shape in columns.items()
        if table in now and name in now[table] and now[table][name].type != shape.type
    ]
    assert changed == []


@pytest.mark.parametrize("kind", KINDS)
def test_release_n_and_n_plus_1_share_one_database(
    kind: str, new_database: Callable[[str], str]
) -> None:
    """Release N+1 migrated the database; release N's tables still insert, read, update and
    delete with the columns N knows, and N reads what N+1's engine wrote."""
    engine = create_db_engine(new_database(kind))
    try:
        upgrade(engine)  # release N+1 starts first in a rolling restart and migrates
        release_n = _release_tables(PREVIOUS)
        for table_name, table in release_n.items():
            shapes = PREVIOUS.tables[table_name]
            row = {
                name: _value(shape, 1) for name, shape in shapes.items() if not shape.autoincrement
            }
            keys = [table.c[n] == row[n] for n, s in shapes.items() if s.primary_key and n in row]
            with engine.begin() as conn:
                conn.execute(table.insert().values(**row))
                read = conn.execute(sa.select(table).where(*keys)).one()._mapping
                assert {n: read[n] for n in row} == row, table_name
                changed = next(n for n, s in shapes.items() if not s.primary_key)
                value = _value(shapes[changed], 2)
                conn.execute(table.update().where(*keys).values({changed: value}))
                assert conn.execute(sa.select(table.c[changed]).where(*keys)).scalar() == value
                conn.execute(table.delete().where(*keys))

        # N+1's engine starts an execution; N lists and reads it with the columns it knows.
        workflow = WorkflowEngine(engine, FunctionInvoker({}))
        arn = workflow.register_state_machine(
            "pipeline", {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
        )
        workflow.start_execution(arn, {"photo": 1}, name="started-by-n-plus-1")
        executions_n = release_n["executions"]
        with engine.connect() as conn:
            seen = conn.execute(
                sa.select(executions_n).where(executions_n.c.name == "started-by-n-plus-1")
            ).one()
        assert seen.status == "RUNNING" and seen.input == {"photo": 1}
    finally:
        engine.dispose()
