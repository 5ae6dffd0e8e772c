"""AWS Signature Version 4 for S3 presigned (query-string) requests: signing and verification."""

from __future__ import annotations

import hashlib
import hmac
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from bakusoku import utc
from bakusoku.storage.errors import S3Error

ALGORITHM = "AWS4-HMAC-SHA256"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
MAX_EXPIRES = 7 * 24 * 3600  # SigV4 presigned URLs live at most 7 days
MAX_CLOCK_SKEW = timedelta(minutes=15)  # S3 tolerates this much client clock error

_AUTH_PARAMS = (
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Signature",
    "X-Amz-Date",
    "X-Amz-SignedHeaders",
    "X-Amz-Expires",
)
_SIGNATURE_MISMATCH = (
    "The request signature we calculated does not match the signature you provided."
    " Check your key and signing method."
)


@dataclass(frozen=True)
class CredentialScope:
    """The parsed ``X-Amz-Credential`` value: ``AKID/YYYYMMDD/region/service/aws4_request``."""

    access_key: str
    date: str
    region: str
    service: str

    @property
    def scope(self) -> str:
        return f"{self.date}/{self.region}/{self.service}/aws4_request"


@dataclass(frozen=True)
class PresignedAuth:
    """What a verified presigned request proved: who signed it, which headers, and until when."""

    access_key: str
    signed_headers: tuple[str, ...]
    signed_at: datetime
    expires_at: datetime


# ---- encoding and canonical forms ----------------------------------------------------------------


def uri_encode(value: str, *, keep_slash: bool = False) -> str:
    """Percent-encode as SigV4 requires: everything but ``A-Za-z0-9-._~`` (and ``/`` if kept)."""
    return quote(value, safe="/~" if keep_slash else "~")


def canonical_uri(raw_path: str) -> str:
    """The S3 canonical URI of a request path as it came over the wire (percent-encoded).

    S3 decodes the path to the object key and encodes it once again: no double encoding and no
    normalisation of ``.``/``..`` (unlike other AWS services). Decoding first makes clients that
    leave safe characters such as ``!`` unescaped sign the same string as botocore does.
    """
    return uri_encode(unquote(raw_path or "/"), keep_slash=True)


def parse_query(raw_query: str) -> list[tuple[str, str]]:
    """Split a raw query string into decoded ``(name, value)`` pairs, keeping order and blanks."""
    pairs: list[tuple[str, str]] = []
    for item in raw_query.split("&"):
        if not item:
            continue
        name, _, value = item.partition("=")
        pairs.append((unquote(name), unquote(value)))
    return pairs


def canonical_query_string(pairs: Iterable[tuple[str, str]]) -> str:
    """Sorted, re-encoded ``name=value`` pairs joined by ``&``, without ``X-Amz-Signature``."""
    encoded = sorted(
        (uri_encode(name), uri_encode(value)) for name, value in pairs if name != "X-Amz-Signature"
    )
    return "&".join(f"{name}={value}" for name, value in encoded)


def _header_values(headers: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    values: dict[str, list[str]] = {}
    for name, value in headers:
        values.setdefault(name.lower(), []).append(value)
    return values


def canonical_headers(values: Mapping[str, list[str]], signed_headers: Iterable[str]) -> str:
    """``name:value`` lines for the signed headers; repeats joined by ``,``, spaces collapsed."""
    lines = []
    for name in signed_headers:
        joined = ",".join(" ".join(v.split()) for v in values.get(name, ()))
        lines.append(f"{name}:{joined}\n")
    return "".join(lines)


def canonical_request(
    method: str,
    raw_path: str,
    query: Iterable[tuple[str, str]],
    header_values: Mapping[str, list[str]],
    signed_headers: Iterable[str],
    payload_hash: str = UNSIGNED_PAYLOAD,
) -> str:
    """The SigV4 canonical request of an S3 request (the payload hash is ``UNSIGNED-PAYLOAD``)."""
    signed = list(signed_headers)
    return "\n".join(
        (
            method.upper(),
            canonical_uri(raw_path),
            canonical_query_string(query),
            canonical_headers(header_values, signed),
            ";".join(signed),
            payload_hash,
        )
    )


def string_to_sign(amz_date: str, scope: str, canonical: str) -> str:
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    return f"{ALGORITHM}\n{amz_date}\n{scope}\n{digest}"


@lru_cache(maxsize=256)
def signing_key(secret_key: str, date: str, region: str, service: str = "s3") -> bytes:
    """The SigV4 signing key; cached because it changes once a day per credential and region."""
    key = ("AWS4" + secret_key).encode("utf-8")
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode("utf-8"), hashlib.sha256).digest()
    return key


def signature(key: bytes, message: str) -> str:
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).hexdigest()


def parse_amz_date(value: str, *, code: str = "AuthorizationQueryParametersError") -> datetime:
    """Parse ``YYYYMMDD'T'HHMMSS'Z'`` (ISO 8601 basic format, UTC)."""
    try:
        return utc.parse_amz_date(value)
    except ValueError:
        raise S3Error(
            "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\","
            f" got {value!r}.",
            code=code,
            status=400,
        ) from None


def parse_credential(
    value: str,
    *,
    region: str,
    service: str = "s3",
    code: str = "AuthorizationQueryParametersError",
) -> CredentialScope:
    """Parse and check a credential scope against the region and service this endpoint serves."""
    parts = value.split("/")
    prefix = "Error parsing the X-Amz-Credential parameter;"
    if len(parts) != 5 or not parts[0]:
        raise S3Error(
            f'{prefix} the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/'
            f'SERVICE/aws4_request", got {value!r}.',
            code=code,
            status=400,
        )
    access_key, date, cred_region, cred_service, terminal = parts
    if len(date) != 8 or not date.isdigit():
        raise S3Error(
            f'{prefix} incorrect date format "{date}". This date in the credential must be in the'
            ' format "yyyyMMdd".',
            code=code,
            status=400,
        )
    if cred_region != region:
        raise S3Error(
            f"{prefix} the region '{cred_region}' is wrong; expecting '{region}'",
            code=code,
            status=400,
            extra={"Region": region},
        )
    if cred_service != service:
        raise S3Error(
            f'{prefix} incorrect service "{cred_service}". This endpoint belongs to "{service}".',
            code=code,
            status=400,
        )
    if terminal != "aws4_request":
        raise S3Error(
            f'{prefix} incorrect terminal "{terminal}". This endpoint uses "aws4_request".',
            code=code,
            status=400,
        )
    return CredentialScope(access_key, date, cred_region, cred_service)


def lookup_secret(credentials: Mapping[str, str], access_key: str) -> str:
    """The secret for ``access_key``, or S3's 403 ``InvalidAccessKeyId``.

    A secret access key given as the key id (the two swapped) is refused without repeating it:
    error bodies end up in consoles and logs.
    """
    secret = credentials.get(access_key)
    if secret is None and access_key in credentials.values():
        raise S3Error(
            "The credential names a secret access key where the access key id belongs: presign"
            " with the access key id, and sign with the secret (which is never sent).",
            code="InvalidAccessKeyId",
            status=403,
        )
    if secret is None:
        raise S3Error(
            "The AWS Access Key Id you provided does not exist in our records.",
            code="InvalidAccessKeyId",
            status=403,
            extra={"AWSAccessKeyId": access_key},
        )
    return secret


def has_query_auth(query: Iterable[tuple[str, str]]) -> bool:
    """Whether the request carries any SigV4 query parameter (i.e. claims to be presigned)."""
    return any(name in _AUTH_PARAMS for name, _ in query)


# ---- verification -----------------------------------------------------------------------------


def verify_presigned_request(
    *,
    method: str,
    raw_path: str,
    raw_query: str,
    headers: Iterable[tuple[str, str]],
    credentials: Mapping[str, str],
    region: str,
    now: datetime,
    service: str = "s3",
    max_skew: timedelta = MAX_CLOCK_SKEW,
) -> PresignedAuth:
    """Verify a SigV4 presigned request as S3 does, or raise :class:`S3Error` with S3's code.

    ``raw_path`` and ``raw_query`` are exactly as received (percent-encoded); ``headers`` are the
    request's headers including ``Host``. Checks, in S3's order:

    1. all six ``X-Amz-*`` parameters present, each once, else 400
       ``AuthorizationQueryParametersError`` (a repeated one named: which of its values would be
       the one signed?);
    2. ``X-Amz-Algorithm`` is ``AWS4-HMAC-SHA256``, else 400 ``AuthorizationQueryParametersError``;
    3. credential scope well formed, for this region and service, dated as ``X-Amz-Date``
       (400 ``AuthorizationQueryParametersError``); access key known (else 403
       ``InvalidAccessKeyId``);
    4. ``X-Amz-Expires`` an integer in 1..604800, else 400 ``AuthorizationQueryParametersError``;
    5. not expired (403 ``AccessDenied`` "Request has expired") and not dated more than
       ``max_skew`` in the future (403 ``AccessDenied`` "Request is not yet valid");
    6. every signed header present in the request. S3 reports a missing signed header as 403
       ``SignatureDoesNotMatch`` (it signs what it received), and so do we, naming the header;
       ``x-amz-*`` headers sent but not signed are 403 ``AccessDenied`` ("There were headers present
       in the request which were not signed"), as on S3;
    7. the signature, compared in constant time, else 403 ``SignatureDoesNotMatch`` with the
       canonical request and string to sign S3 also returns, to debug the client.
    """
    query = parse_query(raw_query)
    _check_given_once(query)
    params: dict[str, str] = {}
    for name, value in query:
        params.setdefault(name, value)
    if any(name not in params for name in _AUTH_PARAMS):
        raise S3Error(
            "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential,"
            " X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.",
            code="AuthorizationQueryParametersError",
            status=400,
        )
    if params["X-Amz-Algorithm"] != ALGORITHM:
        raise S3Error(
            f'X-Amz-Algorithm only supports "{ALGORITHM}"',
            code="AuthorizationQueryParametersError",
            status=400,
        )
    amz_date = params["X-Amz-Date"]
    signed_at = parse_amz_date(amz_date)
    scope = parse_credential(params["X-Amz-Credential"], region=region, service=service)
    if scope.date != amz_date[:8]:
        raise S3Error(
            f"Error parsing the X-Amz-Credential parameter; the date {scope.date} in the credential"
            f" is not the date of X-Amz-Date {amz_date}.",
            code="AuthorizationQueryParametersError",
            status=400,
        )
    secret = lookup_secret(credentials, scope.access_key)
    expires_in = _parse_expires(params["X-Amz-Expires"])
    expires_at = signed_at + timedelta(seconds=expires_in)
    if now > expires_at:
        raise S3Error(
            "Request has expired",
            code="AccessDenied",
            status=403,
            extra={
                "X-Amz-Expires": str(expires_in),
                "Expires": utc.iso_seconds(expires_at),
                "ServerTime": utc.iso_seconds(now),
            },
        )
    if signed_at - now > max_skew:
        raise S3Error(
            "Request is not yet valid",
            code="AccessDenied",
            status=403,
            extra={
                "X-Amz-Date": amz_date,
                "Expires": utc.iso_seconds(expires_at),
                "ServerTime": utc.iso_seconds(now),
            },
        )
    signed_headers = tuple(params["X-Amz-SignedHeaders"].split(";"))
    header_values = _header_values(headers)
    for name in signed_headers:
        if name not in header_values:
            raise S3Error(
                f"{_SIGNATURE_MISMATCH} The request does not send the signed header '{name}';"
                " send every header listed with the presigned URL, with the same values.",
                code="SignatureDoesNotMatch",
                status=403,
                extra={"AWSAccessKeyId": scope.access_key, "MissingSignedHeader": name},
            )
    unsigned = sorted(
        n for n in header_values if n.startswith("x-amz-") and n not in signed_headers
    )
    if unsigned:
        raise S3Error(
            "There were headers present in the request which were not signed",
            code="AccessDenied",
            status=403,
            extra={"HeadersNotSigned": ", ".join(unsigned)},
        )
    canonical = canonical_request(method, raw_path, query, header_values, signed_headers)
    to_sign = string_to_sign(amz_date, scope.scope, canonical)
    expected = signature(signing_key(secret, scope.date, region, service), to_sign)
    if not hmac.compare_digest(expected, params["X-Amz-Signature"]):
        raise S3Error(
            _SIGNATURE_MISMATCH,
            code="SignatureDoesNotMatch",
            status=403,
            extra={
                "AWSAccessKeyId": scope.access_key,
                "StringToSign": to_sign,
                "SignatureProvided": params["X-Amz-Signature"],
                "CanonicalRequest": canonical,
            },
        )
    return PresignedAuth(scope.access_key, signed_headers, signed_at, expires_at)


def _check_given_once(query: Iterable[tuple[str, str]]) -> None:
    """400 for an authentication parameter given more than once, as S3 answers.

    The canonical query leaves out every ``X-Amz-Signature``, so a URL with a second one appended
    would still verify with the first: what was sent would not be what was verified.
    """
    counts = Counter(name for name, _ in query if name in _AUTH_PARAMS)
    repeated = [f"{name} ({counts[name]} times)" for name in _AUTH_PARAMS if counts[name] > 1]
    if repeated:
        raise S3Error(
            "Query-string authentication version 4 takes each X-Amz-* parameter once, but"
            f" the query repeats {', '.join(repeated)}; send the presigned URL as it was signed.",
            code="AuthorizationQueryParametersError",
            status=400,
        )


def _parse_expires(value: str) -> int:
    try:
        seconds = int(value)
    except ValueError:
        raise S3Error(
            f"X-Amz-Expires should be a number, got {value!r}.",
            code="AuthorizationQueryParametersError",
            status=400,
        ) from None
    if seconds < 1:
        raise S3Error(
            f"X-Amz-Expires must be between 1 and {MAX_EXPIRES} seconds, got {seconds}.",
            code="AuthorizationQueryParametersError",
            status=400,
        )
    if seconds > MAX_EXPIRES:
        raise S3Error(
            f"X-Amz-Expires must be less than a week (in seconds) that is {MAX_EXPIRES}",
            code="AuthorizationQueryParametersError",
            status=400,
        )
    return seconds


# ---- signing ----------------------------------------------------------------------------------


def presign_url(
    *,
    method: str,
    url: str,
    access_key: str,
    secret_key: str,
    region: str,
    now: datetime,
    expires_in: int,
    headers: Mapping[str, str] | None = None,
    service: str = "s3",
) -> str:
    """Presign ``url`` (path percent-encoded) at time ``now``, signing ``Host`` and ``headers``.

    The production presigner is botocore's (see ``presign.py``); this signer exists so tests and
    tools can sign at any moment (an expired or future URL) and cross-check botocore.
    """
    parts = urlsplit(url)
    amz_date = utc.amz_date(now)
    scope = CredentialScope(access_key, amz_date[:8], region, service)
    header_values = {"host": [parts.netloc]}
    for name, value in (headers or {}).items():
        header_values.setdefault(name.lower(), []).append(value)
    signed_headers = sorted(header_values)
    query = parse_query(parts.query)
    query += [
        ("X-Amz-Algorithm", ALGORITHM),
        ("X-Amz-Credential", f"{access_key}/{scope.scope}"),
        ("X-Amz-Date", amz_date),
        ("X-Amz-Expires", str(expires_in)),
        ("X-Amz-SignedHeaders", ";".join(signed_headers)),
    ]
    canonical = canonical_request(method, parts.path, query, header_values, signed_headers)
    sig = signature(
        signing_key(secret_key, scope.date, region, service),
        string_to_sign(amz_date, scope.scope, canonical),
    )
    query.append(("X-Amz-Signature", sig))
    raw_query = "&".join(f"{uri_encode(n)}={uri_encode(v)}" for n, v in query)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, raw_query, ""))
