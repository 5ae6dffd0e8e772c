"""What a PUT's headers say about its body, held to as S3 holds to it.

A client may promise the body's SHA-256 (``x-amz-content-sha256``): the body is hashed as it
arrives and, if it differs, refused before anything is stored, as S3 refuses it
(``400 XAmzContentSHA256Mismatch``). A body in AWS's chunked framing (``Content-Encoding:
aws-chunked``, a ``STREAMING-*`` payload hash, ``x-amz-decoded-content-length``,
``x-amz-trailer``) is refused with ``501 NotImplemented`` naming the header: the store does not
decode that framing, and stored as sent its chunk sizes and signatures would become part of the
photo. (``Content-MD5`` is checked by the store itself, with the ETag's MD5.)
"""

from __future__ import annotations

import hashlib
import string
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from bakusoku.storage.errors import S3Error

UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
# Every STREAMING-* payload hash (SigV4 or SigV4a, signed or unsigned, with trailers or not) says
# the body is in aws-chunked framing.
_STREAMING_PREFIX = "STREAMING-"
# Headers that only come with an aws-chunked body, checked in this order (the first one named).
_CHUNKED_ONLY = ("x-amz-decoded-content-length", "x-amz-trailer")

Header = Callable[[str], str | None]  # a request header's value by its lower-case name
Buffer = bytes | bytearray | memoryview


class _Digest(Protocol):
    def update(self, data: Buffer, /) -> None: ...
    def digest(self) -> bytes: ...


@dataclass(frozen=True)
class _Promise:
    """One digest a header promised: the hash that reads the body, the value promised, and the
    error a body with another digest gets."""

    digest: _Digest
    expected: bytes
    mismatch: Callable[[bytes], S3Error]


class BodyChecks:
    """The digests a body must have by its headers: feed it every chunk, then :meth:`verify`."""

    def __init__(self, promises: list[_Promise]) -> None:
        self._promises = promises

    def update(self, chunk: Buffer) -> None:
        for promise in self._promises:
            promise.digest.update(chunk)

    def verify(self) -> None:
        """Raise S3's error for the first digest the body does not have."""
        for promise in self._promises:
            computed = promise.digest.digest()
            if computed != promise.expected:
                raise promise.mismatch(computed)


def body_checks(header: Header) -> BodyChecks | None:
    """What the body must hash to by the request's headers (None: nothing promised).

    Raises S3's error first for a body framing the store does not decode (``501
    NotImplemented``) and for a payload hash that is no SHA-256 (``400 InvalidArgument``).
    """
    promises = [*_content_sha256(header)]
    _refuse_aws_chunked(header)
    return BodyChecks(promises) if promises else None


def _content_sha256(header: Header) -> list[_Promise]:
    value = header("x-amz-content-sha256")
    if value is None or value == UNSIGNED_PAYLOAD:
        return []
    if value.startswith(_STREAMING_PREFIX):
        raise _chunked_not_implemented("x-amz-content-sha256", value)
    claimed = value.lower()
    if len(claimed) != 64 or not all(c in string.hexdigits for c in claimed):
        raise S3Error(
            "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD,"
            f" or a valid sha256 value; got {value!r}. Send the hex SHA-256 of the body, or"
            " UNSIGNED-PAYLOAD.",
            code="InvalidArgument",
            status=400,
            extra={"ArgumentName": "x-amz-content-sha256", "ArgumentValue": value},
        )

    def mismatch(computed: bytes) -> S3Error:
        return S3Error(
            "The provided 'x-amz-content-sha256' header does not match what was computed.",
            code="XAmzContentSHA256Mismatch",
            status=400,
            extra={
                "ClientComputedContentSHA256": claimed,
                "S3ComputedContentSHA256": computed.hex(),
            },
        )

    return [_Promise(hashlib.sha256(), bytes.fromhex(claimed), mismatch)]


def _refuse_aws_chunked(header: Header) -> None:
    encoding = header("content-encoding")
    if encoding is not None:
        codings = [c.strip().lower() for c in encoding.split(",")]
        if "aws-chunked" in codings:
            raise _chunked_not_implemented("Content-Encoding", encoding)
    for name in _CHUNKED_ONLY:
        value = header(name)
        if value is not None:
            raise _chunked_not_implemented(name, value)


def _chunked_not_implemented(name: str, value: str) -> S3Error:
    return S3Error(
        f"A header you provided implies functionality that is not implemented: {name}: {value}"
        " sends the body in aws-chunked framing, which this store does not decode. Send the"
        " body as it is, with Content-Length and UNSIGNED-PAYLOAD (or the body's SHA-256) as its"
        " payload hash; with an AWS SDK, presign the PUT and send the file to the URL.",
        code="NotImplemented",
        status=501,
        extra={"Header": name},
    )
