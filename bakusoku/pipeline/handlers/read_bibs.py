"""ReadBibs: the bib numbers a race photo shows, read from the preview MakeRenditions made.

It runs beside MarkReady (the pipeline's Parallel state) and reads only the preview rendition
(1600 px, already made from the one decode), never the original. Only albums that are races are
read: any other album costs one indexed lookup and no pixels. The readings on the race's entry
list are recorded with their confidence (``races.PhotoBibs``); a photo with none at the race's
threshold is in the "bib unknown" set for staff (``races.review``). Runners subscribed to a bib
read at that threshold are told, batched (``races.notifications.announce_photos``).

A failure never fails the photo: the branch's Catch ends it with the code ``bibs.unread`` and the
photo, ready all the same, has no bib read, so it is in the bib-unknown set.
"""

from __future__ import annotations

import functools
from typing import Any

from bakusoku.domain.keys import owner_of
from bakusoku.pipeline.adapters import adapters
from bakusoku.pipeline.certificate_workflow import handler_door
from bakusoku.races.bibs import RaceEntries, confident, sightings
from bakusoku.races.errors import BibReadError
from bakusoku.races.notifications import announce_photos
from bakusoku.races.readers import BibReader, bib_reader
from bakusoku.races.repository import RaceRef

# The renditions read, in order of preference: full frame, large enough for a bib 5 % of the
# photo's width, already encoded by MakeRenditions. Without them, the smallest JPEG there is.
_READ_FROM = ("preview",)


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
    reader = _reader()
    if reader is None:  # bib_reader: off
        return {"photoId": photo_id, "race": True, "read": False, "bibUnknown": True}
    made = event["renditions"]
    jpeg = env.store.get_object(photo["bucket"], _rendition(made["renditions"])["key"])
    lines, (width, _) = reader.read(jpeg)
    found = sightings(lines, RaceEntries(env.races, race), scale=made["width"] / width)
    env.bibs.record(race, photo_id, found)
    sure = confident(found, env.settings.bib_min_confidence)
    announce_photos(env.db, race, sure, env.settings)  # never fails the photo
    handler_door().after_bibs(race, sure)  # a certificate, if the result is in
    return {
        "photoId": photo_id,
        "race": True,
        "read": True,
        "bibs": [{"bib": s.bib, "confidence": s.confidence} for s in found],
        "bibUnknown": not sure,
    }


@functools.cache
def _reader() -> BibReader | None:
    """The configured reader, made once per execution environment (models, clients)."""
    return bib_reader(adapters().settings)


def _rendition(renditions: dict[str, Any]) -> dict[str, Any]:
    for name in _READ_FROM:
        if name in renditions:
            return dict(renditions[name])
    jpegs = [r for r in renditions.values() if r.get("contentType") == "image/jpeg"]
    if not jpegs:
        raise BibReadError("the photo has no JPEG rendition to read bibs from")
    return dict(min(jpegs, key=lambda r: abs(max(r["width"], r["height"]) - 1600)))
