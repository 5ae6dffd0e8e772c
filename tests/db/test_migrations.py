"""The shipped migrations build exactly the schema of bakusoku.db.schema, on every database."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa

import bakusoku
from bakusoku.db.engine import create_db_engine
from bakusoku.db.migrate import current_revision, head_revision, schema_differences, upgrade
from tests.db.fixtures import KINDS
from tests.schema import create_schema


@pytest.mark.parametrize("kind", KINDS)
def test_migrated_schema_equals_the_metadata(kind: str, new_database: Callable[[str], str]) -> None:
    engine = create_db_engine(new_database(kind))
    try:
        assert current_revision(engine) is None
        assert upgrade(engine) == head_revision()
        assert schema_differences(engine) == []
        assert upgrade(engine) == head_revision()  # running it again changes nothing
    finally:
        engine.dispose()


@pytest.mark.parametrize("kind", KINDS)
def test_a_database_made_before_migrations_is_adopted(
    kind: str, new_database: Callable[[str], str]
) -> None:
    engine = create_db_engine(new_database(kind))
    try:
        create_schema(engine)  # what older releases did at start-up
        assert upgrade(engine) == head_revision()
        assert schema_differences(engine) == []
    finally:
        engine.dispose()


def test_every_api_query_has_an_index(db_url: str) -> None:
    engine = create_db_engine(db_url)
    try:
        inspector = sa.inspect(engine)
        indexes = {tuple(i["column_names"]) for i in inspector.get_indexes("photos")}
        uniques = {tuple(u["column_names"]) for u in inspector.get_unique_constraints("photos")}
    finally:
        engine.dispose()
    covered = indexes | uniques
    assert ("album", "status", "created_at") in covered  # list by album and status
    assert ("album", "created_at") in covered  # list by album
    assert ("status", "created_at") in covered  # list by status
    assert ("created_at",) in covered  # list everything
    assert ("bucket", "object_key") in covered  # the object key (upserts)
    assert ("sha256",) in covered  # duplicates


def test_no_product_code_creates_tables_outside_the_migrations() -> None:
    package = Path(bakusoku.__file__).parent
    creating = [
        str(path.relative_to(package))
        for path in package.rglob("*.py")
        if "create_all(" in path.read_text()
    ]
    assert creating == []
