"""Trim: the print rendition, oriented and trimmed to 89:127 at full resolution."""

from __future__ import annotations

from typing import Any

from bakusoku.imaging import DEFAULT_SPECS
from bakusoku.pipeline.handlers.renditions import make_renditions

PRINT_SPECS = [spec for spec in DEFAULT_SPECS if spec.crop_to_print]


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Input: StorePhoto's output. Output: the stored print rendition and the crop box used."""
    return make_renditions(event, PRINT_SPECS)
