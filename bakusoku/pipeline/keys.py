"""Object key layout: where uploads and renditions live, and how a key names its photo."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

ALBUM_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
_UPLOAD_KEY = re.compile(
    r"^(?P<prefix>.*?)(?P<album>[A-Za-z0-9][A-Za-z0-9_-]{0,63})/"
    r"(?P<photo_id>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.[a-z]{3,4}$"
)

EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp", "image/heic": "heic"}


@dataclass(frozen=True)
class PhotoRef:
    photo_id: str
    album: str


def upload_key(upload_prefix: str, album: str, photo_id: str, content_type: str) -> str:
    return f"{upload_prefix}{album}/{photo_id}.{EXTENSIONS[content_type]}"


def photo_ref(bucket: str, key: str, upload_prefix: str) -> PhotoRef:
    """The photo an uploaded key belongs to; keys not made by the API get a stable derived id."""
    match = _UPLOAD_KEY.match(key)
    if match and match["prefix"] == upload_prefix:
        return PhotoRef(match["photo_id"], match["album"])
    rest = key[len(upload_prefix) :] if key.startswith(upload_prefix) else key
    album = rest.split("/", 1)[0] if "/" in rest else "default"
    if not ALBUM_PATTERN.match(album):
        album = "default"
    return PhotoRef(str(uuid.uuid5(uuid.NAMESPACE_URL, f"s3://{bucket}/{key}")), album)


def rendition_key(rendition_prefix: str, album: str, photo_id: str, name: str, ext: str) -> str:
    return f"{rendition_prefix}{album}/{photo_id}/{name}.{ext}"


def rendition_prefix_of(rendition_prefix: str, album: str, photo_id: str) -> str:
    return f"{rendition_prefix}{album}/{photo_id}/"
