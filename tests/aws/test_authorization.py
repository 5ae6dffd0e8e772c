"""Recorded calls as the IAM requests AWS authorizes them as (no I/O)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.aws.authorization import UnmappedCallError, _document, request_for, requests_for


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


def test_rekognition_calls_are_authorized_on_their_collection() -> None:
    search = call("rekognition", "SearchFaces", CollectionId="p.s.a", FaceId="x")
    [request] = requests_for({**search, "region": "ap-northeast-1"})
    assert (request.action, request.resource) == (
        "rekognition:SearchFaces",
        "arn:aws:rekognition:ap-northeast-1:123456789012:collection/p.s.a",
    )


def test_creating_a_tagged_collection_is_the_action_on_star_and_tag_resource_on_it() -> None:
    create = call("rekognition", "CreateCollection", CollectionId="p.s.a", Tags={"k": "p."})
    action, tagging = requests_for({**create, "region": "ap-northeast-1"})
    assert (action.action, action.resource) == ("rekognition:CreateCollection", "*")
    assert (tagging.action, tagging.resource) == (
        "rekognition:TagResource",
        "arn:aws:rekognition:ap-northeast-1:123456789012:collection/p.s.a",
    )
    for request in (action, tagging):
        assert request.context["aws:RequestTag/k"] == "p."
        assert request.context["aws:TagKeys"] == ["k"]
    untagged = call("rekognition", "CreateCollection", CollectionId="p.s.a")
    assert len(requests_for({**untagged, "region": "ap-northeast-1"})) == 1


def test_a_call_without_a_mapping_is_refused() -> None:
    with pytest.raises(UnmappedCallError, match="s3 PutBucketPolicy"):
        request_for(call("s3", "PutBucketPolicy", Bucket="b"))


def test_policy_documents_are_read_as_json_or_as_moto_keeps_them() -> None:
    statement = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}
    expected = {"Version": "2012-10-17", "Statement": [statement]}
    assert _document(json.dumps(expected)) == expected
    assert _document(str(expected)) == expected
    assert _document(expected) == expected
