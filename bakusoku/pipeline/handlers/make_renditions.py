"""MakeRenditions: every rendition of a photo from one fetch and one decode, stored atomically.

The print trim (89:127 and any ``extra_prints``, around detected faces), the browsing renditions
(``browsing_renditions`` in each of ``browsing_formats``) and the ThumbHash placeholder all come
from a single :func:`~bakusoku.imaging.render_photo` call: the original is read from the store
once, decoded once, and faces are searched once.

Each object is written whole (temporary file, then rename) and the photo row lists renditions only
once MarkReady has run, so a reader never sees a half-made rendition; MarkFailed removes the
renditions of a photo that failed. A retry writes the same keys again.
"""

from __future__ import annotations

from typing import Any

from bakusoku.domain.keys import rendition_key
from bakusoku.imaging import PhotoResult, render_photo
from bakusoku.imaging.faces import boxes_json
from bakusoku.imaging.trim import FaceBox
from bakusoku.pipeline.adapters import Adapters, adapters
from bakusoku.pipeline.handlers.imaging_settings import imaging_options

_EXTENSIONS = {"image/jpeg": "jpg", "image/webp": "webp", "image/png": "png"}


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Input: StorePhoto's output. Output: what MarkReady records on the photo.

    ``{"renditions": {name: {"key", "width", "height", "size", "contentType"[, print facts]}},
    "width", "height", "takenAt", "cropBox", "faces"?, "faceCrops"?, "placeholder"}``.
    ``faceCrops`` (when faces were looked for and ``face_index`` is not off): ``[{"box", "key"}]``,
    the key of each face's full-resolution cut, ``null`` for a face too small to match. With the
    ``faces`` extra
    installed (and ``face_detection`` on) the prints keep every detected face in frame; otherwise
    they are centred. A print's facts are its ``cropBox`` and ``lossless``: true when it was cut
    from the original's JPEG blocks without re-encoding, else false with ``reencodedBecause``.
    """
    env = adapters()
    options = imaging_options(env.settings)
    data = env.store.get_object(event["bucket"], event["key"])
    result = render_photo(
        data,
        (*options.print_specs, *options.browsing_specs),
        detector=options.face_detector(),
        square=options.square,
        max_pixels=options.max_pixels,
        allow_tiff=options.allow_tiff,
        with_placeholder=True,
        lossless_prints=options.lossless_prints,
        crop_faces=env.settings.face_index != "off",
    )
    stored = {}
    for rendition in result.renditions:
        ext = _EXTENSIONS.get(rendition.content_type, "bin")
        key = rendition_key(
            env.settings.rendition_prefix, event["album"], event["photoId"], rendition.name, ext
        )
        env.store.put_object(
            event["bucket"], key, rendition.data, content_type=rendition.content_type
        )
        stored[rendition.name] = {
            "key": key,
            "width": rendition.width,
            "height": rendition.height,
            "size": len(rendition.data),
            "contentType": rendition.content_type,
        }
        if rendition.name in result.crop_boxes:
            stored[rendition.name].update(_print_facts(result, rendition.name))
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
    if result.faces is not None and env.settings.face_index != "off":
        output["faceCrops"] = _store_face_crops(env, event, result.face_crops)
    return output


def _print_facts(result: PhotoResult, name: str) -> dict[str, Any]:
    facts: dict[str, Any] = {"cropBox": list(result.crop_boxes[name])}
    reason = result.reencoded.get(name)
    facts["lossless"] = reason is None
    if reason is not None:
        facts["reencodedBecause"] = reason
    return facts


def _store_face_crops(
    env: Adapters, event: dict[str, Any], crops: list[tuple[FaceBox, bytes | None]]
) -> list[dict[str, Any]]:
    """Write each face cut beside the renditions (IndexFaces reads them; a photo's delete and
    MarkFailed remove everything under its rendition prefix); a face too small to match has none."""
    stored = []
    for number, (box, jpeg) in enumerate(crops):
        key = None
        if jpeg is not None:
            key = rendition_key(
                env.settings.rendition_prefix,
                event["album"],
                event["photoId"],
                f"face-{number}",
                "jpg",
            )
            env.store.put_object(event["bucket"], key, jpeg, content_type="image/jpeg")
        stored.append({"box": [round(v, 1) for v in box], "key": key})
    return stored
