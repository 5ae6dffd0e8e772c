"""What the routes of several resources share: rendition links, transform links, and photos the
caller may see."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from bakusoku.api.access import AccessControl, photo_not_found, rendition_url
from bakusoku.api.errors import ApiError
from bakusoku.api.services import ApiServices
from bakusoku.api.transforms.signing import ensure_signing_key, signed_path
from bakusoku.auth.principal import Principal
from bakusoku.config import Settings

SignGet = Callable[[str, str], str]
SignTransform = Callable[[str, str], str]  # (options, photo_id) -> URL


def rendition_signer(services: ApiServices) -> SignGet:
    """Signs short-lived GETs of renditions, as photo views show them."""
    presigner = services.presigner
    expires_in = services.settings.rendition_url_expiry_seconds

    def sign_get(bucket: str, key: str) -> str:
        return rendition_url(presigner, bucket, key, expires_in)

    return sign_get


def visible_photo(
    services: ApiServices, access: AccessControl, photo_id: str, principal: Principal
) -> dict[str, Any]:
    """The photo's row; 404 when there is none or the caller's key does not reach it (the two
    answer alike, so another service's photo looks missing)."""
    photo = services.photos.find(photo_id)
    if photo is None or not access.visible(principal, photo["object_key"]):
        raise photo_not_found(photo_id)
    return photo


def signing_key_reader(settings: Settings) -> Callable[[], bytes]:
    """The signing key, read (or made) on first use: a deployment without a writable data
    directory and without the setting fails only its transform routes, not the whole API."""
    lock = threading.Lock()
    held: list[bytes] = []

    def key() -> bytes:
        with lock:
            if not held:
                try:
                    held.append(ensure_signing_key(settings))
                except OSError as exc:
                    raise ApiError(
                        503,
                        "transform.unavailable",
                        "transforms need a signing key: set transform_signing_key"
                        f" (BAKUSOKU_TRANSFORM_SIGNING_KEY) or a writable data_dir ({exc})",
                    ) from exc
            return held[0]

    return key


def transform_signer(settings: Settings) -> SignTransform:
    """Signs transform URLs (``/img/...``) where pages fetch them: the edge, else the API."""
    key = signing_key_reader(settings)

    def sign(options: str, photo_id: str) -> str:
        return settings.transform_base_url + signed_path(key(), options, photo_id)

    return sign
