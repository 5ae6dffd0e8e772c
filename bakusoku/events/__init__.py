"""Typed readers for AWS event shapes, normalised to one ObjectCreated record."""
