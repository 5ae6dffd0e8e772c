"""Runners' own pages and API: bib + surname (or a signed link) opens that runner's photos only.

No API key: a runner proves who they are with their bib and the surname on the entry list, or
with the signed link of a message, and gets a session token (``X-Runner-Session``) for that one
bib of that one race. A wrong bib, a wrong surname and an unknown race answer alike; tries are
rate-limited per client and per bib (failed tries count), and refusals are audited. What a session sees: the bib's
photos as watermarked previews (signed transform URLs, preset ``proof``), its results, its
subscriptions and privacy requests. It can subscribe by e-mail or Web Push, get a code to send
to the LINE account, ask for its face to be hidden and for its photos to be erased (audited).
The LINE webhook (``POST /line/webhook``) checks ``x-line-signature`` before reading anything.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Header, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from bakusoku.api.access import AccessControl
from bakusoku.api.errors import ApiError, error_responses
from bakusoku.api.routes.pages import page
from bakusoku.api.services import ApiServices
from bakusoku.api.strict_requests import StrictRoute
from bakusoku.api.transforms.signing import ensure_signing_key, signed_path
from bakusoku.auth.audit import (
    RUNNER_ERASE,
    RUNNER_FACE_REMOVAL,
    RUNNER_SIGN_IN_REFUSED,
    AuditLog,
)
from bakusoku.auth.principal import Principal
from bakusoku.auth.ratelimit import RateLimiter
from bakusoku.faces.errors import FaceIndexOffError
from bakusoku.faces.port import AlbumRef
from bakusoku.races import line, links
from bakusoku.races.errors import SubscriptionError, TooManySubscriptionsError
from bakusoku.races.notifications import GALLERY_MIN_CONFIDENCE
from bakusoku.races.privacy import ERASE, FACE, RunnerPrivacy
from bakusoku.races.records import BIB, format_ms
from bakusoku.races.repository import PhotoBibs, RaceRef, RaceRepository
from bakusoku.races.subscriptions import (
    EMAIL,
    LINE,
    WEBPUSH,
    Subscriptions,
    second_factor_ok,
)
from bakusoku.races.webpush import public_key_b64, vapid_key

log = logging.getLogger(__name__)

RUNNER_API = "/v1/runner/"
# The runner session's header: read from the request (not a declared parameter) as the API key's
# Authorization is.
SESSION_HEADER = "x-runner-session"
RUNNER_PAGE = "/runner"
LINE_WEBHOOK = "/line/webhook"
LINE_CODE_PREFIX = "bakusoku:"
_LINE_CODE_SECONDS = 3600
_PREVIEW = "p=proof"
_REFUSED = "no runner with that bib and surname in this race: check both as on the entry list"


class SignIn(BaseModel):
    """Bib + surname of one race, or the token of a message's link."""

    model_config = ConfigDict(extra="forbid", strict=True)

    service: str | None = Field(None, max_length=32)
    album: str | None = Field(None, max_length=128)
    bib: str | None = Field(None, max_length=16)
    surname: str | None = Field(None, max_length=120)
    link: str | None = Field(None, max_length=1024, description="the token after # in a link")


class SubscribeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    channel: str = Field(description="email or webpush (LINE: send the line_code to the account)")
    address: str = Field(max_length=4096, description="an e-mail address or PushSubscription JSON")


class PrivacyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    kind: str = Field(description="face (hide my face in others' photos) or erase (my photos)")


def runners_router(services: ApiServices, access: AccessControl) -> APIRouter:
    router = APIRouter(route_class=StrictRoute)
    settings = services.settings
    races = RaceRepository(services.db)
    bibs = PhotoBibs(services.db)
    subscriptions = Subscriptions(services.db)
    privacy = RunnerPrivacy(services.db)
    audit = AuditLog(services.db)
    key = _lazy(lambda: links.runner_key(ensure_signing_key(settings)))
    image_key = _lazy(lambda: ensure_signing_key(settings))
    push_key = _lazy(lambda: public_key_b64(vapid_key(settings)))
    per_hour = max(1, settings.runner_attempts_per_hour)
    by_client = RateLimiter(per_hour / 60.0, per_hour)
    by_bib = RateLimiter(per_hour / 60.0, per_hour)
    session_seconds = settings.runner_session_hours * 3600.0

    def grant_of(token: str | None) -> links.RunnerGrant:
        grant = links.check(key(), token or "", purpose="session")
        if grant is None:
            raise ApiError(
                401,
                "runner.session_required",
                "this runner session is missing or has expired: open your link again, or give"
                " your bib and surname",
            )
        return grant

    @router.get(RUNNER_PAGE, include_in_schema=False)
    def runner_page() -> HTMLResponse:
        return page("runner.html")

    @router.post(f"{RUNNER_API}sessions", responses=error_responses(400, 401, 429))
    def sign_in(body: SignIn, request: Request) -> dict[str, Any]:
        """A session for one bib: from bib + surname (rate-limited, refusals audited), or from
        the signed link of a message."""
        client = request.client.host if request.client else "unknown"
        if body.link:
            grant = links.check(key(), body.link, purpose="link")
            if grant is None:
                raise ApiError(
                    401,
                    "runner.link_expired",
                    "this link has expired or is not whole: sign in with your bib and surname",
                )
            race, bib = grant.race, grant.bib
        else:
            if not (body.service and body.album and body.bib and body.surname):
                raise ApiError(400, "request.invalid", "give service, album, bib and surname")
            race, bib = RaceRef(body.service, body.album), body.bib.strip()
            # Failed tries count (a runner reloading their page does not): per client, per bib.
            wait = by_client.waiting(client) or by_bib.waiting(f"{race}/{bib}")
            if wait is not None:
                _refused(audit, client, race, bib, "rate limited")
                raise ApiError(
                    429,
                    "runner.too_many_tries",
                    f"too many tries: wait {wait} seconds before trying again",
                    headers={"Retry-After": str(wait)},
                )
            if not (
                BIB.match(bib)
                and races.race(race) is not None
                and second_factor_ok(races, race, bib, body.surname)
            ):
                by_client.acquire(client)
                by_bib.acquire(f"{race}/{bib}")
                _refused(audit, client, race, bib, "bib and surname do not match")
                raise ApiError(401, "runner.not_found", _REFUSED)
        token = links.issue(key(), race, bib, purpose="session", seconds=session_seconds)
        return {"session": token, "service": race.service, "album": race.album, "bib": bib}

    @router.get(f"{RUNNER_API}me", responses=error_responses(401))
    def me(request: Request) -> dict[str, Any]:
        """The runner's race, result, photos (watermarked previews), subscriptions and requests
        (the session in ``X-Runner-Session``)."""
        grant = grant_of(request.headers.get(SESSION_HEADER))
        race, bib = grant.race, grant.bib
        stored = races.race(race) or {}
        entry = races.entry(race, bib) or {}
        standing = races.standing(race, bib)
        requests = privacy.requested(race, bib)
        photos = [] if ERASE in requests else _photos(services, access, bibs, race, bib, privacy)
        return {
            "race": {
                "album": race.album,
                "name": stored.get("name"),
                "date": stored.get("race_date"),
            },
            "bib": bib,
            "name": entry.get("name"),
            "finish": None
            if standing is None
            else {
                "net_time": format_ms(standing.net_ms),
                "place": standing.place,
                "category": standing.category,
                "category_place": standing.category_place,
            },
            "photos": [{"id": p, "preview": signed_path(image_key(), _PREVIEW, p)} for p in photos],
            "subscriptions": sorted({s.channel for s in subscriptions.active(race, bib)}),
            "requests": {kind: _request_view(r) for kind, r in requests.items()},
            "line_code": LINE_CODE_PREFIX
            + links.issue(key(), race, bib, purpose="line", seconds=_LINE_CODE_SECONDS)
            if settings.line_channel_secret
            else None,
            "push_key": push_key(),
        }

    @router.post(f"{RUNNER_API}subscriptions", responses=error_responses(400, 401))
    def subscribe(body: SubscribeRequest, request: Request) -> dict[str, Any]:
        """Be told by e-mail or Web Push when photos and the certificate are ready."""
        grant = grant_of(request.headers.get(SESSION_HEADER))
        if body.channel not in (EMAIL, WEBPUSH):
            raise ApiError(
                400,
                "race.invalid_subscription",
                "channel: email or webpush (for LINE, send your code to our LINE account)",
                "channel",
            )
        try:
            sub = subscriptions.subscribe(
                grant.race, grant.bib, body.channel, body.address, verified_by="session"
            )
        except TooManySubscriptionsError as exc:
            raise ApiError(409, exc.code, exc.message, "channel") from None
        except SubscriptionError as exc:
            raise ApiError(400, exc.code, exc.message, "address") from None
        return {"channel": sub.channel, "bib": sub.bib, "subscribed": True}

    @router.post(f"{RUNNER_API}privacy", responses=error_responses(400, 401))
    def request_privacy(body: PrivacyRequest, request: Request) -> dict[str, Any]:
        """``face``: hide my face in other runners' photos; ``erase``: take my photos away."""
        grant = grant_of(request.headers.get(SESSION_HEADER))
        if body.kind not in (FACE, ERASE):
            raise ApiError(400, "request.invalid", "kind: face or erase", "kind")
        found = _hide_face(services, privacy, grant.race, grant.bib) if body.kind == FACE else []
        done = privacy.request(grant.race, grant.bib, body.kind, found=found)
        client = request.client.host if request.client else "unknown"
        audit.record(
            f"runner:{client}",
            RUNNER_ERASE if body.kind == ERASE else RUNNER_FACE_REMOVAL,
            service=grant.race.service,
            target=f"{grant.race.album}/{grant.bib}",
            details={("faces" if body.kind == FACE else "photos"): done["photos"] or []},
        )
        return {"kind": body.kind, **_request_view(done)}

    @router.post(LINE_WEBHOOK, include_in_schema=False)
    async def line_webhook(
        request: Request, x_line_signature: str | None = Header(None)
    ) -> Response:
        """LINE's webhook: a follower who sends their code is subscribed; one who unfollows is
        not any more. A body whose signature does not match is refused unread."""
        body = await request.body()
        if not line.signature_ok(settings.line_channel_secret, body, x_line_signature):
            raise ApiError(401, "line.bad_signature", "x-line-signature does not match the body")
        await run_in_threadpool(follow_events, body)  # database writes: off the event loop
        return Response(status_code=200)

    def follow_events(body: bytes) -> None:
        for event in line.events(body):
            if event.kind == "unfollow":
                subscriptions.end_address(LINE, event.user_id)
                continue
            text = event.text.strip()
            if not text.startswith(LINE_CODE_PREFIX):
                continue
            grant = links.check(key(), text[len(LINE_CODE_PREFIX) :], purpose="line")
            if grant is not None:
                _subscribe_line(subscriptions, grant, event.user_id)

    return router


def _subscribe_line(subscriptions: Subscriptions, grant: links.RunnerGrant, user_id: str) -> None:
    """A follower's code subscribes them; past the bib's cap they are not (LINE gets its 200
    all the same: the webhook answers for the delivery, not for each message in it)."""
    try:
        subscriptions.subscribe(grant.race, grant.bib, LINE, user_id, verified_by="session")
    except TooManySubscriptionsError:
        log.info(
            "LINE follower not subscribed: bib %s of %s has its subscriptions",
            grant.bib,
            grant.race,
        )


def _request_view(request: dict[str, Any]) -> dict[str, Any]:
    found = len(request["photos"] or [])
    view = {"requested_at": request["requested_at"], "done_at": request["done_at"]}
    return view | ({"photos_erased": found} if request["kind"] == ERASE else {"faces": found})


def _hide_face(services: ApiServices, privacy: RunnerPrivacy, race: RaceRef, bib: str) -> list[str]:
    """Mark the runner's faces "do not publish" through the faces package: with the face index
    on, every face of the album that matches them (photos where the bib does not show), else
    the faces found above the bib."""
    album = AlbumRef(race.service, race.album)
    marked: list[str] = []
    for face_id in privacy.runner_faces(race, bib, GALLERY_MIN_CONFIDENCE):
        try:
            marked += services.faces.mark_do_not_publish(album, face_id, child=True)
        except FaceIndexOffError:
            marked += services.faces.mark_do_not_publish(album, face_id, child=False)
    return sorted(set(marked))


def _photos(
    services: ApiServices,
    access: AccessControl,
    bibs: PhotoBibs,
    race: RaceRef,
    bib: str,
    privacy: RunnerPrivacy,
) -> list[str]:
    """The race's ready photos that show ``bib``, as sure as the gallery needs, less those with
    a face marked "do not publish" (another runner's, staff's, the runner's own: the watermarked
    preview of such a photo is refused to everyone, as parents' are)."""
    viewer = Principal(
        key_id=f"runner:{bib}", service=race.service, albums=(race.album,), role="viewer"
    )
    hidden = privacy.unpublishable(race)
    shown = []
    for photo_id in bibs.photos_of(race, bib, GALLERY_MIN_CONFIDENCE):
        if photo_id in hidden:
            continue
        photo = services.photos.find(photo_id)
        if photo and photo["status"] == "ready" and access.visible(viewer, photo["object_key"]):
            shown.append(photo_id)
    return shown


def _refused(audit: AuditLog, client: str, race: RaceRef, bib: str, reason: str) -> None:
    audit.record(
        f"runner:{client}",
        RUNNER_SIGN_IN_REFUSED,
        service=race.service,
        target=f"{race.album}/{bib}"[:512],
        details={"reason": reason},
    )


def _lazy(make: Callable[[], Any]) -> Callable[[], Any]:
    lock = threading.Lock()
    held: list[Any] = []

    def get() -> Any:
        with lock:
            if not held:
                held.append(make())
            return held[0]

    return get
