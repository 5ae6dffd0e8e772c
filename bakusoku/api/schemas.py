"""What the photo and access routes answer, described for OpenAPI.

The routes build their JSON in ``bakusoku.api.views``; these models only describe it (routes
declare them with ``responses=`` and ``response_model=None``, so nothing is filtered). The
property-based API test checks every answer against them.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from bakusoku.domain.catalogue import CATALOGUE

Status = Literal["pending", "processing", "ready", "failed", "duplicate"]
Role = Literal["viewer", "uploader", "admin"]


class Rendition(BaseModel):
    url: str = Field(description="a signed GET of this rendition, valid for minutes")
    width: int
    height: int
    size: int
    content_type: str
    crop_box: list[int] | None = Field(None, description="print renditions: the trimmed area")
    lossless: bool | None = Field(
        None,
        description="print renditions: cut from the original's JPEG blocks without re-encoding",
    )
    reencoded_because: str | None = Field(
        None, description="print renditions encoded from the decode: why not cut losslessly"
    )


class PhotoError(BaseModel):
    code: str = Field(
        description="a stable error code; the README's table says what it means and what to do",
        json_schema_extra={"enum": list(CATALOGUE)},
    )
    message: str


class PhotoMetadata(BaseModel):
    """What the photo's own bytes said; ``gps`` only where configuration keeps it."""

    format: str | None
    orientation: int | None
    camera_make: str | None
    camera_model: str | None
    lens: str | None
    exposure: dict[str, Any] | None
    gps: dict[str, Any] | None


class ImageCandidate(BaseModel):
    """One signed transform URL and the width in pixels it answers with (``srcset``'s ``w``)."""

    width: int
    url: str


class ImageSets(BaseModel):
    """Signed transform URLs for pages: square gallery cells and the photo page's frame."""

    grid: list[ImageCandidate]
    frame: list[ImageCandidate]


class PhotoView(BaseModel):
    """The photo: status, size, metadata and its renditions as signed links."""

    photo_id: str
    album: str
    status: Status
    filename: str | None
    content_type: str | None
    size: int | None
    width: int | None
    height: int | None
    taken_at: str | None
    sha256: str | None
    key: str
    crop_box: list[int] | None
    faces: list[list[int]] | None = Field(description="face boxes found, when detection ran")
    face_index: str | None = Field(
        None,
        description="face search: indexed | unindexed (faces.unindexed: the photo is ready all the"
        " same) | off; null until indexed",
    )
    face_index_error: str | None = Field(None, description="why the faces are unindexed")
    placeholder: str | None
    duplicate_of: str | None
    metadata: PhotoMetadata
    renditions: dict[str, Rendition]
    images: ImageSets | None = Field(description="transform URLs by width; null until ready")
    error: PhotoError | None
    execution_name: str | None
    created_at: str
    updated_at: str


class PhotoPage(BaseModel):
    """Photos, newest first."""

    items: list[PhotoView]
    next_cursor: str | None = Field(description="pass as cursor for the next page; null: last")


class PresignedRequest(BaseModel):
    method: Literal["PUT"]
    url: str
    headers: dict[str, str] = Field(description="send exactly these headers with the bytes")


class UploadGrant(BaseModel):
    """The presigned upload: send the bytes with ``upload`` before ``expires_at``."""

    photo_id: str
    key: str
    upload: PresignedRequest
    expires_at: str


class OriginalGrant(BaseModel):
    """A signed link to the original, for minutes."""

    photo_id: str
    url: str = Field(description="a signed GET of the photo as uploaded, as an attachment")
    expires_at: str


class WhoAmI(BaseModel):
    """The key in use (never the key itself)."""

    key_id: str
    service: str | None = Field(description="null: the admin token, every service")
    albums: list[str] | None = Field(description="null: every album of the service")
    role: Role


class AuditEntry(BaseModel):
    id: int
    at: str
    actor: str = Field(description="key:<key_id> or admin-token")
    action: str
    service: str | None
    target: str | None
    details: dict[str, Any] | None


class AuditPage(BaseModel):
    """Audit entries, newest first."""

    items: list[AuditEntry]
    next_before: int | None


def answers(model: type[BaseModel], status: int = 200) -> dict[int | str, dict[str, Any]]:
    """``responses=`` entry of a route's success answer."""
    return {status: {"model": model, "description": model.__doc__ or model.__name__}}
