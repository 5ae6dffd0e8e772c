"""Packaging for AWS: one SAM template (or serverless.yml) and code bundle per service and stage."""
