"""Races: a race's facts, its entry list and its timing results (CSV or JSON), standings by bib.

An organiser's key (admin) sets the race; an uploader key scoped to the race's album is what a
timing system holds to post results. Posting the same rows again changes nothing; rows are taken
one by one, so a bad row is reported with its number and never holds up the others.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from starlette.concurrency import run_in_threadpool

from bakusoku.api import strict_requests
from bakusoku.api.access import Caller, album_not_found, check_album, require_role
from bakusoku.api.errors import ApiError, error_responses
from bakusoku.api.quoting import repeatable
from bakusoku.api.services import ApiServices
from bakusoku.api.strict_requests import StrictRoute
from bakusoku.auth.principal import Principal
from bakusoku.domain.keys import ALBUM_PATTERN
from bakusoku.races.certificate_making import DEFAULT_DESIGN
from bakusoku.races.certificates import design_names
from bakusoku.races.records import (
    BIB,
    CHECKPOINT,
    FINISH,
    RecordsError,
    RowError,
    entries_from,
    format_ms,
    read_csv,
    results_from,
)
from bakusoku.races.repository import RaceRef, RaceRepository, Saved, Standing

# Where entry lists and results are posted: bodies up to race_rows_max_bytes (not the API's cap).
ROWS_PATH = re.compile(r"/v1/races/[^/]+/(?:entries|results)")
_CSV_TYPES = ("text/csv", "application/csv", "text/plain")


class RaceRequest(BaseModel):
    """What an organiser says of a race. Strict: only these fields, each a string."""

    model_config = ConfigDict(extra="forbid", strict=True)

    name: str = Field(min_length=1, max_length=200, description="e.g. 第10回 湘南マラソン")
    date: str = Field(description="ISO date of the race, e.g. 2026-12-06")
    course: str | None = Field(None, max_length=200)
    timezone: str = Field("Asia/Tokyo", max_length=64, description="IANA time zone of the course")
    certificate_design: str | None = Field(
        None,
        max_length=64,
        description="a shipped certificate design (classic, finish-line); default classic",
    )

    @field_validator("name", "course")
    @classmethod
    def _printable(cls, value: str | None, info: ValidationInfo) -> str | None:
        """Shown on runners' pages and certificates: words, not control characters; a race
        needs a name, a blank course is none."""
        if value is None:
            return None
        if any(unicodedata.category(c) in ("Cc", "Cf", "Cs", "Zl", "Zp") for c in value):
            raise ValueError("must not contain control or invisible formatting characters")
        if not value.strip() and info.field_name == "name":
            raise ValueError("must not be blank")
        return value.strip() or None


def races_router(services: ApiServices) -> APIRouter:
    router = APIRouter(route_class=StrictRoute)
    repository = RaceRepository(services.db)

    @router.put("/v1/races/{album}", responses=error_responses(400, 403, 404))
    def put_race(album: str, body: RaceRequest, principal: Caller) -> dict[str, Any]:
        """Create or update the race of an album (an admin key of its service)."""
        race = race_ref(principal, album)
        require_role(principal, "admin")
        _check_timezone(body.timezone)
        _check_design(body.certificate_design)
        saved = repository.save_race(
            race,
            name=body.name,
            race_date=_iso_date(body.date),
            course=body.course,
            timezone=body.timezone,
            certificate_design=body.certificate_design,
        )
        return _race_view(saved)

    @router.get("/v1/races/{album}", responses=error_responses(403, 404))
    def get_race(album: str, principal: Caller) -> dict[str, Any]:
        race = race_ref(principal, album)
        return _race_view(existing_race(repository, race))

    @router.post(
        "/v1/races/{album}/entries",
        responses=error_responses(400, 403, 404, 413, 415),
        openapi_extra=_rows_body("entries", "bib,name,surname,category"),
    )
    async def post_entries(album: str, request: Request, principal: Caller) -> dict[str, Any]:
        """The entry list, as CSV (bib,name,surname,category) or ``{"entries": [...]}``."""
        race = race_ref(principal, album)
        require_role(principal, "uploader")
        # The database's work runs off the event loop: a slow or hung database, or thousands of
        # rows, must not hold every other request of the API.
        await run_in_threadpool(existing_race, repository, race)
        rows = await _rows(request, "entries")
        return await run_in_threadpool(save_entries, race, rows)

    def save_entries(race: RaceRef, rows: list[dict[str, Any]]) -> dict[str, Any]:
        entries, errors = entries_from(rows)
        return _outcome(repository.save_entries(race, entries), errors)

    @router.post(
        "/v1/races/{album}/results",
        responses=error_responses(400, 403, 404, 413, 415),
        openapi_extra=_rows_body("results", "bib,checkpoint,net_time,gun_time,finish_at"),
    )
    async def post_results(album: str, request: Request, principal: Caller) -> dict[str, Any]:
        """Timing results, as CSV or ``{"results": [...]}`` or one result object; idempotent on
        bib and checkpoint (``finish`` unless given); a changed time is a correction."""
        race = race_ref(principal, album)
        require_role(principal, "uploader")
        await run_in_threadpool(existing_race, repository, race)
        rows = await _rows(request, "results")
        return await run_in_threadpool(save_results, race, rows)

    def save_results(race: RaceRef, rows: list[dict[str, Any]]) -> dict[str, Any]:
        results, errors = results_from(rows)
        saved = repository.save_results(race, results)
        # A new or corrected finish time: the bib's certificate, if its photo is in.
        changed = saved.created + saved.updated
        services.certificates.after_results(
            race, {label.split("/")[0] for label in changed if label.endswith(f"/{FINISH}")}
        )
        outcome = _outcome(saved, errors)
        known = repository.known_bibs(race, (r.bib for r in results))
        outcome["unknown_bibs"] = sorted({r.bib for r in results} - known)
        return outcome

    @router.get("/v1/races/{album}/results", responses=error_responses(400, 403, 404))
    def get_results(
        album: str,
        principal: Caller,
        checkpoint: str = FINISH,
        category: str | None = None,
    ) -> dict[str, Any]:
        """Standings at a checkpoint by net time, overall and per category."""
        race = race_ref(principal, album)
        existing_race(repository, race)
        if not CHECKPOINT.match(checkpoint):
            raise ApiError(400, "request.invalid", "checkpoint: e.g. finish or 10k", "checkpoint")
        standings = repository.standings(race, checkpoint=checkpoint, category=category)
        return {"checkpoint": checkpoint, "items": [_standing_view(s) for s in standings]}

    @router.get("/v1/races/{album}/runners/{bib}", responses=error_responses(403, 404))
    def get_runner(album: str, bib: str, principal: Caller) -> dict[str, Any]:
        """One runner: the entry, every checkpoint's time and the finish placing."""
        race = race_ref(principal, album)
        existing_race(repository, race)
        entry = repository.entry(race, bib) if BIB.match(bib) else None
        results = repository.results_of(race, bib) if BIB.match(bib) else []
        if entry is None and not results:
            raise ApiError(404, "race.runner_not_found", _runner_missing(bib), "bib")
        standing = repository.standing(race, bib)
        return {
            "bib": bib,
            "name": (entry or {}).get("name") or next((r["name"] for r in results), None),
            "category": (entry or {}).get("category"),
            "on_entry_list": entry is not None,
            "results": [_result_view(r) for r in results],
            "finish": None if standing is None else _standing_view(standing),
        }

    return router


def _rows_body(field: str, columns: str) -> dict[str, Any]:
    """The OpenAPI request body of a rows route: CSV with a header line, or JSON rows."""
    row = {"type": "object", "properties": {"bib": {"type": "string"}}, "required": ["bib"]}
    return {
        "requestBody": {
            "required": True,
            "content": {
                "text/csv": {"schema": {"type": "string", "example": f"{columns}\n"}},
                "application/json": {
                    "schema": {
                        "type": "object",
                        "properties": {field: {"type": "array", "items": row}},
                        "required": [field],
                    }
                },
            },
        }
    }


def race_ref(principal: Principal, album: str) -> RaceRef:
    if not repeatable(album, ALBUM_PATTERN):  # never a race named after a key pasted in its place
        raise album_not_found(album)
    check_album(principal, album)
    if principal.service is None:
        raise ApiError(
            403,
            "auth.forbidden",
            "races belong to a service: use a key of that service, not the admin token",
        )
    return RaceRef(principal.service, album)


def existing_race(repository: RaceRepository, race: RaceRef) -> dict[str, Any]:
    found = repository.race(race)
    if found is None:
        raise ApiError(
            404,
            "race.not_found",
            f"album {race.album!r} is not a race yet: PUT /v1/races/{race.album} with its name"
            " and date first",
            "album",
        )
    return found


async def _rows(request: Request, field: str) -> list[dict[str, Any]]:
    """The rows of a CSV body, or of a JSON body's ``field`` list (or one JSON object)."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    body = await request.body()
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError(
            400, "request.invalid", "the body is not UTF-8 text: save the CSV as CSV UTF-8"
        ) from None
    if media in _CSV_TYPES:
        try:
            return read_csv(text)
        except RecordsError as exc:
            raise ApiError(400, exc.code, str(exc)) from None
    if media != "application/json":
        raise ApiError(
            415,
            "request.unsupported_media_type",
            "send text/csv or application/json",
        )
    return _json_rows(text, field)


def _json_rows(text: str, field: str) -> list[dict[str, Any]]:
    try:
        document = strict_requests.loads(text)  # rows are read as the API reads every JSON body
    except json.JSONDecodeError as exc:
        raise ApiError(400, "request.invalid", f"the body is not JSON: {exc.msg}") from None
    except RecursionError:  # [[[[...]]]]: no rows are that deep
        raise ApiError(400, "request.invalid", "the body is JSON nested too deeply") from None
    rows = document.get(field) if isinstance(document, dict) and field in document else document
    if isinstance(rows, dict):
        rows = [rows]
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise ApiError(
            400,
            "request.invalid",
            f'{field}: send {{"{field}": [{{"bib": "1234", ...}}, ...]}}',
            field,
        )
    return rows


def _outcome(saved: Saved, errors: list[RowError]) -> dict[str, Any]:
    return {
        **saved.counts(),
        "changed": saved.created + saved.updated,
        "rejected": [
            {"row": e.row, "column": e.column, "code": "race.invalid_row", "message": e.message}
            for e in errors
        ],
    }


def _iso_date(value: str) -> str:
    """The race's date as YYYY-MM-DD, however ISO 8601 wrote it (20261206, 2026-W49-7)."""
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        raise ApiError(
            400, "request.invalid", "date: give an ISO date, e.g. 2026-12-06", "date"
        ) from None


def _check_timezone(value: str) -> None:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ApiError(
            400, "request.invalid", "timezone: give an IANA name, e.g. Asia/Tokyo", "timezone"
        ) from None


def _runner_missing(bib: str) -> str:
    if BIB.match(bib):
        return f"no runner with bib {bib!r} in this race"
    return "no runner with the bib given: bibs are 1-16 letters, digits or '-'"


def _check_design(name: str | None) -> None:
    # Only the shipped designs by name: a path from a request would read the server's files.
    if name is not None and name not in design_names():
        raise ApiError(
            400,
            "request.invalid",
            f"certificate_design: {name!r} is not a shipped design; use one of {design_names()}",
            "certificate_design",
        )


def _race_view(race: dict[str, Any]) -> dict[str, Any]:
    return {
        "album": race["album"],
        "name": race["name"],
        "date": race["race_date"],
        "course": race["course"],
        "timezone": race["timezone"],
        "certificate_design": race.get("certificate_design") or DEFAULT_DESIGN,
    }


def _result_view(result: dict[str, Any]) -> dict[str, Any]:
    return {
        "checkpoint": result["checkpoint"],
        "net_time": format_ms(result["net_ms"]),
        "gun_time": format_ms(result["gun_ms"]),
        "finish_at": result["finish_at"],
        "revision": result["revision"],
    }


def _standing_view(standing: Standing) -> dict[str, Any]:
    view: Callable[[int | None], str | None] = format_ms
    return {
        "bib": standing.bib,
        "name": standing.name,
        "category": standing.category,
        "net_time": view(standing.net_ms),
        "gun_time": view(standing.gun_ms),
        "place": standing.place,
        "category_place": standing.category_place,
    }
