"""What a PUT's headers say about its body, held to as S3 holds to it.

A client may promise the body's SHA-256 (``x-amz-content-sha256``): the body is hashed as it
arrives and, if it differs, refused before anything is stored, as S3 refuses it
(``400 XAmzContentSHA256Mismatch``). A body in AWS's chunked framing (``Content-Encoding:
aws-chunked``, a ``STREAMING-*`` payload hash, ``x-amz-decoded-content-length``,
``x-amz-trailer``) is refused with ``501 NotImplemented`` naming the header: the store does not
decode that framing, and stored as sent its chunk sizes and signatures would become part of the
photo. A flexible checksum (``x-amz-checksum-crc32``, ``-sha1``, ``-sha256``) is computed and held
to the same way (``400 BadDigest``); CRC32C and CRC64NVME, which the standard library cannot
compute, are refused with ``501 NotImplemented`` rather than stored unchecked. (``Content-MD5``
is checked by the store itself, with the ETag's MD5.) Any other ``x-amz-*`` header asks for what the
store does not keep (tags, ACLs, storage classes, encryption, object lock, a bucket owner's
check): :func:`unimplemented_header` names it, for ``501 NotImplemented``, rather than the
object being stored without it.
"""

from __future__ import annotations

import base64
import hashlib
import string
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

from bakusoku.storage.errors import S3Error

UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
# Every STREAMING-* payload hash (SigV4 or SigV4a, signed or unsigned, with trailers or not) says
# the body is in aws-chunked framing.
_STREAMING_PREFIX = "STREAMING-"
# Headers that only come with an aws-chunked body, checked in this order (the first one named).
_CHUNKED_ONLY = ("x-amz-decoded-content-length", "x-amz-trailer")

_CHECKSUM_PREFIX = "x-amz-checksum-"
# x-amz-sdk-checksum-algorithm's values, as S3 knows them.
_ALGORITHMS = frozenset({"CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256"})
# The headers that carry a body's checksum, one per algorithm (x-amz-checksum-type, named alike,
# is a multipart upload's setting, and carries none).
_CHECKSUM_HEADERS = frozenset(_CHECKSUM_PREFIX + a.lower() for a in _ALGORITHMS)

# The x-amz-* headers a PUT may send: user metadata, what body_checks holds the body to (or
# refuses by name), and what only informs. (With query authentication the X-Amz-* parameters
# are in the URL, not here.)
_KEPT_PREFIXES = ("x-amz-meta-",)
_KEPT = frozenset(
    {
        *_CHECKSUM_HEADERS,
        "x-amz-content-sha256",
        "x-amz-sdk-checksum-algorithm",
        *_CHUNKED_ONLY,
        "x-amz-date",
        "x-amz-user-agent",
    }
)

Header = Callable[[str], str | None]  # a request header's value by its lower-case name
Buffer = bytes | bytearray | memoryview


class _Digest(Protocol):
    def update(self, data: Buffer, /) -> None: ...
    def digest(self) -> bytes: ...


class _Crc32:
    """CRC-32 (the zlib and S3 ``CRC32`` one) as a digest: big-endian, four bytes."""

    def __init__(self) -> None:
        self._value = 0

    def update(self, data: Buffer, /) -> None:
        self._value = zlib.crc32(data, self._value)

    def digest(self) -> bytes:
        return self._value.to_bytes(4, "big")


# The checksums the store computes: a new digest, and its length in bytes.
_COMPUTED: dict[str, tuple[Callable[[], _Digest], int]] = {
    "crc32": (_Crc32, 4),
    "sha1": (hashlib.sha1, 20),
    "sha256": (hashlib.sha256, 32),
}


@dataclass(frozen=True)
class _Promise:
    """One digest a header promised: the hash that reads the body, the value promised, the
    error a body with another digest gets, and the header S3 answers a stored body with."""

    digest: _Digest
    expected: bytes
    mismatch: Callable[[bytes], S3Error]
    answer: tuple[str, str] | None = None


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

    @property
    def response_headers(self) -> dict[str, str]:
        """What S3 answers a stored body with: the checksum it verified."""
        return dict(p.answer for p in self._promises if p.answer is not None)


def unimplemented_header(headers: Iterable[tuple[str, str]]) -> str | None:
    """The first ``x-amz-*`` header (lower-case names) asking for what the store does not keep."""
    for name, _value in headers:
        if name.startswith("x-amz-") and name not in _KEPT and not name.startswith(_KEPT_PREFIXES):
            return name
    return None


def body_checks(headers: Iterable[tuple[str, str]]) -> BodyChecks | None:
    """What the body must hash to by the request's ``headers`` (lower-case names; None:
    nothing promised).

    Raises S3's error first for a body framing or a checksum the store does not handle (``501
    NotImplemented``) and for a payload hash or checksum that is not well formed (``400``).
    """
    values: dict[str, str] = {}
    for name, value in headers:
        values.setdefault(name, value)
    header = values.get
    promises = [*_content_sha256(header)]
    _refuse_aws_chunked(header)
    promises += _checksum(values)
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


def _checksum(values: dict[str, str]) -> list[_Promise]:
    """The flexible checksum the request sends (one at most), as S3 checks the headers."""
    names = sorted(n for n in values if n in _CHECKSUM_HEADERS)
    algorithm = _sdk_algorithm(values.get("x-amz-sdk-checksum-algorithm"))
    if len(names) > 1:
        raise _invalid_request(
            "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed;"
            f" got {', '.join(names)}."
        )
    if not names:
        if algorithm is not None:
            raise _invalid_request(
                "x-amz-sdk-checksum-algorithm specified, but no corresponding x-amz-checksum-* or"
                " x-amz-trailer headers were found. Send the body's checksum in"
                f" x-amz-checksum-{algorithm.lower()}."
            )
        return []
    name = names[0]
    kind = name.removeprefix(_CHECKSUM_PREFIX)
    if algorithm is not None and algorithm.lower() != kind:
        raise _invalid_request(
            f"x-amz-sdk-checksum-algorithm is {algorithm} but the request sends {name}; send"
            " the checksum of the algorithm it names."
        )
    if kind not in _COMPUTED:
        raise S3Error(
            f"A header you provided implies functionality that is not implemented: this store"
            f" cannot compute {name}. Send x-amz-checksum-crc32, -sha1 or -sha256, Content-MD5,"
            " or no checksum.",
            code="NotImplemented",
            status=501,
            extra={"Header": name},
        )
    new_digest, length = _COMPUTED[kind]
    expected = _base64_digest(values[name], length)
    if expected is None:
        raise _invalid_request(
            f"Value for {name} header is invalid. Send the base64 of the body's {length}-byte"
            f" {kind.upper()} digest."
        )

    def mismatch(computed: bytes) -> S3Error:
        return S3Error(
            f"The {kind.upper()} you specified did not match the calculated checksum.",
            code="BadDigest",
            status=400,
            extra={"CalculatedChecksum": base64.b64encode(computed).decode()},
        )

    return [_Promise(new_digest(), expected, mismatch, (name, values[name]))]


def _sdk_algorithm(value: str | None) -> str | None:
    if value is None:
        return None
    if value.upper() not in _ALGORITHMS:
        raise _invalid_request(
            f"Value for x-amz-sdk-checksum-algorithm header is invalid: {value!r}; use one of"
            f" {', '.join(sorted(_ALGORITHMS))}."
        )
    return value.upper()


def _base64_digest(value: str, length: int) -> bytes | None:
    try:
        digest = base64.b64decode(value, validate=True)
    except ValueError:
        return None
    return digest if len(digest) == length else None


def _invalid_request(message: str) -> S3Error:
    return S3Error(message, code="InvalidRequest", status=400)
