"""A runner's finisher certificate: its status and short-lived signed links to its files.

Staff (a key of the race's album) ask ``/v1/races/{album}/runners/{bib}/certificate``; a runner
asks ``/v1/runner/runners/{bib}/certificate`` with their session (``X-Runner-Session``), for the
session's own bib only. Both answer the newest certificate (highest result revision): ``making``,
``ready`` with links to the L and 2L JPEGs and the PDF, or ``failed`` with the code and a reason;
``waiting`` while the finish result or a confident photo of the bib is still missing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Header

from bakusoku.api.access import Caller
from bakusoku.api.errors import ApiError, error_responses
from bakusoku.api.routes.races import existing_race, race_ref
from bakusoku.api.routes.runners import SESSION_HEADER
from bakusoku.api.routes.shared import rendition_signer
from bakusoku.api.services import ApiServices
from bakusoku.api.strict_requests import StrictRoute
from bakusoku.api.transforms.signing import ensure_signing_key
from bakusoku.races import links
from bakusoku.races.certificate_records import READY, Certificates
from bakusoku.races.records import BIB
from bakusoku.races.repository import RaceRef, RaceRepository

# A runner session token is a few hundred characters; anything longer is refused unread.
SESSION_MAX_LENGTH = 1024


def certificates_router(services: ApiServices) -> APIRouter:
    router = APIRouter(route_class=StrictRoute)
    races = RaceRepository(services.db)
    records = Certificates(services.db)
    sign_get = rendition_signer(services)
    bucket = services.settings.bucket

    def view(race: RaceRef, bib: str) -> dict[str, Any]:
        return certificate_view(records.latest(race, bib), bib, lambda key: sign_get(bucket, key))

    @router.get("/v1/races/{album}/runners/{bib}/certificate", responses=error_responses(403, 404))
    def staff_certificate(album: str, bib: str, principal: Caller) -> dict[str, Any]:
        """The bib's certificate: status, and signed links to its files once ready."""
        race = race_ref(principal, album)
        existing_race(races, race)
        _check_bib(bib)
        return view(race, bib)

    @router.get("/v1/runner/runners/{bib}/certificate", responses=error_responses(401, 403))
    def runner_certificate(
        bib: str,
        session: str | None = Header(None, alias=SESSION_HEADER, max_length=SESSION_MAX_LENGTH),
    ) -> dict[str, Any]:
        """The runner's own certificate (the session in ``X-Runner-Session``)."""
        key = links.runner_key(ensure_signing_key(services.settings))
        grant = links.check(key, session or "", purpose="session")
        if grant is None:
            raise ApiError(
                401,
                "runner.session_required",
                "this runner session is missing or has expired: open your link again, or give"
                " your bib and surname",
            )
        if grant.bib != bib:
            raise ApiError(
                403, "runner.other_bib", "a runner session shows its own bib's certificate only"
            )
        return view(grant.race, bib)

    return router


def certificate_view(
    row: dict[str, Any] | None, bib: str, sign: Callable[[str], str]
) -> dict[str, Any]:
    """What both routes answer for the bib's newest certificate row (or none yet)."""
    if row is None:
        return {"bib": bib, "status": "waiting", "files": None}
    files = None
    if row["status"] == READY:
        files = {
            "L": sign(row["jpeg_l_key"]),
            "2L": sign(row["jpeg_2l_key"]),
            "pdf": sign(row["pdf_key"]),
        }
    return {
        "bib": bib,
        "status": row["status"],
        "revision": row["revision"],
        "photo_id": row["photo_id"],
        "design": row["design"],
        "code": row["code"],
        "reason": row["reason"],
        "updated_at": row["updated_at"],
        "files": files,
    }


def _check_bib(bib: str) -> None:
    if not BIB.match(bib):
        raise ApiError(
            404, "race.runner_not_found", f"no runner has the bib {bib!r} in this race", "bib"
        )
