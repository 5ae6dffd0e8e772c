"""What every bucket the templates declare has: encryption at rest, no public access."""

from __future__ import annotations

from typing import Any


def private_bucket_properties() -> dict[str, Any]:
    """The ``AWS::S3::Bucket`` properties that keep a bucket private and encrypted (SSE-S3).

    A new dict each call: the caller adds its own properties to it.
    """
    return {
        "BucketEncryption": {
            "ServerSideEncryptionConfiguration": [
                {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
            ]
        },
        "PublicAccessBlockConfiguration": {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        },
    }
