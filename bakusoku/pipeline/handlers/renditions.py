"""Shared by Trim and Thumbnails: render a photo's renditions and store them atomically.

Each object is written whole (temporary file, then rename) and the photo row lists renditions only
once MarkReady has run, so a reader never sees a half-made rendition; MarkFailed removes the
renditions of a photo that failed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bakusoku.imaging import FaceDetector, RenditionSpec, render_photo
from bakusoku.imaging.faces import boxes_json
from bakusoku.pipeline.adapters import adapters
from bakusoku.pipeline.handlers.imaging_settings import imaging_options
from bakusoku.pipeline.keys import rendition_key

_EXTENSIONS = {"image/jpeg": "jpg", "image/webp": "webp", "image/png": "png"}


def make_renditions(
    photo: dict[str, Any],
    specs: Sequence[RenditionSpec],
    *,
    detector: FaceDetector | None = None,
    with_placeholder: bool = False,
) -> dict[str, Any]:
    """Render ``specs`` for the photo described by StorePhoto's output and store each one."""
    env = adapters()
    options = imaging_options(env.settings)
    data = env.store.get_object(photo["bucket"], photo["key"])
    result = render_photo(
        data,
        specs,
        detector=detector,
        square=options.square,
        max_pixels=options.max_pixels,
        allow_tiff=options.allow_tiff,
        with_placeholder=with_placeholder,
    )
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
        if rendition.name in result.crop_boxes:
            stored[rendition.name]["cropBox"] = list(result.crop_boxes[rendition.name])
    info = result.info
    output: dict[str, Any] = {
        "renditions": stored,
        "width": info.width,
        "height": info.height,
        "takenAt": info.taken_at,
    }
    if result.crop_boxes:
        output["cropBox"] = list(result.crop_box)
    if result.faces is not None:
        output["faces"] = boxes_json(result.faces)
    if result.placeholder is not None:
        output["placeholder"] = result.placeholder
    return output
