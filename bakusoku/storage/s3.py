"""The object store on Amazon S3 (boto3): the :class:`~bakusoku.storage.base.ObjectStore` port.

The pipeline's handlers use whichever store the settings pick (``object_store: s3`` on AWS). Errors
keep S3's codes as the local store raises them: ``NoSuchKey`` is :class:`ObjectNotFoundError`,
``NoSuchBucket`` :class:`BucketNotFoundError`, a refused ``If-None-Match: *``
:class:`ObjectExistsError`; throttling (``SlowDown``), S3's own failures (5xx) and an endpoint that
cannot be reached or does not answer in time are :class:`StorageUnavailableError`, once botocore's
own retries are spent. The endpoint comes from boto3's usual configuration (``AWS_ENDPOINT_URL_S3``
points it at an S3-compatible server), credentials from the default chain (the Lambda role).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import botocore.session
from botocore.config import Config
from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotocoreConnectionError

from bakusoku.storage.base import DEFAULT_CONTENT_TYPE, ObjectBody, ObjectInfo, body_chunks
from bakusoku.storage.errors import (
    BucketNotFoundError,
    EntityTooLargeError,
    ObjectExistsError,
    ObjectNotFoundError,
    S3Error,
    StorageError,
    StorageUnavailableError,
)
from bakusoku.storage.keys import check_bucket, check_key, check_metadata
from bakusoku.storage.presign import Presigner

_NOT_FOUND = {"NoSuchKey", "404", "NotFound"}
# Answers that mean "not now" rather than "not this request": throttling, S3's own failures (any
# 5xx is one too) and RequestTimeout, S3's 400 for a request body that stopped arriving.
_UNAVAILABLE = {"SlowDown", "ServiceUnavailable", "InternalError", "RequestTimeout"}
# What botocore raises when no answer arrives: refused, dropped or timed-out connections, TLS.
_UNREACHABLE = (BotocoreConnectionError, HTTPClientError)


def s3_client(region: str, endpoint_url: str | None = None) -> Any:
    """A botocore S3 client with the default credential chain, SigV4 and path-style URLs."""
    session = botocore.session.get_session()
    return session.create_client(
        "s3",
        region_name=region,
        endpoint_url=endpoint_url,
        config=Config(
            signature_version="s3v4",
            s3={"addressing_style": "path"},
            retries={"max_attempts": 5, "mode": "standard"},
        ),
    )


class S3Presigner(Presigner):
    """Presigns with the default credential chain, session token included (Lambda roles)."""

    def __init__(self, region: str, endpoint_url: str | None = None) -> None:
        self.region = region
        self._client = s3_client(region, endpoint_url)


class S3ObjectStore:
    """Objects in Amazon S3 buckets, read and written through one reused client."""

    def __init__(self, region: str, endpoint_url: str | None = None, client: Any = None) -> None:
        self.region = region
        self._client = client if client is not None else s3_client(region, endpoint_url)

    # ---- buckets -------------------------------------------------------------------------------

    def create_bucket(self, bucket: str) -> None:
        """Create ``bucket`` if this account does not own it yet."""
        params: dict[str, Any] = {"Bucket": check_bucket(bucket)}
        if self.region != "us-east-1":
            params["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
        with _s3_errors(bucket, ""):
            try:
                self._client.create_bucket(**params)
            except ClientError as exc:
                if _code(exc) != "BucketAlreadyOwnedByYou":
                    raise

    def bucket_exists(self, bucket: str) -> bool:
        with _s3_errors(bucket, ""):
            try:
                self._client.head_bucket(Bucket=check_bucket(bucket))
            except ClientError as exc:
                if _code(exc) in {"404", "NoSuchBucket", "NotFound"}:
                    return False
                raise
        return True

    # ---- objects -------------------------------------------------------------------------------

    def put_object(
        self,
        bucket: str,
        key: str,
        body: ObjectBody,
        *,
        content_type: str,
        metadata: Mapping[str, str] | None = None,
        if_none_match: bool = False,
        max_size: int | None = None,
    ) -> ObjectInfo:
        """PutObject; ``if_none_match`` sends ``If-None-Match: *``, ``max_size`` caps the body."""
        data = _read_capped(body, max_size)
        meta = check_metadata(metadata)
        params: dict[str, Any] = {
            "Bucket": bucket,
            "Key": check_key(key),
            "Body": data,
            "ContentType": content_type or DEFAULT_CONTENT_TYPE,
        }
        if meta:
            params["Metadata"] = meta
        if if_none_match:
            params["IfNoneMatch"] = "*"
        with _s3_errors(bucket, key):
            answer = self._client.put_object(**params)
        # Described from PutObject's own answer: a HeadObject here would need s3:GetObject, which
        # a role that may only write (MakeRenditions' on renditions/) does not have.
        return ObjectInfo(
            bucket=bucket,
            key=key,
            size=len(data),
            etag=str(answer["ETag"]),
            content_type=params["ContentType"],
            last_modified=_answered_at(answer),
            metadata=dict(meta or {}),
        )

    def get_object(self, bucket: str, key: str) -> bytes:
        """The object's bytes, or :class:`ObjectNotFoundError`."""
        return self.read_object(bucket, key)[0]

    def read_object(self, bucket: str, key: str) -> tuple[bytes, ObjectInfo]:
        """The object's bytes and the info of those very bytes, in one GET."""
        with _s3_errors(bucket, key):
            response = self._client.get_object(Bucket=bucket, Key=key)
            with response["Body"] as stream:
                data: bytes = stream.read()
        return data, _object_info(bucket, key, response)

    def head_object(self, bucket: str, key: str) -> ObjectInfo:
        """The object's info, or :class:`ObjectNotFoundError`."""
        with _s3_errors(bucket, key):
            head = self._client.head_object(Bucket=bucket, Key=key)
        return _object_info(bucket, key, head)

    def list_objects(self, bucket: str, prefix: str = "") -> list[ObjectInfo]:
        """Objects under ``prefix`` in key order, each with its type and metadata (one HEAD each).

        Meant for the small prefixes of one photo's renditions, as the local store's listing is.
        """
        keys: list[str] = []
        paginator = self._client.get_paginator("list_objects_v2")
        with _s3_errors(bucket, prefix):
            for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
                keys.extend(item["Key"] for item in page.get("Contents", []))
        found = []
        for key in keys:
            try:
                found.append(self.head_object(bucket, key))
            except ObjectNotFoundError:
                continue  # deleted between the listing and the HEAD
        return found

    def delete_object(self, bucket: str, key: str) -> None:
        """DeleteObject; like S3, deleting a missing key is not an error."""
        with _s3_errors(bucket, key):
            self._client.delete_object(Bucket=bucket, Key=key)


def _read_capped(body: ObjectBody, max_size: int | None) -> bytes:
    parts: list[bytes] = []
    size = 0
    for chunk in body_chunks(body):
        chunk = bytes(chunk)  # (an iterator may refill its buffer for the next chunk)
        size += len(chunk)
        if max_size is not None and size > max_size:
            raise EntityTooLargeError(
                "Your proposed upload exceeds the maximum allowed size",
                extra={"ProposedSize": str(size), "MaxSizeAllowed": str(max_size)},
            )
        parts.append(chunk)
    return b"".join(parts)


@contextmanager
def _s3_errors(bucket: str, key: str) -> Iterator[None]:
    """Raise the store's typed errors for what botocore raises inside the block."""
    try:
        yield
    except ClientError as exc:
        raise _translate(exc, bucket, key) from exc
    except _UNREACHABLE as exc:
        raise StorageUnavailableError(
            f"S3 could not be reached for {bucket}/{key} ({type(exc).__name__}: {exc}); check the"
            " endpoint and the network, then try again.",
            reason=type(exc).__name__,
        ) from exc


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _translate(exc: ClientError, bucket: str, key: str) -> StorageError:
    code = _code(exc)
    message = str(exc.response.get("Error", {}).get("Message") or exc)
    status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 500)
    if code == "NoSuchBucket":
        return BucketNotFoundError(
            f"The specified bucket does not exist: {bucket!r}.", extra={"BucketName": bucket}
        )
    if code in _NOT_FOUND:
        return ObjectNotFoundError(
            f"The specified key does not exist: {bucket}/{key}.", extra={"Key": key}
        )
    if code == "PreconditionFailed":
        return ObjectExistsError(
            f"The object {bucket}/{key} already exists and If-None-Match: * forbids overwriting it.",
            extra={"Condition": "If-None-Match"},
        )
    if code in _UNAVAILABLE or status >= 500:
        return StorageUnavailableError(
            f"S3 could not serve the request for {bucket}/{key} ({code}, HTTP {status}: {message});"
            " it is throttling or unavailable, try again later.",
            reason=code,
            status=status,
        )
    return S3Error(
        f"S3 refused the request for {bucket}/{key}: {message}", code=code, status=status
    )


def _answered_at(answer: dict[str, Any]) -> datetime:
    """When S3 answered (its ``Date`` header): the stored object's Last-Modified, to the second."""
    date = answer.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get("date")
    try:
        return parsedate_to_datetime(date).astimezone(UTC)
    except (TypeError, ValueError):
        return datetime.now(UTC).replace(microsecond=0)


def _object_info(bucket: str, key: str, response: dict[str, Any]) -> ObjectInfo:
    """ObjectInfo from the headers of a HEAD or GET response."""
    return ObjectInfo(
        bucket=bucket,
        key=key,
        size=int(response["ContentLength"]),
        etag=str(response["ETag"]),
        content_type=str(response.get("ContentType") or DEFAULT_CONTENT_TYPE),
        last_modified=response["LastModified"].astimezone(UTC),
        metadata=dict(response.get("Metadata") or {}),
    )
