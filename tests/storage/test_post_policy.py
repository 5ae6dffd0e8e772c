"""POST policy verification against AWS's documented browser-upload example and botocore."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import botocore.session
import pytest
from botocore.config import Config

from bakusoku.storage.errors import EntityTooLargeError, EntityTooSmallError, S3Error
from bakusoku.storage.post_policy import PostPolicy, verify_post_policy

# From the Amazon S3 API reference, "Example: Browser-Based Upload using HTTP POST (Using AWS
# Signature Version 4)": the base64 policy (CRLF line ends) and its documented signature.
DOC_POLICY = (
    "eyAiZXhwaXJhdGlvbiI6ICIyMDE1LTEyLTMwVDEyOjAwOjAwLjAwMFoiLA0KICAiY29uZGl0aW9ucyI6IFsNCiAgICB7"
    "ImJ1Y2tldCI6ICJzaWd2NGV4YW1wbGVidWNrZXQifSwNCiAgICBbInN0YXJ0cy13aXRoIiwgIiRrZXkiLCAidXNlci91"
    "c2VyMS8iXSwNCiAgICB7ImFjbCI6ICJwdWJsaWMtcmVhZCJ9LA0KICAgIHsic3VjY2Vzc19hY3Rpb25fcmVkaXJlY3Qi"
    "OiAiaHR0cDovL3NpZ3Y0ZXhhbXBsZWJ1Y2tldC5zMy5hbWF6b25hd3MuY29tL3N1Y2Nlc3NmdWxfdXBsb2FkLmh0bWwi"
    "fSwNCiAgICBbInN0YXJ0cy13aXRoIiwgIiRDb250ZW50LVR5cGUiLCAiaW1hZ2UvIl0sDQogICAgeyJ4LWFtei1tZXRh"
    "LXV1aWQiOiAiMTQzNjUxMjM2NTEyNzQifSwNCiAgICB7IngtYW16LXNlcnZlci1zaWRlLWVuY3J5cHRpb24iOiAiQUVT"
    "MjU2In0sDQogICAgWyJzdGFydHMtd2l0aCIsICIkeC1hbXotbWV0YS10YWciLCAiIl0sDQoNCiAgICB7IngtYW16LWNy"
    "ZWRlbnRpYWwiOiAiQUtJQUlPU0ZPRE5ON0VYQU1QTEUvMjAxNTEyMjkvdXMtZWFzdC0xL3MzL2F3czRfcmVxdWVzdCJ9"
    "LA0KICAgIHsieC1hbXotYWxnb3JpdGhtIjogIkFXUzQtSE1BQy1TSEEyNTYifSwNCiAgICB7IngtYW16LWRhdGUiOiAi"
    "MjAxNTEyMjlUMDAwMDAwWiIgfQ0KICBdDQp9"
)
DOC_SIGNATURE = "8afdbf4008c03f22c2cd3cdb72e4afbb1f6a588f3255ac628749a66d7f09699e"
DOC_CREDENTIALS = {"AKIAIOSFODNN7EXAMPLE": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}
DOC_BUCKET = "sigv4examplebucket"
DOC_FIELDS = {
    "key": "user/user1/${filename}",
    "acl": "public-read",
    "success_action_redirect": "http://sigv4examplebucket.s3.amazonaws.com/successful_upload.html",
    "Content-Type": "image/jpeg",
    "x-amz-meta-uuid": "14365123651274",
    "x-amz-server-side-encryption": "AES256",
    "X-Amz-Credential": "AKIAIOSFODNN7EXAMPLE/20151229/us-east-1/s3/aws4_request",
    "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
    "X-Amz-Date": "20151229T000000Z",
    "x-amz-meta-tag": "",
    "Policy": DOC_POLICY,
    "X-Amz-Signature": DOC_SIGNATURE,
}
DOC_NOW = datetime(2015, 12, 29, 10, tzinfo=UTC)


def _verify(
    fields: dict[str, str], now: datetime = DOC_NOW, filename: str = "MyPhoto.jpg"
) -> PostPolicy:
    return verify_post_policy(
        fields,
        bucket=DOC_BUCKET,
        credentials=DOC_CREDENTIALS,
        region="us-east-1",
        now=now,
        filename=filename,
    )


def test_documented_example_verifies_and_fills_in_the_filename() -> None:
    policy = _verify(DOC_FIELDS)
    assert policy.access_key == "AKIAIOSFODNN7EXAMPLE"
    assert policy.key == "user/user1/MyPhoto.jpg"
    assert policy.expiration == datetime(2015, 12, 30, 12, tzinfo=UTC)
    assert policy.max_size is None


def test_documented_example_expires() -> None:
    with pytest.raises(S3Error) as exc:
        _verify(DOC_FIELDS, now=datetime(2015, 12, 30, 12, tzinfo=UTC))
    assert (exc.value.code, exc.value.status) == ("AccessDenied", 403)
    assert "Policy expired" in exc.value.message


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("Policy", DOC_POLICY[:-4] + "fQ==", "SignatureDoesNotMatch"),
        ("X-Amz-Signature", "0" * 64, "SignatureDoesNotMatch"),
        ("key", "user/user2/${filename}", "AccessDenied"),
        ("Content-Type", "text/html", "AccessDenied"),
        ("acl", "private", "AccessDenied"),
        ("x-amz-meta-uuid", "1", "AccessDenied"),
    ],
)
def test_changed_fields_are_refused(field: str, value: str, code: str) -> None:
    with pytest.raises(S3Error) as exc:
        _verify({**DOC_FIELDS, field: value})
    assert exc.value.code == code


def test_field_not_in_policy_is_refused_and_x_ignore_fields_are_allowed() -> None:
    with pytest.raises(S3Error) as exc:
        _verify({**DOC_FIELDS, "x-amz-meta-owner": "mallory"})
    assert exc.value.code == "AccessDenied"
    assert "Extra input fields: x-amz-meta-owner" in exc.value.message
    _verify({**DOC_FIELDS, "x-ignore-client": "web"})


def test_wrong_bucket_is_refused() -> None:
    with pytest.raises(S3Error) as exc:
        verify_post_policy(
            DOC_FIELDS,
            bucket="otherbucket",
            credentials=DOC_CREDENTIALS,
            region="us-east-1",
            now=DOC_NOW,
        )
    assert exc.value.code == "AccessDenied"


@pytest.mark.parametrize("missing", ["key", "Policy", "X-Amz-Signature", "X-Amz-Credential"])
def test_missing_field_is_invalid_argument(missing: str) -> None:
    fields = {k: v for k, v in DOC_FIELDS.items() if k != missing}
    with pytest.raises(S3Error) as exc:
        _verify(fields)
    assert (exc.value.code, exc.value.status) == ("InvalidArgument", 400)


def test_unsigned_form_is_access_denied() -> None:
    with pytest.raises(S3Error) as exc:
        _verify({"key": "a.jpg"})
    assert (exc.value.code, exc.value.status) == ("AccessDenied", 403)


def test_unknown_access_key_is_refused() -> None:
    with pytest.raises(S3Error) as exc:
        verify_post_policy(
            DOC_FIELDS, bucket=DOC_BUCKET, credentials={}, region="us-east-1", now=DOC_NOW
        )
    assert (exc.value.code, exc.value.status) == ("InvalidAccessKeyId", 403)


def _botocore_post(max_size: int) -> dict[str, str]:
    client = botocore.session.get_session().create_client(
        "s3",
        region_name="us-east-1",
        endpoint_url="http://127.0.0.1:9000",
        aws_access_key_id="AKIDLOCAL",
        aws_secret_access_key="local-secret",
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )
    post = client.generate_presigned_post(
        "photos",
        "uploads/${filename}",
        Fields={"Content-Type": "image/jpeg"},
        Conditions=[{"Content-Type": "image/jpeg"}, ["content-length-range", 10, max_size]],
        ExpiresIn=600,
    )
    return dict(post["fields"])


def test_botocore_post_verifies_and_enforces_content_length_range() -> None:
    fields = _botocore_post(1000)
    policy = verify_post_policy(
        fields,
        bucket="photos",
        credentials={"AKIDLOCAL": "local-secret"},
        region="us-east-1",
        now=datetime.now(UTC),
        filename="cat.jpg",
    )
    assert policy.key == "uploads/cat.jpg"
    assert (policy.min_size, policy.max_size) == (10, 1000)
    policy.check_size(10)
    policy.check_size(1000)
    with pytest.raises(EntityTooLargeError) as large:
        policy.check_size(1001)
    assert (large.value.code, large.value.status) == ("EntityTooLarge", 400)
    with pytest.raises(EntityTooSmallError) as small:
        policy.check_size(9)
    assert (small.value.code, small.value.status) == ("EntityTooSmall", 400)


def test_botocore_post_expires() -> None:
    fields = _botocore_post(1000)
    policy = json.loads(base64.b64decode(fields["policy"]))
    expiration = datetime.fromisoformat(policy["expiration"])
    with pytest.raises(S3Error) as exc:
        verify_post_policy(
            fields,
            bucket="photos",
            credentials={"AKIDLOCAL": "local-secret"},
            region="us-east-1",
            now=expiration + timedelta(seconds=1),
        )
    assert exc.value.code == "AccessDenied"
