"""Typed database errors: retryable ones are named so the pipeline's Retry rules retry them."""

from __future__ import annotations

from bakusoku.errors import BakusokuError


class DatabaseError(BakusokuError):
    """Base of the errors bakusoku raises about its database."""

    code = "db.error"


class DatabaseUnavailableError(DatabaseError):
    """The database could not be reached, or dropped the connection; retrying later can succeed."""

    code = "db.unavailable"


class DatabaseBusyError(DatabaseUnavailableError):
    """Every connection slot of the deployment stayed taken for the whole wait; retry later."""

    code = "db.unavailable"


class UnsupportedDatabaseError(DatabaseError):
    """The database URL names a database bakusoku does not support."""

    code = "config.invalid"


class MigrationError(DatabaseError):
    """The schema could not be brought to the version this release needs."""

    code = "db.migration"
