"""Request bodies of the HTTP API, validated with precise, field-named errors."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

ALLOWED_CONTENT_TYPES = ("image/jpeg", "image/png", "image/webp", "image/heic")


class UploadRequest(BaseModel):
    """``POST /v1/uploads``: what the client is about to upload."""

    model_config = ConfigDict(extra="forbid")

    filename: str = Field(min_length=1, max_length=255)
    content_type: str = Field(min_length=1, max_length=64)
    size: int = Field(ge=0)
    album: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
