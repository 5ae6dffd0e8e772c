"""MarkReady: record every rendition on the photo and move it to ``ready``."""

from __future__ import annotations

from typing import Any

from bakusoku.pipeline.adapters import adapters


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Input: ``{"photo": StorePhoto's output, "renditions": [Trim's output, Thumbnails' output]}``."""
    photo = event["photo"]
    renditions: dict[str, Any] = {}
    fields: dict[str, Any] = {}
    for branch in event["renditions"]:
        renditions.update(branch["renditions"])
        if branch.get("cropBox"):
            fields["crop_box"] = branch["cropBox"]
        fields.update(width=branch["width"], height=branch["height"], taken_at=branch["takenAt"])
    fields["renditions"] = renditions
    moved = adapters().photos.mark_ready(photo["photoId"], fields)
    return {"photoId": photo["photoId"], "status": "ready", "changed": moved}
