"""Every bucket of every stack is private and encrypted at rest."""

from __future__ import annotations

import pytest

from bakusoku.deploy.buckets import private_bucket_properties
from bakusoku.deploy.sam import build_template
from bakusoku.deploy.stages import load_stage
from tests.deploy.conftest import CASES, example_settings


@pytest.mark.parametrize("case", CASES, ids=["/".join(c) for c in CASES])
def test_every_bucket_blocks_public_access_and_encrypts(case: tuple[str, str]) -> None:
    stage = load_stage(example_settings(), *case, environ={})
    buckets = [
        resource
        for resource in build_template(stage)["Resources"].values()
        if resource["Type"] == "AWS::S3::Bucket"
    ]
    assert buckets
    for bucket in buckets:
        properties = bucket["Properties"]
        assert properties["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        }
        assert properties["BucketEncryption"] == private_bucket_properties()["BucketEncryption"]


def test_each_call_gives_a_fresh_dict() -> None:
    first = private_bucket_properties()
    first["Tags"] = []
    assert "Tags" not in private_bucket_properties()
