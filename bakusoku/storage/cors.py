"""Bucket CORS as Amazon S3 evaluates one CORSRule: preflight answers and response headers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase

from bakusoku.storage.errors import S3Error

# S3's own wording, typo included, so clients matching on it keep working.
_PREFLIGHT_DENIED = (
    "CORSResponse: This CORS request is not allowed. This is usually because the evalution of"
    " Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers"
    " are not whitelisted by the resource's CORS spec."
)


@dataclass(frozen=True)
class CorsRule:
    """One S3 ``CORSRule``; origins and headers may hold one ``*`` wildcard each, as on S3."""

    allowed_origins: Sequence[str] = ("*",)
    allowed_methods: Sequence[str] = ("PUT", "POST", "GET", "HEAD")
    allowed_headers: Sequence[str] = ("content-type", "content-length", "if-none-match", "x-amz-*")
    expose_headers: Sequence[str] = ("ETag",)
    max_age_seconds: int | None = 3000

    def origin_allowed(self, origin: str) -> bool:
        return any(fnmatchcase(origin, pattern) for pattern in self.allowed_origins)

    def header_allowed(self, name: str) -> bool:
        name = name.strip().lower()
        return any(fnmatchcase(name, pattern.lower()) for pattern in self.allowed_headers)

    def preflight(
        self, origin: str | None, method: str | None, request_headers: str
    ) -> dict[str, str]:
        """Headers for a 200 answer to an ``OPTIONS`` preflight, or S3's error for a refused one."""
        if not origin or not method:
            raise S3Error(
                "Insufficient information. Origin request header needed."
                if not origin
                else "Insufficient information. Access-Control-Request-Method header needed.",
                code="BadRequest",
                status=400,
            )
        requested = [h.strip() for h in request_headers.split(",") if h.strip()]
        if (
            not self.origin_allowed(origin)
            or method.upper() not in self.allowed_methods
            or not all(self.header_allowed(h) for h in requested)
        ):
            raise S3Error(_PREFLIGHT_DENIED, code="AccessForbidden", status=403)
        headers = self._common(origin)
        if requested:
            headers["Access-Control-Allow-Headers"] = ", ".join(h.lower() for h in requested)
        if self.max_age_seconds is not None:
            headers["Access-Control-Max-Age"] = str(self.max_age_seconds)
        headers["Vary"] = "Origin, Access-Control-Request-Headers, Access-Control-Request-Method"
        return headers

    def response_headers(self, origin: str | None, method: str) -> dict[str, str]:
        """CORS headers for an actual (non-preflight) response; empty if the rule does not match."""
        if not origin or method.upper() not in self.allowed_methods:
            return {}
        if not self.origin_allowed(origin):
            return {}
        headers = self._common(origin)
        if self.max_age_seconds is not None:
            headers["Access-Control-Max-Age"] = str(self.max_age_seconds)
        headers["Vary"] = "Origin, Access-Control-Request-Headers, Access-Control-Request-Method"
        return headers

    def _common(self, origin: str) -> dict[str, str]:
        wildcard = "*" in self.allowed_origins
        headers = {
            "Access-Control-Allow-Origin": "*" if wildcard else origin,
            "Access-Control-Allow-Methods": ", ".join(self.allowed_methods),
        }
        if not wildcard:
            headers["Access-Control-Allow-Credentials"] = "true"
        if self.expose_headers:
            headers["Access-Control-Expose-Headers"] = ", ".join(self.expose_headers)
        return headers
