"""Alembic migrations of bakusoku's schema; run them with ``bakusoku db upgrade``."""
