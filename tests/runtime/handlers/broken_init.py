"""A handler module whose init fails: importing it raises."""

raise RuntimeError("DATABASE_URL is not set")


def handler(event: object, context: object) -> None:  # pragma: no cover - never reached
    return None
