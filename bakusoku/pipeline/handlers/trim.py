"""Trim: the print renditions, oriented and trimmed at full resolution around detected faces."""

from __future__ import annotations

from typing import Any

from bakusoku.pipeline.adapters import adapters
from bakusoku.pipeline.handlers.imaging_settings import imaging_options
from bakusoku.pipeline.handlers.renditions import make_renditions


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Input: StorePhoto's output. Output: the stored print renditions, crop box and faces.

    The main print is 89:127 (L size); ``extra_prints`` adds other aspects from the same decode.
    With the ``faces`` extra installed, the trim keeps every detected face in frame; without it
    (or with ``face_detection`` off) the trim is centred.
    """
    options = imaging_options(adapters().settings)
    return make_renditions(event, options.print_specs, detector=options.face_detector())
