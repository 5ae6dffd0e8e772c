"""Turning database rows and execution records into the API's JSON shapes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bakusoku.api.transforms.srcset import image_sets
from bakusoku.utc import iso_millis


def iso(timestamp: float | None) -> str | None:
    if timestamp is None:
        return None
    return iso_millis(timestamp)


def _print_facts(item: dict[str, Any]) -> dict[str, Any]:
    """A print rendition's trim and whether it was cut without re-encoding."""
    if not item.get("cropBox"):
        return {}
    facts: dict[str, Any] = {"crop_box": item["cropBox"]}
    if "lossless" in item:  # photos made before lossless cuts existed do not say
        facts["lossless"] = item["lossless"]
    if item.get("reencodedBecause"):
        facts["reencoded_because"] = item["reencodedBecause"]
    return facts


def photo_view(
    photo: dict[str, Any],
    sign_get: Callable[[str, str], str],
    sign_transform: Callable[[str, str], str] | None = None,
) -> dict[str, Any]:
    """The public JSON of a photo; rendition URLs are short-lived signed GETs, ``images`` the
    signed transform URLs pages pick their sizes from (``srcset``)."""
    renditions = {
        name: {
            "url": sign_get(photo["bucket"], item["key"]),
            "width": item["width"],
            "height": item["height"],
            "size": item["size"],
            "content_type": item["contentType"],
            **_print_facts(item),
        }
        for name, item in (photo.get("renditions") or {}).items()
    }
    error = None
    if photo["status"] == "failed":
        error = {"code": photo["error_code"], "message": photo["error_message"]}
    return {
        "photo_id": photo["photo_id"],
        "album": photo["album"],
        "status": photo["status"],
        "filename": photo["filename"],
        "content_type": photo["content_type"],
        "size": photo["byte_size"] if photo["byte_size"] is not None else photo["declared_size"],
        "width": photo["width"],
        "height": photo["height"],
        "taken_at": photo["taken_at"],
        "sha256": photo["sha256"] or None,
        "key": photo["object_key"],
        "crop_box": photo["crop_box"],
        "faces": photo.get("faces"),
        "face_index": photo.get("face_index"),
        "face_index_error": photo.get("face_index_error"),
        "placeholder": photo.get("placeholder"),
        "duplicate_of": photo.get("duplicate_of"),
        "metadata": _metadata(photo),
        "renditions": renditions,
        "images": image_sets(photo, sign_transform) if sign_transform else None,
        "error": error,
        "execution_name": photo["execution_name"],
        "created_at": iso(photo["created_at"]),
        "updated_at": iso(photo["updated_at"]),
    }


def _metadata(photo: dict[str, Any]) -> dict[str, Any]:
    """What the photo's own bytes said; ``gps`` is stored only where configuration allows it."""
    return {
        "format": photo.get("image_format"),
        "orientation": photo.get("orientation"),
        "camera_make": photo.get("camera_make"),
        "camera_model": photo.get("camera_model"),
        "lens": photo.get("lens"),
        "exposure": photo.get("exposure"),
        "gps": photo.get("gps"),
    }
