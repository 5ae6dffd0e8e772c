"""SigV4 presigned-URL verification against AWS's documented example, botocore and tampering."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import botocore.session
import pytest
from botocore.config import Config

from bakusoku.storage import sigv4
from bakusoku.storage.errors import S3Error

# From the Amazon S3 API reference, "Authenticating Requests: Using Query Parameters (AWS
# Signature Version 4)": GET https://examplebucket.s3.amazonaws.com/test.txt, valid 24 hours.
DOC_ACCESS_KEY = "AKIAIOSFODNN7EXAMPLE"
DOC_SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
DOC_TIME = datetime(2013, 5, 24, tzinfo=UTC)
DOC_SIGNATURE = "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
DOC_QUERY = (
    "X-Amz-Algorithm=AWS4-HMAC-SHA256"
    "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
    "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
    f"&X-Amz-Signature={DOC_SIGNATURE}"
)
DOC_HOST = "examplebucket.s3.amazonaws.com"
DOC_CREDENTIALS = {DOC_ACCESS_KEY: DOC_SECRET_KEY}

ACCESS_KEY = "AKIDLOCAL"
SECRET_KEY = "local-secret"
ENDPOINT = "http://127.0.0.1:9000"


def _verify_doc(
    *,
    method: str = "GET",
    path: str = "/test.txt",
    query: str = DOC_QUERY,
    headers: list[tuple[str, str]] | None = None,
    now: datetime = DOC_TIME + timedelta(hours=1),
    credentials: dict[str, str] | None = None,
    region: str = "us-east-1",
) -> sigv4.PresignedAuth:
    return sigv4.verify_presigned_request(
        method=method,
        raw_path=path,
        raw_query=query,
        headers=headers if headers is not None else [("Host", DOC_HOST)],
        credentials=credentials if credentials is not None else DOC_CREDENTIALS,
        region=region,
        now=now,
    )


def _code(exc: pytest.ExceptionInfo[S3Error]) -> tuple[str, int]:
    return exc.value.code, exc.value.status


def test_documented_example_signs_to_the_documented_signature() -> None:
    url = sigv4.presign_url(
        method="GET",
        url=f"https://{DOC_HOST}/test.txt",
        access_key=DOC_ACCESS_KEY,
        secret_key=DOC_SECRET_KEY,
        region="us-east-1",
        now=DOC_TIME,
        expires_in=86400,
    )
    assert url == f"https://{DOC_HOST}/test.txt?{DOC_QUERY}"


def test_documented_example_verifies() -> None:
    auth = _verify_doc()
    assert auth.access_key == DOC_ACCESS_KEY
    assert auth.signed_headers == ("host",)
    assert auth.expires_at == DOC_TIME + timedelta(days=1)


def test_documented_example_expires_after_a_day() -> None:
    _verify_doc(now=DOC_TIME + timedelta(seconds=86400))
    with pytest.raises(S3Error) as exc:
        _verify_doc(now=DOC_TIME + timedelta(seconds=86401))
    assert _code(exc) == ("AccessDenied", 403)
    assert exc.value.message == "Request has expired"


def test_request_dated_in_the_future_beyond_skew_is_refused() -> None:
    _verify_doc(now=DOC_TIME - timedelta(minutes=14))
    with pytest.raises(S3Error) as exc:
        _verify_doc(now=DOC_TIME - timedelta(minutes=16))
    assert _code(exc) == ("AccessDenied", 403)
    assert exc.value.message == "Request is not yet valid"


AUTH_PARAMS = (
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Signature",
    "X-Amz-Date",
    "X-Amz-SignedHeaders",
    "X-Amz-Expires",
)


@pytest.mark.parametrize("name", AUTH_PARAMS)
def test_each_missing_auth_parameter_is_a_query_parameters_error(name: str) -> None:
    query = "&".join(p for p in DOC_QUERY.split("&") if not p.startswith(name + "="))
    with pytest.raises(S3Error) as exc:
        _verify_doc(query=query)
    assert _code(exc) == ("AuthorizationQueryParametersError", 400)


@pytest.mark.parametrize("name", AUTH_PARAMS)
@pytest.mark.parametrize("where", ["after", "before"])
def test_an_auth_parameter_given_twice_is_a_query_parameters_error_naming_it(
    name: str, where: str
) -> None:
    (given,) = [p for p in DOC_QUERY.split("&") if p.startswith(name + "=")]
    for again in (given, f"{name}=0"):  # the same value, or another
        query = f"{DOC_QUERY}&{again}" if where == "after" else f"{again}&{DOC_QUERY}"
        with pytest.raises(S3Error) as exc:
            _verify_doc(query=query)
        assert _code(exc) == ("AuthorizationQueryParametersError", 400)
        assert f"{name} (2 times)" in exc.value.message, exc.value.message


@pytest.mark.parametrize(
    ("old", "new", "code", "status"),
    [
        ("AWS4-HMAC-SHA256", "AWS4-HMAC-SHA1", "AuthorizationQueryParametersError", 400),
        ("X-Amz-Expires=86400", "X-Amz-Expires=604801", "AuthorizationQueryParametersError", 400),
        ("X-Amz-Expires=86400", "X-Amz-Expires=0", "AuthorizationQueryParametersError", 400),
        ("X-Amz-Expires=86400", "X-Amz-Expires=soon", "AuthorizationQueryParametersError", 400),
        ("20130524T000000Z", "2013-05-24T00:00Z", "AuthorizationQueryParametersError", 400),
        ("%2Fus-east-1%2F", "%2Fus-west-2%2F", "AuthorizationQueryParametersError", 400),
        ("%2Fs3%2F", "%2Fsqs%2F", "AuthorizationQueryParametersError", 400),
        ("%2F20130524%2F", "%2F20130523%2F", "AuthorizationQueryParametersError", 400),
        ("AKIAIOSFODNN7EXAMPLE%2F", "AKIAUNKNOWN%2F", "InvalidAccessKeyId", 403),
    ],
)
def test_bad_parameters_are_refused_with_s3_codes(
    old: str, new: str, code: str, status: int
) -> None:
    assert old in DOC_QUERY
    with pytest.raises(S3Error) as exc:
        _verify_doc(query=DOC_QUERY.replace(old, new))
    assert _code(exc) == (code, status)


@pytest.mark.parametrize(
    ("change", "kwargs"),
    [
        ("path", {"path": "/test.txu"}),
        ("method", {"method": "PUT"}),
        ("host", {"headers": [("Host", "otherbucket.s3.amazonaws.com")]}),
        ("query", {"query": DOC_QUERY + "&versionId=1"}),
        ("signature", {"query": DOC_QUERY.replace("aeeed9bb", "aeeed9bc")}),
        ("secret", {"credentials": {DOC_ACCESS_KEY: "not-the-secret"}}),
    ],
)
def test_any_tampering_fails_signature_check(change: str, kwargs: dict[str, object]) -> None:
    with pytest.raises(S3Error) as exc:
        _verify_doc(**kwargs)  # type: ignore[arg-type]
    assert _code(exc) == ("SignatureDoesNotMatch", 403), change


def test_signature_mismatch_reports_canonical_request_like_s3() -> None:
    with pytest.raises(S3Error) as exc:
        _verify_doc(path="/other.txt")
    assert exc.value.extra["CanonicalRequest"].startswith("GET\n/other.txt\n")
    assert exc.value.extra["StringToSign"].startswith("AWS4-HMAC-SHA256\n20130524T000000Z\n")


def test_missing_signed_header_is_signature_does_not_match_naming_it() -> None:
    with pytest.raises(S3Error) as exc:
        _verify_doc(headers=[])
    assert _code(exc) == ("SignatureDoesNotMatch", 403)
    assert exc.value.extra["MissingSignedHeader"] == "host"


def test_unsigned_amz_header_is_access_denied() -> None:
    with pytest.raises(S3Error) as exc:
        _verify_doc(headers=[("Host", DOC_HOST), ("x-amz-meta-extra", "1")])
    assert _code(exc) == ("AccessDenied", 403)
    assert exc.value.extra["HeadersNotSigned"] == "x-amz-meta-extra"


def test_unsigned_ordinary_headers_are_ignored_as_on_s3() -> None:
    _verify_doc(headers=[("Host", DOC_HOST), ("User-Agent", "curl/8"), ("Accept", "*/*")])


# ---- botocore-generated URLs -------------------------------------------------------------------


@pytest.fixture(scope="module")
def s3_client() -> object:
    return botocore.session.get_session().create_client(
        "s3",
        region_name="us-east-1",
        endpoint_url=ENDPOINT,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )


def _verify_url(
    url: str, method: str, headers: dict[str, str] | None = None, now: datetime | None = None
) -> sigv4.PresignedAuth:
    parts = urlsplit(url)
    return sigv4.verify_presigned_request(
        method=method,
        raw_path=parts.path,
        raw_query=parts.query,
        headers=[("Host", parts.netloc), *(headers or {}).items()],
        credentials={ACCESS_KEY: SECRET_KEY},
        region="us-east-1",
        now=now or datetime.now(UTC),
    )


KEYS = [
    "uploads/plain.jpg",
    "uploads/red flower.jpg",
    "uploads/a+b=c&d.jpg",
    "uploads/日本語/写真.jpg",
    "uploads/~tilde!bang'quote(paren)*star.jpg",
    "uploads/percent%20literal.jpg",
    "uploads/semi;colon,comma:colon@at$dollar.jpg",
]


@pytest.mark.parametrize("key", KEYS)
def test_botocore_presigned_get_verifies(s3_client: object, key: str) -> None:
    url = s3_client.generate_presigned_url(  # type: ignore[attr-defined]
        "get_object",
        Params={
            "Bucket": "photos",
            "Key": key,
            "ResponseContentDisposition": 'attachment; filename="a b.jpg"',
        },
        ExpiresIn=600,
    )
    assert _verify_url(url, "GET").signed_headers == ("host",)


@pytest.mark.parametrize("key", KEYS)
def test_botocore_presigned_put_with_signed_headers_verifies(s3_client: object, key: str) -> None:
    url = s3_client.generate_presigned_url(  # type: ignore[attr-defined]
        "put_object",
        Params={
            "Bucket": "photos",
            "Key": key,
            "ContentType": "image/jpeg",
            "ContentLength": 1234,
            "IfNoneMatch": "*",
            "Metadata": {"upload-id": "abc"},
        },
        ExpiresIn=600,
    )
    headers = {
        "Content-Type": "image/jpeg",
        "Content-Length": "1234",
        "If-None-Match": "*",
        "x-amz-meta-upload-id": "abc",
    }
    auth = _verify_url(url, "PUT", headers)
    assert set(auth.signed_headers) == {
        "content-length",
        "content-type",
        "host",
        "if-none-match",
        "x-amz-meta-upload-id",
    }
    for name, other in [
        ("Content-Type", "text/html"),
        ("Content-Length", "1235"),
        ("x-amz-meta-upload-id", "abd"),
    ]:
        with pytest.raises(S3Error) as exc:
            _verify_url(url, "PUT", {**headers, name: other})
        assert exc.value.code == "SignatureDoesNotMatch"


def test_our_signer_and_botocore_agree(s3_client: object) -> None:
    """Both produce URLs the verifier accepts for the same request, and the same canonical form."""
    key = "uploads/red flower+1.jpg"
    ours = sigv4.presign_url(
        method="PUT",
        url=f"{ENDPOINT}/photos/{sigv4.uri_encode(key, keep_slash=True)}",
        access_key=ACCESS_KEY,
        secret_key=SECRET_KEY,
        region="us-east-1",
        now=datetime.now(UTC),
        expires_in=600,
        headers={"Content-Type": "image/jpeg"},
    )
    theirs = s3_client.generate_presigned_url(  # type: ignore[attr-defined]
        "put_object",
        Params={"Bucket": "photos", "Key": key, "ContentType": "image/jpeg"},
        ExpiresIn=600,
    )
    assert urlsplit(ours).path == urlsplit(theirs).path
    _verify_url(ours, "PUT", {"Content-Type": "image/jpeg"})
    _verify_url(theirs, "PUT", {"Content-Type": "image/jpeg"})


def test_path_decoding_is_not_double_encoding() -> None:
    # A client that leaves '!' unescaped or escapes '~' signs the same canonical URI as botocore.
    assert sigv4.canonical_uri("/b/a%20b!~.jpg") == "/b/a%20b%21~.jpg"
    assert sigv4.canonical_uri("/b/a%20b%21%7E.jpg") == "/b/a%20b%21~.jpg"
    assert sigv4.canonical_uri("/b/100%25.jpg") == "/b/100%25.jpg"


def test_canonical_query_sorts_and_drops_signature() -> None:
    pairs = sigv4.parse_query("b=2&a=1&X-Amz-Signature=abc&a=0&empty")
    assert sigv4.canonical_query_string(pairs) == "a=0&a=1&b=2&empty="
