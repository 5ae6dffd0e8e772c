"""Recorded calls as the IAM requests AWS authorizes them as (no I/O)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.aws.authorization import UnmappedCallError, _document, request_for


def call(service: str, operation: str, **params: Any) -> dict[str, Any]:
    return {"function": "f", "service": service, "operation": operation, "params": params}


def test_head_object_is_authorized_as_get_object() -> None:
    request = request_for(call("s3", "HeadObject", Bucket="b", Key="renditions/a/thumb.jpg"))
    assert (request.action, request.resource) == (
        "s3:GetObject",
        "arn:aws:s3:::b/renditions/a/thumb.jpg",
    )


def test_listing_is_list_bucket_on_the_bucket_with_its_prefix() -> None:
    request = request_for(call("s3", "ListObjectsV2", Bucket="b", Prefix="uploads/a/"))
    assert (request.action, request.resource) == ("s3:ListBucket", "arn:aws:s3:::b")
    assert request.context["s3:prefix"] == "uploads/a/"
    assert "s3:prefix" not in request_for(call("s3", "ListObjectsV2", Bucket="b")).context


def test_a_call_without_a_mapping_is_refused() -> None:
    with pytest.raises(UnmappedCallError, match="s3 PutBucketPolicy"):
        request_for(call("s3", "PutBucketPolicy", Bucket="b"))


def test_policy_documents_are_read_as_json_or_as_moto_keeps_them() -> None:
    statement = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}
    expected = {"Version": "2012-10-17", "Statement": [statement]}
    assert _document(json.dumps(expected)) == expected
    assert _document(str(expected)) == expected
    assert _document(expected) == expected
