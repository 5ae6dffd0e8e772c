"""Thumbnails: the light renditions for browsing (preview and thumb)."""

from __future__ import annotations

from typing import Any

from bakusoku.imaging import DEFAULT_SPECS
from bakusoku.pipeline.handlers.renditions import make_renditions

BROWSING_SPECS = [spec for spec in DEFAULT_SPECS if not spec.crop_to_print]


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Input: StorePhoto's output. Output: the stored browsing renditions."""
    return make_renditions(event, BROWSING_SPECS)
