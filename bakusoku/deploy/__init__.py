"""Packaging for AWS: SAM templates per service and stage."""
