"""What the previous release expects of the schema, kept so upgrades can be checked against it.

During a rolling restart the previous release runs against the schema this release migrated to.
It keeps working only if every table and column it uses is still there with the same type and
every column it does not know can be left out of its inserts (nullable, or with a server
default): migrations expand first and contract later (docs/upgrades.md). ``release-schema.json``
is the previous release's tables and columns as its code declares them, and the migration head it
shipped; tests/db/test_releases.py holds this release's migrations and schema to it.

When a release is cut, write the file anew from that release's code:
``python -m bakusoku.db.releases VERSION > bakusoku/db/release-schema.json``.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bakusoku.db.migrate import head_revision
from bakusoku.db.schema import metadata

SNAPSHOT = Path(__file__).parent / "release-schema.json"


@dataclass(frozen=True)
class ColumnShape:
    """One column as a release's code declares it."""

    type: str  # repr of the SQLAlchemy type, e.g. "String(length=80)"
    nullable: bool
    primary_key: bool
    server_default: bool
    autoincrement: bool  # the database numbers it: inserts leave it out

    @property
    def required(self) -> bool:
        """Whether an insert must give it a value."""
        return not (self.nullable or self.server_default or self.autoincrement)


@dataclass(frozen=True)
class ReleaseSchema:
    version: str
    migration_head: str
    tables: dict[str, dict[str, ColumnShape]]


def column_shape(column: sa.Column[Any]) -> ColumnShape:
    numbered = (column.primary_key and column.autoincrement is True) or (
        column.primary_key
        and column.autoincrement == "auto"
        and isinstance(column.type, sa.Integer)
        and len(column.table.primary_key.columns) == 1
    )
    return ColumnShape(
        type=repr(column.type),
        nullable=bool(column.nullable),
        primary_key=column.primary_key,
        server_default=column.server_default is not None,
        autoincrement=bool(numbered),
    )


def current_schema(version: str) -> ReleaseSchema:
    """This code's tables and columns, as the snapshot of release ``version``."""
    tables = {
        name: {column.name: column_shape(column) for column in table.columns}
        for name, table in sorted(metadata.tables.items())
    }
    return ReleaseSchema(version, head_revision(), tables)


def to_json(schema: ReleaseSchema) -> str:
    document = {
        "version": schema.version,
        "migration_head": schema.migration_head,
        "tables": {
            table: {name: vars(shape) for name, shape in columns.items()}
            for table, columns in schema.tables.items()
        },
    }
    return json.dumps(document, indent=1) + "\n"


def previous_release(path: Path = SNAPSHOT) -> ReleaseSchema:
    """The previous release's schema, as written when it was cut."""
    document = json.loads(path.read_text())
    return ReleaseSchema(
        document["version"],
        document["migration_head"],
        {
            table: {name: ColumnShape(**shape) for name, shape in columns.items()}
            for table, columns in document["tables"].items()
        },
    )


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m bakusoku.db.releases VERSION > bakusoku/db/release-schema.json")
        return 2
    sys.stdout.write(to_json(current_schema(argv[0])))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
