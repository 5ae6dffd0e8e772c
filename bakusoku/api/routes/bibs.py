"""Bib review: a race's "bib unknown" photos, and staff tagging them (or "no bib visible").

Staff hold an uploader key of the race's album (as for entry lists). A photo of another album or
service answers 404 like a missing one. Tags are validated against the entry list: a bib not on
it answers ``400 race.unknown_bib`` naming it, and nothing is written. The runners subscribed to
a tagged bib are told, as when the reader finds it (``races.notifications.announce_photos``).
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from bakusoku.api.access import Caller, require_role
from bakusoku.api.errors import ApiError, error_responses
from bakusoku.api.quoting import PHOTO_ID, repeatable
from bakusoku.api.routes.races import existing_race, race_ref
from bakusoku.api.routes.shared import rendition_signer
from bakusoku.api.services import ApiServices
from bakusoku.api.strict_requests import StrictRoute
from bakusoku.db.photos import InvalidCursorError
from bakusoku.races.bibs import confident
from bakusoku.races.notifications import announce_photos
from bakusoku.races.records import BIB
from bakusoku.races.repository import BibSighting, RaceRef, RaceRepository
from bakusoku.races.review import BibReview, Reviewed, UnknownBibError

# The renditions a reviewer sees, largest first: the preview when the deployment makes one.
_SHOWN = ("preview", "preview-webp", "thumb", "thumb-webp")
# A bad bib is repeated in its error only when it is short, printable text (not a pasted secret).
_SHOWN_BIB = re.compile(r"[\w -]{1,32}")


class BibTags(BaseModel):
    """What staff say a photo shows: its bibs, or that no bib can be seen. Strict: "yes" or 1 is
    not true, 1234 is not a bib."""

    model_config = ConfigDict(extra="forbid", strict=True)

    bibs: list[str] = Field(default_factory=list, max_length=20, description="e.g. ['1234']")
    no_bib: bool = Field(False, description="no bib can be seen in the photo")


def bibs_router(services: ApiServices) -> APIRouter:
    router = APIRouter(route_class=StrictRoute)
    races = RaceRepository(services.db)
    review = BibReview(services.db, services.settings.upload_prefix)
    sign_get = rendition_signer(services)
    threshold = services.settings.bib_min_confidence

    @router.get("/v1/races/{album}/bibs/unknown", responses=error_responses(400, 403, 404))
    def list_unknown(
        album: str,
        principal: Caller,
        cursor: str | None = None,
        limit: int = Query(20, ge=1, le=200),
    ) -> dict[str, Any]:
        """Ready photos of the race with no bib read at the race's confidence and no staff
        decision, oldest first, with a signed preview link and any doubtful readings as hints."""
        race = race_ref(principal, album)
        existing_race(races, race)
        try:
            page = review.unknown(race, threshold, cursor=cursor, limit=limit)
        except InvalidCursorError as exc:
            raise ApiError(400, exc.code, str(exc), "cursor") from None
        return {
            "min_confidence": threshold,
            "items": [_unknown_view(review, race, p, sign_get) for p in page.items],
            "next_cursor": page.next_cursor,
        }

    @router.get("/v1/races/{album}/photos/{photo_id}/bibs", responses=error_responses(403, 404))
    def get_bibs(album: str, photo_id: str, principal: Caller) -> dict[str, Any]:
        """The bibs a race photo shows: read (with their confidence) and tagged by staff."""
        race = race_ref(principal, album)
        existing_race(races, race)
        _race_photo(review, race, photo_id)
        return _reviewed_view(review.reviewed(race, photo_id), threshold)

    @router.put(
        "/v1/races/{album}/photos/{photo_id}/bibs", responses=error_responses(400, 403, 404)
    )
    def put_bibs(album: str, photo_id: str, body: BibTags, principal: Caller) -> dict[str, Any]:
        """Tag the photo with bibs (staff tags: confidence 1), or mark it "no bib visible"."""
        race = race_ref(principal, album)
        require_role(principal, "uploader")
        existing_race(races, race)
        _race_photo(review, race, photo_id)
        if body.no_bib == bool(body.bibs):
            raise ApiError(
                400,
                "request.invalid",
                'send {"bibs": ["1234", ...]} or {"no_bib": true}, one of the two',
                "bibs",
            )
        bad = [b for b in body.bibs if not BIB.match(b.strip())]
        if bad:
            shown = repr(bad[0]) if repeatable(bad[0], _SHOWN_BIB) else "one of them"
            raise ApiError(
                400,
                "request.invalid",
                f"bibs: {shown} is not a bib (1-16 letters, digits or '-')",
                "bibs",
            )
        try:
            if body.no_bib:
                done = review.mark_no_bib(race, photo_id, principal.actor)
            else:
                done = review.tag(race, photo_id, body.bibs, principal.actor)
        except UnknownBibError as exc:
            raise ApiError(400, exc.code, str(exc), "bibs") from None
        announce_photos(services.db, race, confident(done.bibs, threshold), services.settings)
        # A tagged runner's certificate, if the finish result is in.
        services.certificates.after_bibs(race, confident(done.bibs, threshold))
        return _reviewed_view(done, threshold)

    return router


def _race_photo(review: BibReview, race: RaceRef, photo_id: str) -> dict[str, Any]:
    photo = review.photo(race, photo_id)
    if photo is None:
        shown = repr(photo_id) if repeatable(photo_id, PHOTO_ID) else "given"
        raise ApiError(
            404,
            "photo.not_found",
            f"no ready photo has the id {shown} in race {race.album!r}: photo ids are UUIDs",
            "photo_id",
        )
    return photo


def _unknown_view(
    review: BibReview, race: RaceRef, photo: dict[str, Any], sign_get: Any
) -> dict[str, Any]:
    renditions = photo.get("renditions") or {}
    shown = next((name for name in _SHOWN if name in renditions), None)
    preview = None
    if shown is not None:
        item = renditions[shown]
        preview = {
            "name": shown,
            "url": sign_get(photo["bucket"], item["key"]),
            "width": item["width"],
            "height": item["height"],
        }
    return {
        "photo_id": photo["photo_id"],
        "filename": photo["filename"],
        "taken_at": photo["taken_at"],
        "preview": preview,
        "readings": [_sighting_view(s) for s in review.reviewed(race, photo["photo_id"]).bibs],
    }


def _reviewed_view(done: Reviewed, threshold: float) -> dict[str, Any]:
    sure = confident(done.bibs, threshold)
    return {
        "photo_id": done.photo_id,
        "no_bib": done.no_bib,
        "bib_unknown": not sure and not done.no_bib,
        "bibs": [_sighting_view(s) for s in done.bibs],
    }


def _sighting_view(sighting: BibSighting) -> dict[str, Any]:
    return {
        "bib": sighting.bib,
        "confidence": sighting.confidence,
        "source": sighting.source,
        "box": list(sighting.box) if sighting.box else None,
    }
