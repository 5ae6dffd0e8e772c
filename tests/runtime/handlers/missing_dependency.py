"""A handler module that imports a package that is not installed."""

import bakusoku_package_that_does_not_exist  # noqa: F401


def handler(event: object, context: object) -> None:  # pragma: no cover - never reached
    return None
