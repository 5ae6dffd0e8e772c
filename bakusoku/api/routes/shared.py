"""What the routes of several resources share: rendition links, and photos the caller may see."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bakusoku.api.access import AccessControl, photo_not_found, rendition_url
from bakusoku.api.services import ApiServices
from bakusoku.auth.principal import Principal

SignGet = Callable[[str, str], str]


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
