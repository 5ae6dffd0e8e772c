"""Database schema and repositories (SQLite embedded; MySQL and PostgreSQL in production)."""
