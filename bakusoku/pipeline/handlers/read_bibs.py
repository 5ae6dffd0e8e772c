"""ReadBibs: the bib numbers a race photo shows, read from the preview MakeRenditions made.

It runs beside MarkReady (the pipeline's Parallel state) and reads only the preview rendition
(1600 px, already made from the one decode), never the original. Only albums that are races are
read: any other album costs one indexed lookup and no pixels. The readings on the race's entry
list are recorded with their confidence (``races.PhotoBibs``); a photo with none at the race's
threshold is in the "bib unknown" set for staff (``races.review``).

A failure never fails the photo: the branch's Catch ends it with the code ``bibs.unread`` and the
photo, ready all the same, has no bib read, so it is in the bib-unknown set.
"""

from __future__ import annotations

import io
from typing import Any

from PIL import Image

from bakusoku.domain.keys import owner_of
from bakusoku.imaging.text import load_text_reader
from bakusoku.pipeline.adapters import adapters
from bakusoku.races.bibs import MAX_ASPECT, RaceEntries, confident, sightings
from bakusoku.races.errors import BibReadError
from bakusoku.races.repository import RaceRef

# The renditions read, in order of preference: full frame, large enough for a bib 5 % of the
# photo's width, and already encoded by MakeRenditions.
_READ_FROM = ("preview", "preview-webp")
# A rendition longer than this is decoded at a DCT scale (a print, when no preview is made).
_MAX_EDGE = 2000


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Input: ``{"photo": StorePhoto's output, "renditions": MakeRenditions' output}``.
    Output: ``{"photoId", "race": false}`` for other albums, else the bibs recorded and whether
    the photo is in the bib-unknown set."""
    env = adapters()
    photo = event["photo"]
    photo_id = photo["photoId"]
    owner = owner_of(photo["key"], env.settings.upload_prefix)
    race = None if owner is None else RaceRef(*owner)
    if race is None or env.races.race(race) is None:
        return {"photoId": photo_id, "race": False}
    reader = load_text_reader()
    if reader is None:
        raise BibReadError(
            "bibs are not read here: the text engine is not installed (install the 'bibs' extra);"
            " the photo is in the race's bib-unknown set for staff"
        )
    made = event["renditions"]
    picture = _picture(env.store.get_object, photo["bucket"], made["renditions"])
    lines = reader.lines(picture, max_aspect=MAX_ASPECT)
    found = sightings(lines, RaceEntries(env.races, race), scale=made["width"] / picture.width)
    env.bibs.record(race, photo_id, found)
    sure = confident(found, env.settings.bib_min_confidence)
    return {
        "photoId": photo_id,
        "race": True,
        "bibs": [{"bib": s.bib, "confidence": s.confidence} for s in found],
        "bibUnknown": not sure,
    }


def _picture(get_object: Any, bucket: str, renditions: dict[str, Any]) -> Image.Image:
    """The preview, or failing that the largest rendition, decoded to at most ``_MAX_EDGE``."""
    name = next((n for n in _READ_FROM if n in renditions), None)
    if name is None:
        if not renditions:
            raise BibReadError("the photo has no rendition to read bibs from")
        name = max(renditions, key=lambda n: renditions[n]["width"] * renditions[n]["height"])
    data = get_object(bucket, renditions[name]["key"])
    with Image.open(io.BytesIO(data), formats=["JPEG", "WEBP"]) as image:
        image.draft("RGB", (_MAX_EDGE, _MAX_EDGE))
        picture = image.convert("RGB")
    if max(picture.size) > _MAX_EDGE:
        picture.thumbnail((_MAX_EDGE, _MAX_EDGE), Image.Resampling.BILINEAR)
    return picture
