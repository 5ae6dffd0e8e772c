"""Bucket-name, object-key and user-metadata rules: S3's own, plus what makes a key a safe path."""

from __future__ import annotations

import re
from collections.abc import Mapping

from bakusoku.storage.errors import InvalidBucketNameError, InvalidKeyError, S3Error

MAX_KEY_BYTES = 1024  # S3's limit on the UTF-8 encoded key
MAX_USER_METADATA_BYTES = 2048  # S3's limit on x-amz-meta-* names plus values
MAX_SEGMENT_BYTES = 255  # NAME_MAX on Linux file systems: one key segment becomes one file name

_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_IPV4_RE = re.compile(r"^\d{1,3}(\.\d{1,3}){3}$")
_META_NAME_RE = re.compile(r"^[a-z0-9!#$%&'*+.^_`|~-]+$")


def check_bucket(bucket: str) -> str:
    """Return ``bucket`` if it follows S3's general-purpose bucket naming rules, else raise."""
    if (
        not _BUCKET_RE.match(bucket)
        or ".." in bucket
        or ".-" in bucket
        or "-." in bucket
        or _IPV4_RE.match(bucket)
    ):
        raise InvalidBucketNameError(
            f"The specified bucket is not valid: {bucket!r}. Use 3-63 lowercase letters, digits,"
            " dots and hyphens, starting and ending with a letter or digit.",
            extra={"BucketName": bucket},
        )
    return bucket


def check_key(key: str) -> str:
    """Return ``key`` if it can be stored as a file path under the bucket directory, else raise.

    S3 accepts any UTF-8 key up to 1024 bytes; the local store also refuses keys that could escape
    the bucket directory or that no file system can hold (``..`` or ``.`` segments, a leading ``/``,
    empty segments, a trailing ``/``, NUL, a segment over 255 bytes).
    """
    if not key:
        raise InvalidKeyError(
            "The object key is empty; give a non-empty key such as 'uploads/a.jpg'."
        )
    encoded = key.encode("utf-8", "surrogatepass")
    if len(encoded) > MAX_KEY_BYTES:
        raise InvalidKeyError(
            f"Your key is too long: {len(encoded)} bytes; S3 keys are at most {MAX_KEY_BYTES} bytes"
            " of UTF-8.",
            code="KeyTooLongError",
            extra={"Size": str(len(encoded)), "MaxSizeAllowed": str(MAX_KEY_BYTES)},
        )
    if "\x00" in key:
        raise InvalidKeyError("The object key contains a NUL character; remove it.")
    if key.startswith("/"):
        raise InvalidKeyError(
            f"The object key {key!r} starts with '/'; keys are relative, e.g. 'uploads/a.jpg'."
        )
    for segment in key.split("/"):
        if segment in ("", ".", ".."):
            raise InvalidKeyError(
                f"The object key {key!r} has an empty, '.' or '..' segment (or ends with '/');"
                " the local store keeps keys as file paths, so use plain names between slashes."
            )
        if len(segment.encode("utf-8", "surrogatepass")) > MAX_SEGMENT_BYTES:
            raise InvalidKeyError(
                f"A segment of the object key {key!r} is longer than {MAX_SEGMENT_BYTES} bytes;"
                " split it with '/'."
            )
    try:
        key.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidKeyError(f"The object key {key!r} is not valid UTF-8.") from exc
    return key


def check_metadata(metadata: Mapping[str, str] | None) -> dict[str, str]:
    """Normalise user metadata (lower-case names without ``x-amz-meta-``); check S3's rules."""
    clean: dict[str, str] = {}
    for raw_name, value in (metadata or {}).items():
        name = raw_name.lower().removeprefix("x-amz-meta-")
        if not _META_NAME_RE.match(name):
            raise S3Error(
                f"Metadata name {raw_name!r} is not a valid HTTP header name; use letters, digits"
                " and '-'.",
                code="InvalidArgument",
                status=400,
            )
        if not value.isascii() or "\r" in value or "\n" in value:
            raise S3Error(
                f"Metadata value for {raw_name!r} must be printable ASCII on one line;"
                " percent-encode other text.",
                code="InvalidArgument",
                status=400,
            )
        clean[name] = value
    total = sum(len(n) + len(v) for n, v in clean.items())
    if total > MAX_USER_METADATA_BYTES:
        raise S3Error(
            f"Your metadata headers exceed the maximum allowed metadata size: {total} bytes, limit"
            f" {MAX_USER_METADATA_BYTES}.",
            code="MetadataTooLarge",
            status=400,
            extra={"Size": str(total), "MaxSizeAllowed": str(MAX_USER_METADATA_BYTES)},
        )
    return clean
