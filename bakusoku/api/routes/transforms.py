"""Transforms over HTTP: ``GET /img/{signature}/{options}/{photo_id}`` and the signing endpoint.

``/img/...`` needs no API key, so any page may use it in ``src`` and a CDN may cache it: the
signature is the permission, and only the API hands signatures out, for photos the caller's key
may see (``GET /v1/photos/{photo_id}/transform``; another service's photo answers as a missing
one). The signature is checked first: an unsigned or tampered URL answers 403 after one HMAC.
Answers carry a strong ``ETag`` (the photo's bytes, the options and the format chosen),
``Cache-Control: public, max-age=…, immutable``, ``Vary: Accept`` when the format follows
``Accept``, ``304`` on revalidation, and repeats come from a bounded disk cache.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from bakusoku.api.access import AccessControl, Caller, photo_not_found
from bakusoku.api.errors import ApiError, error_responses
from bakusoku.api.routes.shared import signing_key_reader, visible_photo
from bakusoku.api.services import ApiServices
from bakusoku.api.strict_requests import StrictRoute
from bakusoku.api.transforms.cache import CachedImage, TransformCache
from bakusoku.api.transforms.options import (
    OPTIONS_HELP,
    TransformOptions,
    TransformOptionsError,
    parse_options,
)
from bakusoku.api.transforms.signing import signed_path, verify
from bakusoku.config import MIB, ConfigError, Settings
from bakusoku.db.photos import PhotoRepository
from bakusoku.domain.keys import edge_key, owner_of
from bakusoku.faces.service import FaceService
from bakusoku.imaging.errors import ImageError
from bakusoku.imaging.transform import (
    SourceCandidate,
    Transform,
    TransformedImage,
    avif_supported,
    choose_source,
    plan,
    render_transform,
)
from bakusoku.imaging.watermark import Watermark
from bakusoku.storage.base import ObjectStore
from bakusoku.storage.errors import ObjectNotFoundError, StorageError

# A year: the URL names the photo's bytes and the options, so what it answers never changes.
MAX_AGE_SECONDS = 365 * 24 * 3600
CACHE_DIR_NAME = "transform-cache"
# Part of every ETag: bump it when the same options would make different pixels.
_PIXELS_VERSION = "1"
_SERVED_STATUSES = ("ready",)
SIGNING_DESCRIPTION = (
    "A signed transform URL of a photo this key may see: `/img/{signature}/{options}/{photo_id}`."
    " It needs no key and does not expire, so pages may put it in `src`/`srcset` and a CDN may"
    f" cache it; it answers with a strong ETag, `Cache-Control: public, max-age={MAX_AGE_SECONDS},"
    " immutable` and 304 on revalidation; `Vary: Accept` when the format is automatic. "
    + OPTIONS_HELP
)
_EXTENSIONS = {"image/jpeg": "jpg", "image/webp": "webp", "image/avif": "avif"}
_IMAGE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"image/jpeg": {}, "image/webp": {}, "image/avif": {}}},
    304: {"description": "the client's copy (If-None-Match) is current"},
}


def transforms_router(services: ApiServices, access: AccessControl) -> APIRouter:
    """``/img/...`` and the endpoint that signs its URLs."""
    router = APIRouter(route_class=StrictRoute)
    settings = services.settings
    signing_key = signing_key_reader(settings)
    router.include_router(
        image_router(
            settings,
            services.photos,
            services.store,
            publishable_check(services.faces, settings.upload_prefix),
            signing_key=signing_key,
        )
    )

    @router.get(
        "/v1/photos/{photo_id}/transform",
        summary="Sign A Transform URL",
        description=SIGNING_DESCRIPTION,
        responses=error_responses(400, 404),
    )
    def sign_transform(
        principal: Caller,
        photo_id: str,
        # Optional in the signature only so that the photo is looked up first: a photo the key
        # may not see answers 404 (or 503 with the database gone) whatever the options.
        options: str | None = Query(
            None, description="required: e.g. w=400,h=300,fit=cover,g=face,f=auto or p=thumb"
        ),
    ) -> dict[str, Any]:
        visible_photo(services, access, photo_id, principal)
        if not options:
            raise ApiError(
                400, "request.invalid", "options: give the transform, e.g. w=400,f=auto", "options"
            )
        wanted = _parsed(options)
        path = signed_path(signing_key(), options, photo_id)
        return {
            "photo_id": photo_id,
            "options": wanted.canonical(),
            "path": path,
            "url": settings.transform_base_url + path,
        }

    return router


def image_router(
    settings: Settings,
    photos: PhotoRepository,
    store: ObjectStore | None,
    publishable: Callable[[dict[str, Any]], bool],
    *,
    signing_key: Callable[[], bytes] | None = None,
) -> APIRouter:
    """``GET /img/{signature}/{options}/{photo_id}`` alone: what the API serves beside its other
    routes, and all the transform function behind the stack's CloudFront distribution serves."""
    router = APIRouter(route_class=StrictRoute)
    key = signing_key or signing_key_reader(settings)
    cache = _cache(settings)
    watermark = proof_watermark(settings)
    # Pixel work is CPU-bound: more of it at once than there are cores only adds memory (each
    # holds a decode) and makes every request slower; the rest wait their turn.
    pixel_slots = threading.BoundedSemaphore(max(1, os.cpu_count() or 1))

    # HEAD as GET (RFC 9110 9.3.2): caches in front and link checkers ask with it; the server
    # sends the same status and headers, without the body.
    @router.api_route(
        "/img/{signature}/{options}/{photo_id}",
        methods=["GET", "HEAD"],
        summary="Transformed Photo",
        response_class=Response,
        responses=_IMAGE_RESPONSES | error_responses(400, 403, 404, 503),
        # A URL the API hands out, not an operation to call with a key: its description is the
        # signing endpoint's, and any value of its parts is possible (all answer 403 unsigned).
        include_in_schema=False,
    )
    def transformed(request: Request, signature: str, options: str, photo_id: str) -> Response:
        """The photo at the size, fit and format the signed options say (no API key needed)."""
        if not verify(key(), signature, options, photo_id):
            raise ApiError(
                403,
                "transform.bad_signature",
                "this transform URL is not signed by this server, or was changed after signing:"
                " ask the API for one (GET /v1/photos/{photo_id}/transform?options=...)",
            )
        wanted = _parsed(options)
        transform = wanted.to_transform(
            request.headers.get("accept", ""), avif_supported(), watermark
        )
        photo = photos.find(photo_id)
        if photo is None or photo["status"] not in _SERVED_STATUSES:
            raise photo_not_found(photo_id)
        if wanted.watermark and not publishable(photo):
            # Watermarked previews are what parents see: a photo staff marked "do not publish"
            # stops answering them at once, even for URLs handed out before the mark.
            raise photo_not_found(photo_id)
        etag = _etag(photo, wanted, transform)
        headers = _caching_headers(etag, wanted)
        if _matches(request.headers.get("if-none-match"), etag):
            return Response(status_code=304, headers=headers)
        cached = cache.get(etag) if cache else None
        if cached is None:
            made, timing = _render(settings, _store(store), photo, transform, pixel_slots)
            cached = CachedImage(made.data, made.content_type)
            headers["Server-Timing"] = timing  # for operators and the benchmark
            if cache:
                cache.put(etag, cached)
        inline_max = settings.transform_inline_max_bytes
        if inline_max and len(cached.data) > inline_max:
            return _redirect_to_stored(settings, _store(store), photo, etag, cached, headers)
        return Response(cached.data, media_type=cached.content_type, headers=headers)

    return router


def _redirect_to_stored(
    settings: Settings,
    store: ObjectStore,
    photo: dict[str, Any],
    etag: str,
    image: CachedImage,
    headers: dict[str, str],
) -> Response:
    """A picture too large for the function's answer: stored beside the photo's renditions and
    answered with a redirect to that key on the same host (the edge serves it from the bucket).
    The redirect is as cacheable as the picture: the key names the picture's exact bytes."""
    extension = _EXTENSIONS[image.content_type]
    key = edge_key(
        settings.rendition_prefix,
        photo["album"],
        photo["photo_id"],
        f"{etag.strip(chr(34))}.{extension}",
    )
    try:
        store.put_object(photo["bucket"], key, image.data, content_type=image.content_type)
    except StorageError as exc:
        raise ApiError(
            503,
            "storage.unavailable",
            f"the transform is too large to answer inline and could not be stored ({exc.code});"
            " try again",
        ) from exc
    # The ETag names the picture, not this redirect: a client revalidates the stored copy.
    moved = {k: v for k, v in headers.items() if k != "ETag"}
    return Response(status_code=302, headers={**moved, "Location": "/" + key})


def proof_watermark(settings: Settings) -> Watermark:
    """The watermark of sale previews, from the settings; ConfigError names a bad one."""
    try:
        return Watermark(settings.proof_watermark_text, settings.proof_watermark_opacity)
    except ValueError as exc:
        raise ConfigError(
            f"settings 'proof_watermark_text' ({settings.proof_watermark_text!r}) and"
            f" 'proof_watermark_opacity' ({settings.proof_watermark_opacity}): {exc}"
        ) from exc


def _cache(settings: Settings) -> TransformCache | None:
    if settings.transform_cache_mb == 0:
        return None
    return TransformCache(settings.data_dir / CACHE_DIR_NAME, settings.transform_cache_mb * MIB)


def _parsed(options: str) -> TransformOptions:
    try:
        return parse_options(options)
    except TransformOptionsError as exc:
        raise ApiError(400, exc.code, exc.message, "options") from exc


def _etag(photo: dict[str, Any], wanted: TransformOptions, transform: Transform) -> str:
    """Strong: the same photo bytes, options and output format always give the same bytes."""
    identity = "|".join(
        (
            _PIXELS_VERSION,
            photo["photo_id"],
            str(photo["etag"] or photo["sha256"]),
            wanted.canonical(),
            transform.format,
            repr(transform.watermark),  # a new text or opacity makes new bytes
        )
    )
    return '"' + hashlib.sha256(identity.encode()).hexdigest()[:32] + '"'


def _caching_headers(etag: str, wanted: TransformOptions) -> dict[str, str]:
    headers = {
        "ETag": etag,
        "Cache-Control": f"public, max-age={MAX_AGE_SECONDS}, immutable",
    }
    if wanted.format == "auto":
        headers["Vary"] = "Accept"
    return headers


def _matches(if_none_match: str | None, etag: str) -> bool:
    """If-None-Match compares weakly (RFC 9110 13.1.2): ``W/"x"`` matches ``"x"``."""
    if not if_none_match:
        return False
    tags = [t.strip().removeprefix("W/") for t in if_none_match.split(",")]
    return "*" in tags or etag in tags


def _render(
    settings: Settings,
    store: ObjectStore,
    photo: dict[str, Any],
    transform: Transform,
    pixel_slots: threading.BoundedSemaphore,
) -> tuple[TransformedImage, str]:
    """The picture, and a Server-Timing value: reading its source, making its pixels."""
    full = (int(photo["width"]), int(photo["height"]))
    faces = [tuple(face) for face in photo.get("faces") or ()]
    source = choose_source(
        SourceCandidate(photo["object_key"], full[0], photo["content_type"] or ""),
        _full_frame_renditions(photo),
        full[0],
        plan(full, transform, faces),
    )
    started = time.perf_counter()
    data = _source_bytes(store, photo, source.key)
    read = time.perf_counter()
    try:
        with pixel_slots:
            made = render_transform(
                data,
                transform,
                full=full,
                faces=faces,
                max_pixels=settings.max_image_pixels,
                allow_tiff=settings.allow_tiff,
            )
            done = time.perf_counter()
    except ImageError as exc:
        raise ApiError(
            409,
            "transform.unreadable_source",
            f"the photo's stored file {source.key.rsplit('/', 1)[-1]!r} does not decode"
            f" ({exc.code}); re-drive the photo's processing",
        ) from exc
    timing = f"read;dur={(read - started) * 1000:.1f}, pixels;dur={(done - read) * 1000:.1f}"
    return made, timing


def _source_bytes(store: ObjectStore, photo: dict[str, Any], key: str) -> bytes:
    """The stored file a transform is made from. A delete removes the photo's files before its
    row, so a file that is gone means the photo is going: it answers as a missing photo does.
    A store that cannot answer now is a 503 to retry, never an internal error."""
    try:
        return store.get_object(photo["bucket"], key)
    except ObjectNotFoundError:
        raise photo_not_found(photo["photo_id"]) from None
    except StorageError as exc:
        raise ApiError(
            503,
            "storage.unavailable",
            f"the photo store could not be read ({exc.code}); try again in a moment",
        ) from None


def publishable_check(faces: FaceService, upload_prefix: str) -> Callable[[dict[str, Any]], bool]:
    """Whether a photo may still be shown watermarked: not marked "do not publish" by staff."""

    def publishable(photo: dict[str, Any]) -> bool:
        owner = owner_of(photo["object_key"], upload_prefix)
        if owner is None:
            return True
        return photo["photo_id"] not in faces.faces.unpublishable_photo_ids(*owner)

    return publishable


def _store(store: ObjectStore | None) -> ObjectStore:
    if store is None:
        raise ApiError(
            503, "storage.unavailable", "this deployment's API has no object store to read from"
        )
    return store


def _full_frame_renditions(photo: dict[str, Any]) -> list[SourceCandidate]:
    """The photo's renditions that show the whole frame (not print crops), as sources."""
    return [
        SourceCandidate(item["key"], int(item["width"]), item["contentType"])
        for item in (photo.get("renditions") or {}).values()
        if not item.get("cropBox") and item.get("contentType") in ("image/jpeg", "image/webp")
    ]
