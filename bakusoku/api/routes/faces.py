"""Faces: find a child's photos in an album, a photo's faces, "do not publish" and erasure (staff).

Every route names its album and is checked against the caller's key like any album: another
service's or an unreachable album answers 404, as a missing one. Reference photos are read from
the request and never stored. Parents reach the same search through their album sessions.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, UploadFile
from starlette.concurrency import run_in_threadpool

from bakusoku.api.access import AccessControl, Caller, album_not_found, check_album, require_role
from bakusoku.api.errors import ApiError, error_responses
from bakusoku.api.quoting import repeatable
from bakusoku.api.routes.shared import visible_photo
from bakusoku.api.services import ApiServices
from bakusoku.api.strict_requests import StrictRoute
from bakusoku.auth import audit
from bakusoku.auth.principal import Principal
from bakusoku.domain.keys import ALBUM_PATTERN, is_service_name, owner_of
from bakusoku.faces.errors import FaceIndexError, FaceIndexOffError, NoFaceError
from bakusoku.faces.port import AlbumRef
from bakusoku.faces.search import MAX_REFERENCES
from bakusoku.imaging.errors import ImageError

# A reference photo is a phone snapshot: a few megabytes (clients may send it shrunk to 2048 px: the
# search decodes no more than that). Behind API Gateway and Lambda a request is at most 6 MB.
MAX_REFERENCE_BYTES = 8 * 1024 * 1024
# The search's body: up to three reference photos and the form fields.
SEARCH_PATH = re.compile(r"/v1/albums/[^/]+/faces/search")
SEARCH_MAX_BODY_BYTES = MAX_REFERENCES * MAX_REFERENCE_BYTES + 64 * 1024


def _face_not_found() -> ApiError:
    return ApiError(404, "face.not_found", "no face of this album has that id")


def faces_router(services: ApiServices, access: AccessControl) -> APIRouter:
    router = APIRouter(route_class=StrictRoute)
    faces = services.faces

    def album_ref(principal: Principal, album: str, service: str | None) -> AlbumRef:
        if not repeatable(album, ALBUM_PATTERN):  # a key or code pasted in its place
            raise album_not_found(album)
        check_album(principal, album)
        if principal.is_operator:
            if service is None or not is_service_name(service):
                raise ApiError(
                    400,
                    "request.invalid",
                    "the admin token must name the album's service",
                    "service",
                )
            return AlbumRef(service, album)
        return AlbumRef(str(principal.service), album)

    def audit_face(
        principal: Principal, ref: AlbumRef, face_id: str, action: str, details: dict[str, Any]
    ) -> None:
        access.audit.record(
            principal.actor,
            action,
            service=ref.service,
            target=f"{ref.album}/{face_id}",
            details=details,
        )

    @router.post(
        "/v1/albums/{album}/faces/search",
        summary="Find a child's photos",
        responses=error_responses(400, 404, 413, 503),
    )
    async def search_faces(
        principal: Caller,
        album: str,
        reference: Annotated[list[UploadFile], File(description="1-3 photos of the child")] = [],  # noqa: B006
        confirmed: Annotated[list[str], Form(description="face ids confirmed as the child")] = [],  # noqa: B006
        rejected: Annotated[list[str], Form(description="face ids rejected")] = [],  # noqa: B006
        service: str | None = Query(None, description="admin token only: the album's service"),
        limit: int = Query(200, ge=1, le=3000),
    ) -> dict[str, Any]:
        """The album's publishable photos in which the child of the reference photos appears,
        best first, each with a confidence in [0, 1] and the box of the matching face. Faces
        already confirmed join the query; rejected faces are left out. Reference photos are
        never stored."""
        ref = album_ref(principal, album, service)
        if len(reference) > MAX_REFERENCES:
            raise ApiError(
                400,
                "request.invalid",
                f"send 1-{MAX_REFERENCES} reference photos (or confirmed face ids)",
                "reference",
            )
        images = []
        for upload in reference:
            data = await upload.read(MAX_REFERENCE_BYTES + 1)
            if len(data) > MAX_REFERENCE_BYTES:
                raise ApiError(
                    413,
                    "request.too_large",
                    "a reference photo is over 8 MiB: send it at most 2048 px on its long edge",
                    "reference",
                )
            images.append(data)
        try:
            # Decoding and embedding take a CPU for a while: off the event loop, which serves
            # every other request meanwhile.
            hits = await run_in_threadpool(
                faces.find_child, ref, images, confirmed=confirmed, rejected=rejected, limit=limit
            )
        except NoFaceError as exc:
            raise ApiError(400, exc.code, exc.message, "reference") from None
        except (FaceIndexOffError, FaceIndexError) as exc:
            raise ApiError(503, exc.code, exc.message) from None
        except ImageError as exc:  # not a photo we can read
            raise ApiError(
                400, exc.code, f"a reference photo: {exc.message}", "reference"
            ) from None
        except ValueError as exc:  # no reference photo and no confirmed face of this album
            raise ApiError(400, "request.invalid", str(exc), "reference") from None
        return {
            "items": [
                {
                    "photo_id": h.photo_id,
                    "face_id": h.face_id,
                    "confidence": h.confidence,
                    "box": [round(v) for v in h.box],
                }
                for h in hits
            ]
        }

    @router.get("/v1/photos/{photo_id}/faces", responses=error_responses(404))
    def photo_faces(principal: Caller, photo_id: str) -> dict[str, Any]:
        """The faces found on the photo: id, box, whether it can be matched, "do not publish"."""
        photo = visible_photo(services, access, photo_id, principal)
        rows = faces.photo_faces(photo_album(photo, services.settings.upload_prefix), photo_id)
        return {
            "face_index": photo.get("face_index"),
            "items": [
                {
                    "face_id": r.face_id,
                    "box": [round(v) for v in r.box],
                    "embedded": r.embedded,
                    "do_not_publish": r.suppressed,
                }
                for r in rows
            ],
        }

    @router.post(
        "/v1/albums/{album}/faces/{face_id}/do-not-publish",
        summary="Mark a face or a child do not publish",
        responses=error_responses(400, 403, 404, 503),
    )
    def do_not_publish(
        principal: Caller,
        album: str,
        face_id: str,
        child: bool = Query(False, description="every face of the album matching this one"),
        publish: bool = Query(False, description="lift the mark instead"),
        service: str | None = Query(None),
    ) -> dict[str, Any]:
        """Take the face's photo (``child``: every photo of that child) out of parent galleries
        and search results, or put it back with ``publish``; admin keys; audited."""
        ref = album_ref(principal, album, service)
        require_role(principal, "admin")
        marked = _call(
            lambda: faces.mark_do_not_publish(ref, face_id, child=child, suppressed=not publish)
        )
        if not marked:
            raise _face_not_found()
        audit_face(
            principal,
            ref,
            face_id,
            audit.FACE_SUPPRESS,
            {"child": child, "do_not_publish": not publish, "faces": len(marked)},
        )
        return {"face_ids": marked, "do_not_publish": not publish}

    @router.delete(
        "/v1/albums/{album}/faces/{face_id}",
        summary="Erase a face or a child",
        responses=error_responses(400, 403, 404, 503),
    )
    def erase_face(
        principal: Caller,
        album: str,
        face_id: str,
        child: bool = Query(False, description="every face of the album matching this one"),
        service: str | None = Query(None),
    ) -> dict[str, Any]:
        """Erase the face (``child``: every face of the album matching it) from the face index for
        good, on request; admin keys; audited. The photos stay; the child is no longer found."""
        ref = album_ref(principal, album, service)
        require_role(principal, "admin")
        erased = _call(lambda: faces.erase(ref, face_id, child=child))
        if not erased.face_ids:
            raise _face_not_found()
        audit_face(
            principal,
            ref,
            face_id,
            audit.FACE_ERASE,
            {"child": child, "faces": len(erased.face_ids), "photos": len(erased.photo_ids)},
        )
        return {"face_ids": erased.face_ids, "photo_ids": erased.photo_ids}

    return router


def photo_album(photo: dict[str, Any], upload_prefix: str) -> AlbumRef:
    """The service and album whose faces a photo's are (service "" for keys made before services)."""
    owner = owner_of(photo["object_key"], upload_prefix)
    return AlbumRef(owner[0], owner[1]) if owner else AlbumRef("", photo["album"])


def _call(work: Any) -> Any:
    try:
        return work()
    except (FaceIndexOffError, FaceIndexError) as exc:
        raise ApiError(503, exc.code, exc.message) from None
