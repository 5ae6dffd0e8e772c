"""Thumbnails: the light renditions for browsing (preview and thumb, JPEG and WebP)."""

from __future__ import annotations

from typing import Any

from bakusoku.pipeline.adapters import adapters
from bakusoku.pipeline.handlers.imaging_settings import imaging_options
from bakusoku.pipeline.handlers.renditions import make_renditions


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Input: StorePhoto's output. Output: the stored browsing renditions and the placeholder.

    Only small outputs are made here, so the JPEG is decoded at reduced scale in the DCT.
    """
    options = imaging_options(adapters().settings)
    return make_renditions(event, options.browsing_specs, with_placeholder=True)
