"""MarkReady: record every rendition on the photo and move it to ``ready``."""

from __future__ import annotations

from typing import Any

from bakusoku.pipeline.adapters import adapters

# Rendition output key → photo column, for what the rendition step found.
_RESULT_FIELDS = {"cropBox": "crop_box", "faces": "faces", "placeholder": "placeholder"}


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Input: ``{"photo": StorePhoto's output, "renditions": MakeRenditions' output}``.

    ``renditions`` may also be a list of such outputs: executions started before the renditions
    became one task still arrive with the two branch outputs of their Parallel state.
    """
    photo = event["photo"]
    results = event["renditions"]
    renditions: dict[str, Any] = {}
    fields: dict[str, Any] = {}
    for result in results if isinstance(results, list) else [results]:
        renditions.update(result["renditions"])
        for key, column in _RESULT_FIELDS.items():
            if result.get(key) is not None:
                fields[column] = result[key]
        fields.update(width=result["width"], height=result["height"])
        if result.get("takenAt"):
            fields["taken_at"] = result["takenAt"]
    fields["renditions"] = renditions
    moved = adapters().photos.mark_ready(photo["photoId"], fields)
    return {"photoId": photo["photoId"], "status": "ready", "changed": moved}
