"""Fixtures for the Lambda-side code: moto's server on loopback, as the packaging tests use it."""

from tests.deploy.conftest import fake_aws, moto_endpoint

__all__ = ["fake_aws", "moto_endpoint"]
