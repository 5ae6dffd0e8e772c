"""Typed storage errors: S3's own (each carrying the S3 error code, HTTP status and XML error body)
and :class:`StorageUnavailableError`, a store that could not be reached or could not serve the
request right now, which a photo fails with as ``storage.unavailable`` (the catalogue's code)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import quote
from xml.sax.saxutils import escape

from bakusoku.errors import BakusokuError

# Characters XML 1.0 cannot hold, not even as character references: most C0 controls, the
# surrogates (text decoded with "surrogateescape") and U+FFFE/U+FFFF.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_text(value: str) -> str:
    """``value`` escaped for an XML element, each character XML cannot hold percent-encoded.

    Error bodies repeat what the request sent (its key, its path); a key may hold any control
    character, and one raw in the body makes it unparseable, so the client would see a bare
    status instead of the reason. Percent-encoded, it reads as the URL wrote it.
    """
    return escape(_NOT_XML.sub(_percent_encoded, value))


def _percent_encoded(match: re.Match[str]) -> str:
    return quote(match.group(), safe="", errors="surrogatepass")


class StorageError(BakusokuError):
    """Base class of every error raised by ``bakusoku.storage``."""

    code = "storage.error"


class StorageUnavailableError(StorageError):
    """The store could not be reached, timed out, throttled the request or failed on its side.

    Amazon S3's ``SlowDown``, ``ServiceUnavailable``, ``InternalError``, any 5xx, a refused or
    dropped connection, a timeout: nothing is wrong with the request itself, so the same request can
    succeed later (the pipeline's Retry rules try again). ``reason`` is what the store or the
    connection reported (``SlowDown``, ``EndpointConnectionError``...), ``status`` the HTTP status
    when there was a response.
    """

    code = "storage.unavailable"

    def __init__(self, message: str, *, reason: str, status: int | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.status = status


class S3Error(StorageError):
    """An error as Amazon S3 reports it: ``code`` (``AccessDenied``...), HTTP ``status``, message.

    ``extra`` holds the additional elements S3 puts in some error bodies (``Key``, ``Expires``,
    ``MaxSizeAllowed``...); they are rendered after ``Message`` in the XML body.
    """

    code = "InternalError"
    status = 500

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int | None = None,
        extra: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message, code=code)
        if status is not None:
            self.status = status
        self.extra: dict[str, str] = dict(extra or {})

    def to_xml(self, *, resource: str = "", request_id: str = "", host_id: str = "") -> bytes:
        """Render S3's XML error body (``<Error><Code>...``), ready to send as application/xml."""
        parts = [
            '<?xml version="1.0" encoding="UTF-8"?>\n<Error>',
            f"<Code>{xml_text(self.code)}</Code>",
            f"<Message>{xml_text(self.message)}</Message>",
        ]
        parts.extend(f"<{name}>{xml_text(value)}</{name}>" for name, value in self.extra.items())
        if resource:
            parts.append(f"<Resource>{xml_text(resource)}</Resource>")
        parts.append(f"<RequestId>{xml_text(request_id)}</RequestId>")
        if host_id:
            parts.append(f"<HostId>{xml_text(host_id)}</HostId>")
        parts.append("</Error>")
        return "".join(parts).encode("utf-8")

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code!r}, {self.status}, {self.message!r})"


class ObjectNotFoundError(S3Error):
    """The object does not exist (S3 ``NoSuchKey``)."""

    code = "NoSuchKey"
    status = 404


class BucketNotFoundError(S3Error):
    """The bucket does not exist (S3 ``NoSuchBucket``)."""

    code = "NoSuchBucket"
    status = 404


class ObjectExistsError(S3Error):
    """A create with ``If-None-Match: *`` found the key taken (S3 ``PreconditionFailed``)."""

    code = "PreconditionFailed"
    status = 412


class InvalidKeyError(S3Error):
    """The object key cannot be stored safely; the message says which rule it breaks."""

    code = "InvalidArgument"
    status = 400


class InvalidBucketNameError(S3Error):
    """The bucket name breaks S3's naming rules (S3 ``InvalidBucketName``)."""

    code = "InvalidBucketName"
    status = 400


class EntityTooLargeError(S3Error):
    """The body is larger than allowed (S3 ``EntityTooLarge``); nothing was stored."""

    code = "EntityTooLarge"
    status = 400


class EntityTooSmallError(S3Error):
    """The body is below the POST policy's minimum (S3 ``EntityTooSmall``); nothing was stored."""

    code = "EntityTooSmall"
    status = 400


class IncompleteBodyError(S3Error):
    """The body ended before ``Content-Length`` bytes arrived (S3 ``IncompleteBody``)."""

    code = "IncompleteBody"
    status = 400


class RequestTimeoutError(S3Error):
    """The client sent its request too slowly (S3 ``RequestTimeout``); nothing was stored."""

    code = "RequestTimeout"
    status = 400


class SlowDownError(S3Error):
    """The endpoint serves as many connections as it may (S3 ``SlowDown``); retry with back-off."""

    code = "SlowDown"
    status = 503


class ClientDisconnected(Exception):
    """The client went away before the whole body arrived; nothing was stored."""
