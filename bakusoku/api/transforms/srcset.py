"""The transform URLs a page chooses from (``srcset``): the gallery's square cells and the photo
page's frame, each at several widths so that the browser picks the one its layout and device pixel
ratio need. They replace fixed thumbnails: a 170 px cell on a phone at DPR 3 and on a desktop at
DPR 1 each get the pixels they show, no more.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# Widths in pixels, on the options' 20 px grid. A grid cell is 170-340 CSS px wide (app.css), so
# these cover DPR 1 to 2 (and 3 for the smaller cells); the frame is up to ~1300 CSS px wide.
GRID_WIDTHS = (160, 240, 320, 480, 640)
FRAME_WIDTHS = (640, 960, 1280, 1600, 1920, 2560)
GRID_OPTIONS = "w={w},h={w},fit=cover,g=face,f=auto"
FRAME_OPTIONS = "w={w},f=auto"

Sign = Callable[[str, str], str]  # (options, photo_id) -> URL


def image_sets(photo: dict[str, Any], sign: Sign) -> dict[str, list[dict[str, Any]]] | None:
    """``{"grid": [...], "frame": [...]}``, each ``{"width", "url"}``; None while not ready.

    Widths past what the photo has are left out (a transform never upscales, so they would only
    repeat the largest), keeping at least the smallest.
    """
    width, height = photo.get("width"), photo.get("height")
    if photo.get("status") != "ready" or not width or not height:
        return None
    photo_id = photo["photo_id"]

    def candidates(widths: tuple[int, ...], options: str, limit: int) -> list[dict[str, Any]]:
        fitting = [w for w in widths if w <= limit] or [widths[0]]
        return [{"width": w, "url": sign(options.format(w=w), photo_id)} for w in fitting]

    return {
        "grid": candidates(GRID_WIDTHS, GRID_OPTIONS, min(width, height)),
        "frame": candidates(FRAME_WIDTHS, FRAME_OPTIONS, width),
    }
