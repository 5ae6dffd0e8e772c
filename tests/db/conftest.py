from tests.db.fixtures import db_url, migrated_database, new_database, server_db_url

__all__ = ["db_url", "migrated_database", "new_database", "server_db_url"]
