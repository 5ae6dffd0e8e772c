"""MarkReady: record every rendition on the photo and move it to ``ready``."""

from __future__ import annotations

from typing import Any

from bakusoku.pipeline.adapters import adapters

# Branch output key → photo column, for what only one branch knows.
_BRANCH_FIELDS = {"cropBox": "crop_box", "faces": "faces", "placeholder": "placeholder"}


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Input: ``{"photo": StorePhoto's output, "renditions": [Trim's output, Thumbnails' output]}``."""
    photo = event["photo"]
    renditions: dict[str, Any] = {}
    fields: dict[str, Any] = {}
    for branch in event["renditions"]:
        renditions.update(branch["renditions"])
        for key, column in _BRANCH_FIELDS.items():
            if branch.get(key) is not None:
                fields[column] = branch[key]
        fields.update(width=branch["width"], height=branch["height"])
        if branch.get("takenAt"):
            fields["taken_at"] = branch["takenAt"]
    fields["renditions"] = renditions
    moved = adapters().photos.mark_ready(photo["photoId"], fields)
    return {"photoId": photo["photoId"], "status": "ready", "changed": moved}
