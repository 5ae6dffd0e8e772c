"""The parent API (``/v1/parent``) and the parents' page (``/p/``).

A parent opens a session with an album code and then sees that one album only, as watermarked
previews: every picture this API names is a signed transform URL of the ``proof`` preset (which
no option can take the watermark off), never a rendition link, an original or a print. The
session cookie is read by the access middleware for these paths only; ``request.state`` carries
the session.
"""

from __future__ import annotations

import re
import time
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from bakusoku.api.access import AccessControl, photo_not_found
from bakusoku.api.errors import ApiError, error_responses
from bakusoku.api.parent_access import COOKIE, PARENT_API, session_expiry_seconds
from bakusoku.api.references import MAX_REFERENCES
from bakusoku.api.routes.pages import page
from bakusoku.api.routes.shared import signing_key_reader
from bakusoku.api.services import ApiServices
from bakusoku.api.strict_requests import StrictRoute
from bakusoku.api.transforms.signing import signed_path
from bakusoku.auth.scope import list_photos, photo_visible
from bakusoku.auth.sessions import VERDICTS, ParentSession
from bakusoku.db.faces import publishable_clause
from bakusoku.faces.errors import FaceIndexError, FaceIndexOffError, NoFaceError
from bakusoku.faces.port import AlbumRef
from bakusoku.faces.search import check_reference
from bakusoku.imaging.errors import ImageError, ImageTooLargeError
from bakusoku.imaging.sniff import sniff
from bakusoku.utc import iso_seconds

# What a parent's page shows: a watermarked grid picture and a watermarked large preview. Both are
# the 'proof' preset (at most 1200 px, watermark always on); the grid's is only smaller.
THUMB_OPTIONS = "p=proof,w=240,h=240,dpr=2,f=auto"
PROOF_OPTIONS = "p=proof,f=auto"
_PAGE_LIMIT = 60
REFERENCES_PATH = f"{PARENT_API}/references"
_FACE_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


class CodeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    code: str = Field(max_length=40, description="the album code, e.g. ABCD-EFGH-JKMN")


class VerdictRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    verdict: str = Field(description="confirmed | rejected | none (take back)")


class SearchRequest(BaseModel):
    """Strict: a count sent as "2" or true is refused, never read as a number."""

    model_config = ConfigDict(extra="forbid", strict=True)

    references: int = Field(
        default=0,
        ge=0,
        le=MAX_REFERENCES,
        description="how many reference photos the page has given: a server that holds fewer"
        " answers 409 parent.references_missing, and the page sends them again",
    )
    limit: int = Field(default=100, ge=1, le=500)


def parent_session(request: Request) -> ParentSession:
    """The session the middleware found for this request (it answers 401 without one)."""
    session = request.scope.get("state", {}).get("parent_session")
    if not isinstance(session, ParentSession):
        raise ApiError(401, "parent.session_required", "this needs a parent's session")
    return session


def parents_router(services: ApiServices, access: AccessControl) -> APIRouter:
    router = APIRouter(route_class=StrictRoute)
    parents = access.parents
    settings = services.settings
    faces = services.faces
    signing_key = signing_key_reader(settings)

    def proof_view(photo: dict[str, Any]) -> dict[str, Any]:
        key = signing_key()
        photo_id = photo["photo_id"]
        return {
            "photo_id": photo_id,
            "width": photo["width"],
            "height": photo["height"],
            "taken_at": photo["taken_at"],
            "placeholder": photo.get("placeholder"),
            "thumb": signed_path(key, THUMB_OPTIONS, photo_id),
            "proof": signed_path(key, PROOF_OPTIONS, photo_id),
        }

    def session_view(session: ParentSession) -> dict[str, Any]:
        return {
            "album": session.album,
            "expires_at": iso_seconds(session.expires_at),
            "references": len(parents.references.get(session.session_id)),
            "max_references": MAX_REFERENCES,
            "confirmed": list(session.confirmed),
            "rejected": list(session.rejected),
        }

    @router.get("/p", include_in_schema=False)
    @router.get("/p/", include_in_schema=False)
    def parents_page() -> HTMLResponse:
        return page("parent.html")

    @router.post(
        f"{PARENT_API}/session",
        summary="Open A Parent's Session",
        status_code=201,
        responses=error_responses(400, 401, 429),
    )
    def open_session(request: Request, body: CodeRequest) -> JSONResponse:
        """Enter an album code: the answer sets the session cookie for that one album."""
        client = request.client.host if request.client else "unknown"
        session, token = parents.redeem(body.code, client)
        response = JSONResponse(session_view(session), status_code=201)
        response.set_cookie(
            COOKIE,
            token,
            max_age=session_expiry_seconds(session),
            path=PARENT_API,
            httponly=True,
            samesite="strict",
            secure=_https(request, settings.api_url),
        )
        return response

    @router.get(f"{PARENT_API}/session", summary="The Parent's Session")
    def get_session(request: Request) -> dict[str, Any]:
        return session_view(parent_session(request))

    @router.delete(
        f"{PARENT_API}/session",
        summary="End The Parent's Session",
        status_code=204,
        response_class=Response,
    )
    def end_session(request: Request) -> Response:
        """End the session: its reference photos and what was confirmed or rejected are gone."""
        parents.end(parent_session(request))
        response = Response(status_code=204)
        response.delete_cookie(COOKIE, path=PARENT_API, httponly=True, samesite="strict")
        return response

    @router.get(
        f"{PARENT_API}/photos",
        summary="The Album's Previews",
        responses=error_responses(400),
    )
    def album_photos(
        request: Request,
        cursor: str | None = Query(None, max_length=200),
        limit: int = Query(_PAGE_LIMIT, ge=1, le=200),
    ) -> dict[str, Any]:
        """The session's album, newest first, each photo as watermarked preview URLs."""
        session = parent_session(request)
        found = list_photos(
            services.db,
            session.principal,
            settings.upload_prefix,
            album=session.album,
            statuses=("ready",),
            cursor=cursor,
            limit=limit,
            only=publishable_clause(session.service, session.album),
        )
        return {
            "album": session.album,
            "items": [proof_view(p) for p in found.items],
            "next_cursor": found.next_cursor,
        }

    @router.get(
        f"{PARENT_API}/photos/{{photo_id}}",
        summary="One Preview",
        responses=error_responses(404),
    )
    def one_photo(request: Request, photo_id: str) -> dict[str, Any]:
        session = parent_session(request)
        photo = services.photos.find(photo_id)
        if (
            photo is None
            or photo["status"] != "ready"
            or not photo_visible(session.principal, photo, settings.upload_prefix)
            or photo_id in faces.faces.unpublishable_photo_ids(session.service, session.album)
        ):
            raise photo_not_found(photo_id)
        return proof_view(photo)

    @router.post(
        REFERENCES_PATH,
        summary="Add A Reference Photo",
        status_code=201,
        responses=error_responses(400, 409, 413),
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"image/jpeg": {"schema": {"type": "string", "format": "binary"}}},
            }
        },
    )
    async def add_reference(request: Request) -> dict[str, Any]:
        """A photo of the child (JPEG, PNG, WebP or HEIC) to search the album with: held in
        memory for this session only, never stored."""
        session = parent_session(request)
        data = await request.body()
        if not data or sniff(data[:64]).kind not in ("JPEG", "PNG", "WEBP", "HEIF"):
            raise ApiError(
                400,
                "parent.reference_not_a_photo",
                "send the photo itself (a JPEG, PNG, WebP or HEIC picture) as the request body",
            )
        _check_reference(data)
        count = parents.references.add(session.session_id, data, expires_at=session.expires_at)
        if count is None:
            raise ApiError(
                409,
                "parent.too_many_references",
                f"a search takes at most {MAX_REFERENCES} photos of your child: remove them"
                f" (DELETE {PARENT_API}/references) to start again",
            )
        return session_view(session)

    @router.delete(
        REFERENCES_PATH,
        summary="Forget The Reference Photos",
        status_code=204,
        response_class=Response,
    )
    def drop_references(request: Request) -> Response:
        parents.references.drop(parent_session(request).session_id)
        return Response(status_code=204)

    @router.put(
        f"{PARENT_API}/faces/{{face_id}}",
        summary="Confirm Or Reject A Face",
        responses=error_responses(400, 404),
    )
    def set_verdict(request: Request, face_id: str, body: VerdictRequest) -> dict[str, Any]:
        """Say a face found is your child (``confirmed``: it joins the search), is not
        (``rejected``: it is left out), or take it back (``none``). Two faces of one photo are
        never the same child: confirming one takes back the other faces of its photo."""
        session = parent_session(request)
        if body.verdict not in VERDICTS:
            raise ApiError(
                400, "request.invalid", "verdict: use confirmed, rejected or none", "verdict"
            )
        found = (
            faces.faces.find(session.service, session.album, [face_id])
            if _FACE_ID.fullmatch(face_id)
            else []
        )
        if not found:
            raise ApiError(404, "face.not_found", "no face of this album has the id given")
        if body.verdict == "confirmed":
            others = [
                f.face_id
                for f in faces.faces.find(session.service, session.album, session.confirmed)
                if f.photo_id == found[0].photo_id and f.face_id != face_id
            ]
            if others:
                parents.sessions.set_verdict(session.session_id, others, "none")
        updated = parents.sessions.set_verdict(session.session_id, [face_id], body.verdict)
        return session_view(updated)

    @router.post(
        f"{PARENT_API}/search",
        summary="Find My Child",
        responses=error_responses(400, 409, 503),
    )
    def search(request: Request, body: SearchRequest | None = None) -> dict[str, Any]:
        """The album's photos in which the child of the reference photos appears, best first,
        each with a confidence and watermarked preview URLs; faces confirmed in this session join
        the query, rejected ones are left out."""
        body = body or SearchRequest()
        session = parent_session(request)
        references = parents.references.get(session.session_id)
        if len(references) < body.references:
            raise ApiError(
                409,
                "parent.references_missing",
                "this server no longer holds your photos of your child: send them again"
                f" (POST {REFERENCES_PATH}), then search",
            )
        if not references and not session.confirmed:
            raise ApiError(
                400,
                "parent.no_reference",
                f"add a photo of your child first (POST {REFERENCES_PATH})",
                "references",
            )
        started = time.perf_counter()
        try:
            hits = faces.find_child(
                AlbumRef(session.service, session.album),
                references,
                confirmed=session.confirmed,
                rejected=session.rejected,
                limit=body.limit,
            )
        except NoFaceError as exc:
            raise ApiError(
                400,
                exc.code,
                "we could not see a face in one of your photos: use photos where your child's"
                " face is clear and large, and start again",
                "references",
            ) from None
        except ImageError as exc:
            raise ApiError(
                400, exc.code, f"one of your photos could not be read: {exc.message}", "references"
            ) from None
        except (FaceIndexOffError, FaceIndexError) as exc:
            raise ApiError(503, exc.code, exc.message) from None
        except ValueError as exc:  # nothing to search with: no photo and no confirmed face
            raise ApiError(400, "parent.no_reference", str(exc), "references") from None
        took = time.perf_counter() - started
        confirmed, rejected = set(session.confirmed), set(session.rejected)
        key = signing_key()
        return {
            "album": session.album,
            "took_ms": round(took * 1000, 1),
            "matches": [
                {
                    "photo_id": hit.photo_id,
                    "face_id": hit.face_id,
                    "confidence": hit.confidence,
                    "box": [round(v) for v in hit.box],
                    "verdict": "confirmed"
                    if hit.face_id in confirmed
                    else "rejected"
                    if hit.face_id in rejected
                    else "none",
                    "thumb": signed_path(key, THUMB_OPTIONS, hit.photo_id),
                    "proof": signed_path(key, PROOF_OPTIONS, hit.photo_id),
                }
                for hit in hits
            ],
        }

    return router


def _check_reference(data: bytes) -> None:
    """Refuse, from its header alone, a reference photo that could not be searched with or that
    declares more pixels than a search should decode (every search decodes it again)."""
    try:
        check_reference(data)
    except ImageTooLargeError as exc:
        raise ApiError(400, exc.code, exc.message) from None
    except ImageError as exc:
        raise ApiError(400, exc.code, f"this photo could not be read: {exc.message}") from None


def _https(request: Request, api_url: str) -> bool:
    """Whether the cookie must be Secure: the page is served over https (or said to be)."""
    forwarded = request.headers.get("x-forwarded-proto", "")
    return request.url.scheme == "https" or forwarded == "https" or api_url.startswith("https:")
