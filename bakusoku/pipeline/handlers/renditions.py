"""Shared by Trim and Thumbnails: render a photo's renditions and store them atomically."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bakusoku.imaging import RenditionSpec, render_photo
from bakusoku.pipeline.adapters import adapters
from bakusoku.pipeline.keys import rendition_key

_EXTENSIONS = {"image/jpeg": "jpg", "image/webp": "webp", "image/png": "png"}


def make_renditions(photo: dict[str, Any], specs: Sequence[RenditionSpec]) -> dict[str, Any]:
    """Render ``specs`` for the photo described by StorePhoto's output and store each one."""
    env = adapters()
    data = env.store.get_object(photo["bucket"], photo["key"])
    result = render_photo(data, specs)
    stored = {}
    for rendition in result.renditions:
        ext = _EXTENSIONS.get(rendition.content_type, "bin")
        key = rendition_key(
            env.settings.rendition_prefix, photo["album"], photo["photoId"], rendition.name, ext
        )
        env.store.put_object(
            photo["bucket"], key, rendition.data, content_type=rendition.content_type
        )
        stored[rendition.name] = {
            "key": key,
            "width": rendition.width,
            "height": rendition.height,
            "size": len(rendition.data),
            "contentType": rendition.content_type,
        }
    info = result.info
    return {
        "renditions": stored,
        "width": info.width,
        "height": info.height,
        "takenAt": info.taken_at,
        "cropBox": list(result.crop_box) if result.crop_box else None,
    }
