"""Steps for migrations that also upgrade databases created before migrations existed.

Such a database is stamped with the baseline and then upgraded, so a step may find that what it
adds is already there: each helper skips what exists.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


def _inspector() -> sa.Inspector:
    return sa.inspect(op.get_bind())


def has_table(table: str) -> bool:
    return table in _inspector().get_table_names()


def index_names(table: str) -> set[str]:
    return {str(i["name"]) for i in _inspector().get_indexes(table)}


def add_columns(table: str, columns: Sequence[sa.Column[object]]) -> None:
    """Add each column ``table`` does not have yet."""
    have = {c["name"] for c in _inspector().get_columns(table)}
    for column in columns:
        if column.name not in have:
            op.add_column(table, column)


def create_indexes(table: str, indexes: dict[str, list[str]]) -> None:
    """Create each named index ``table`` does not have yet."""
    have = index_names(table)
    for name, columns in indexes.items():
        if name not in have:
            op.create_index(name, table, columns)
