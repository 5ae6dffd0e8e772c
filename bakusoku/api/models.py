"""Request bodies of the HTTP API, validated with precise, field-named errors."""

from __future__ import annotations

import unicodedata

from pydantic import BaseModel, ConfigDict, Field, field_validator

from bakusoku.api.quoting import looks_like_secret

ALLOWED_CONTENT_TYPES = ("image/jpeg", "image/png", "image/webp", "image/heic")
# Control, invisible formatting (bidi overrides, zero-width), surrogate and line/paragraph
# separator characters: never in text a person typed to be shown or printed as one line.
_UNPRINTABLE = ("Cc", "Cf", "Cs", "Zl", "Zp")


def has_unprintable(value: str) -> bool:
    """Whether ``value`` holds a character that would reshape what it is printed in (a
    terminal's escape sequence, a forged line, text reversed or hidden)."""
    return any(unicodedata.category(c) in _UNPRINTABLE for c in value)


class UploadRequest(BaseModel):
    """``POST /v1/uploads``: what the client is about to upload.

    Strict: a number sent as a string (``"100"``) or a boolean (``true``) is refused, never read
    as a size.
    """

    model_config = ConfigDict(extra="forbid", strict=True)

    filename: str = Field(min_length=1, max_length=255)
    # Any other type is refused with upload.unsupported_type; the enum tells clients up front.
    content_type: str = Field(
        min_length=1, max_length=64, json_schema_extra={"enum": list(ALLOWED_CONTENT_TYPES)}
    )
    size: int = Field(ge=0)
    album: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
    # Only the admin token names the service; a service key uploads into its own service.
    service: str | None = Field(None, min_length=1, max_length=32, pattern=r"^[a-z0-9][a-z0-9-]*$")
    expires_in: int | None = Field(None, ge=60, le=3600, description="seconds; default 900")

    @field_validator("album")
    @classmethod
    def _not_a_key(cls, value: str) -> str:
        """An album name is in every object key, link and log line of its photos: never a key
        pasted in its place."""
        if looks_like_secret(value):
            raise ValueError("looks like an API key or admin token, not an album name")
        return value

    @field_validator("filename")
    @classmethod
    def _plain_file_name(cls, value: str) -> str:
        """A file's own name: no path, no control or invisible formatting characters."""
        if "/" in value or "\\" in value or value in (".", ".."):
            raise ValueError("must be a file name without a path")
        if has_unprintable(value):
            raise ValueError("must not contain control or invisible formatting characters")
        if len(value.encode("utf-8", "surrogatepass")) > 255:
            raise ValueError("must be at most 255 bytes of UTF-8")
        return unicodedata.normalize("NFC", value)
