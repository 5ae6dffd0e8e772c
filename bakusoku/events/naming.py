"""execution_name: one deterministic Step Functions execution name per uploaded object version."""

from __future__ import annotations

import hashlib
import re

MAX_NAME_LENGTH = 80
# 160 bits of SHA-256: collisions are out of reach for any number of uploads.
_DIGEST_HEX = 40
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


def execution_name(bucket: str, key: str, etag: str | None) -> str:
    """A stable name for the execution that processes this object, e.g. ``IMG_0001-jpg-3f2a...``.

    The same (bucket, key, etag) always gives the same name, so a duplicated event (S3,
    EventBridge and SQS all deliver at least once) finds the execution already started instead of
    starting a second one. The readable prefix is the key's last segment; the digest covers all
    three values. The result is 1-80 characters of ``[A-Za-z0-9_-]``, which Step Functions
    accepts and CloudWatch logs keep intact.
    """
    normalised_etag = (etag or "").strip().strip('"')
    material = "\0".join((bucket, key, normalised_etag)).encode()
    digest = hashlib.sha256(material).hexdigest()[:_DIGEST_HEX]
    basename = key.rstrip("/").rsplit("/", 1)[-1]
    prefix = _UNSAFE.sub("-", basename).strip("-_")[: MAX_NAME_LENGTH - _DIGEST_HEX - 1]
    prefix = prefix.rstrip("-_") or "object"
    return f"{prefix}-{digest}"
