"""Typed errors of packaging and deploying; each message says what to change."""

from __future__ import annotations

from bakusoku.errors import BakusokuError


class PackageError(BakusokuError):
    """Writing the template or the code bundle failed."""

    code = "deploy.package"


class DeployError(BakusokuError):
    """Deploying could not start or did not finish (missing tool, credentials, failed stack)."""

    code = "deploy.failed"
