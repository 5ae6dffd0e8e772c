"""The root of bakusoku's typed errors; each part defines its own subclasses."""


class BakusokuError(Exception):
    """Base class of every error bakusoku raises on purpose.

    ``code`` is a stable, documented identifier (``image.corrupt``, ``storage.unavailable``...) that is
    shown to people and in alerts; the message says what went wrong and what to do.
    """

    code = "internal"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""
