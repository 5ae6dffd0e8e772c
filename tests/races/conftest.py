from tests.db.fixtures import db_url, migrated_database, new_database

__all__ = ["db_url", "migrated_database", "new_database"]
