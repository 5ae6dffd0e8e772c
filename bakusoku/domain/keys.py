"""Object key layout: where uploads and renditions live, and how a key names its photo.

Uploads are ``{upload_prefix}{service}/{album}/{photo_id}.{ext}``: the service and album a photo
belongs to are part of its key, so access to it is decided from the key alone. Keys made before
services existed (``{upload_prefix}{album}/{photo_id}.{ext}``) still resolve, with no service.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

ALBUM_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
SERVICE_PATTERN = re.compile(r"[a-z0-9][a-z0-9-]{0,31}")
_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
_SCOPED_KEY = re.compile(
    rf"(?P<service>{SERVICE_PATTERN.pattern})/(?P<album>{ALBUM_PATTERN.pattern})/"
    rf"(?P<photo_id>{_UUID})\.[a-z]{{3,4}}"
)
_LEGACY_KEY = re.compile(rf"(?P<album>{ALBUM_PATTERN.pattern})/(?P<photo_id>{_UUID})\.[a-z]{{3,4}}")

EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp", "image/heic": "heic"}


@dataclass(frozen=True)
class PhotoRef:
    photo_id: str
    album: str
    service: str | None = None


def is_service_name(name: str) -> bool:
    """Lower-case ASCII letters, digits and hyphens, 1-32 characters, starting alphanumeric."""
    return SERVICE_PATTERN.fullmatch(name) is not None


def is_album_name(name: str) -> bool:
    """ASCII letters, digits, ``_`` and ``-``, 1-64 characters, starting alphanumeric."""
    return ALBUM_PATTERN.fullmatch(name) is not None


def upload_key(
    upload_prefix: str, album: str, photo_id: str, content_type: str, *, service: str | None = None
) -> str:
    """The key of a new upload; made by the server only, from checked names and a fresh uuid."""
    if service is None:
        return f"{upload_prefix}{album}/{photo_id}.{EXTENSIONS[content_type]}"
    return f"{upload_prefix}{service}/{album}/{photo_id}.{EXTENSIONS[content_type]}"


def upload_scope_prefix(upload_prefix: str, service: str, album: str | None = None) -> str:
    """The key prefix every upload of ``service`` (and ``album``) starts with."""
    return f"{upload_prefix}{service}/" + (f"{album}/" if album is not None else "")


def photo_ref(bucket: str, key: str, upload_prefix: str) -> PhotoRef:
    """The photo an uploaded key belongs to; keys not made by the API get a stable derived id."""
    if key.startswith(upload_prefix):
        rest = key[len(upload_prefix) :]
        match = _SCOPED_KEY.fullmatch(rest)
        if match:
            return PhotoRef(match["photo_id"], match["album"], match["service"])
        match = _LEGACY_KEY.fullmatch(rest)
        if match:
            return PhotoRef(match["photo_id"], match["album"])
    rest = key[len(upload_prefix) :] if key.startswith(upload_prefix) else key
    album = rest.split("/", 1)[0] if "/" in rest else "default"
    if not is_album_name(album):
        album = "default"
    return PhotoRef(str(uuid.uuid5(uuid.NAMESPACE_URL, f"s3://{bucket}/{key}")), album)


def owner_of(key: str, upload_prefix: str) -> tuple[str, str] | None:
    """``(service, album)`` of an upload key the API made, else None (no service owns it)."""
    if not key.startswith(upload_prefix):
        return None
    match = _SCOPED_KEY.fullmatch(key[len(upload_prefix) :])
    return (match["service"], match["album"]) if match else None


def rendition_key(rendition_prefix: str, album: str, photo_id: str, name: str, ext: str) -> str:
    return f"{rendition_prefix}{album}/{photo_id}/{name}.{ext}"


def rendition_prefix_of(rendition_prefix: str, album: str, photo_id: str) -> str:
    return f"{rendition_prefix}{album}/{photo_id}/"


# Transforms too large to answer inline live beside the photo's renditions (so deleting the photo
# removes them) in a folder no album can be named (album names start alphanumeric): the edge may
# read ``{rendition_prefix}*/_edge/*`` and nothing else of the bucket.
EDGE_FOLDER = "_edge"


def edge_key(rendition_prefix: str, album: str, photo_id: str, name: str) -> str:
    """Where a transform answered by redirect is kept, e.g. ``renditions/a/{id}/_edge/{etag}.jpg``."""
    return f"{rendition_prefix_of(rendition_prefix, album, photo_id)}{EDGE_FOLDER}/{name}"


def edge_pattern(rendition_prefix: str) -> str:
    """The keys of every such transform, as an IAM resource or CloudFront path pattern."""
    return f"{rendition_prefix}*/{EDGE_FOLDER}/*"
