"""Presigned S3 requests (PUT, POST form, GET) from one reused botocore client, for any endpoint."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import botocore.session
from botocore.config import Config

from bakusoku.storage.errors import StorageError
from bakusoku.storage.keys import check_metadata
from bakusoku.storage.sigv4 import MAX_EXPIRES
from bakusoku.utc import parse_amz_date


@dataclass(frozen=True)
class PresignedRequest:
    """Everything a client needs to upload or download without credentials.

    For ``PUT``: send exactly ``headers`` (no more ``x-amz-*`` headers) with the body to ``url``.
    For ``POST``: send a multipart form to ``url`` with ``fields`` first and the file field last.
    """

    method: str
    url: str
    expires_at: datetime
    headers: dict[str, str] = field(default_factory=dict)
    fields: dict[str, str] = field(default_factory=dict)


class Presigner:
    """Presigns S3 requests with SigV4 for the local store or Amazon S3 alike.

    One botocore client is built up front and reused: building a client takes tens of
    milliseconds, presigning with it a few hundred microseconds and no network. ``endpoint_url``
    ``None`` means Amazon S3 itself; URLs are path-style either way.
    """

    def __init__(
        self,
        endpoint_url: str | None,
        region: str,
        access_key: str,
        secret_key: str,
    ) -> None:
        session = botocore.session.get_session()
        self.region = region
        self._client: Any = session.create_client(
            "s3",
            region_name=region,
            endpoint_url=endpoint_url,
            aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
            config=Config(
                signature_version="s3v4",
                s3={"addressing_style": "path"},
                retries={"max_attempts": 0},
            ),
        )

    def presign_put(
        self,
        bucket: str,
        key: str,
        *,
        content_type: str,
        content_length: int,
        expires_in: int,
        metadata: Mapping[str, str] | None = None,
    ) -> PresignedRequest:
        """A PUT URL signing ``Content-Type``, exact ``Content-Length`` and ``If-None-Match: *``.

        The client must send ``headers`` as given: S3 then stores exactly that many bytes of that
        type, and never over an existing object (412 ``PreconditionFailed`` instead).
        """
        _check_expiry(expires_in)
        if content_length < 0:
            raise StorageError(f"content_length must be >= 0, got {content_length}.")
        meta = check_metadata(metadata)
        params: dict[str, Any] = {
            "Bucket": bucket,
            "Key": key,
            "ContentType": content_type,
            "ContentLength": content_length,
            "IfNoneMatch": "*",
        }
        if meta:
            params["Metadata"] = meta
        url = self._client.generate_presigned_url(
            "put_object", Params=params, ExpiresIn=expires_in, HttpMethod="PUT"
        )
        headers = {
            "Content-Type": content_type,
            "Content-Length": str(content_length),
            "If-None-Match": "*",
        }
        headers.update({f"x-amz-meta-{name}": value for name, value in meta.items()})
        return PresignedRequest("PUT", url, _expires_at(url, expires_in), headers=headers)

    def presign_post(
        self,
        bucket: str,
        key: str,
        *,
        content_type: str,
        max_size: int,
        expires_in: int,
        min_size: int = 1,
        success_action_status: int | None = None,
    ) -> PresignedRequest:
        """A browser form upload whose policy pins ``key`` and ``Content-Type`` and caps the size.

        S3 rejects a body outside ``min_size..max_size`` with 400 ``EntityTooLarge`` or
        ``EntityTooSmall`` and stores nothing: unlike a presigned PUT, a POST policy bounds the
        size.
        """
        _check_expiry(expires_in)
        if not 0 <= min_size <= max_size:
            raise StorageError(f"Need 0 <= min_size <= max_size, got {min_size}, {max_size}.")
        fields: dict[str, str] = {"Content-Type": content_type}
        conditions: list[Any] = [
            {"Content-Type": content_type},
            ["content-length-range", min_size, max_size],
        ]
        if success_action_status is not None:
            fields["success_action_status"] = str(success_action_status)
            conditions.append({"success_action_status": str(success_action_status)})
        post = self._client.generate_presigned_post(
            bucket, key, Fields=fields, Conditions=conditions, ExpiresIn=expires_in
        )
        signed_at = parse_amz_date(post["fields"]["x-amz-date"])
        expires_at = signed_at + timedelta(seconds=expires_in)
        return PresignedRequest(
            "POST", post["url"], expires_at, fields={k: str(v) for k, v in post["fields"].items()}
        )

    def presign_get(
        self,
        bucket: str,
        key: str,
        expires_in: int,
        response_content_type: str | None = None,
        response_content_disposition: str | None = None,
    ) -> str:
        """A GET URL; the optional overrides set the response's Content-Type/-Disposition."""
        _check_expiry(expires_in)
        params: dict[str, Any] = {"Bucket": bucket, "Key": key}
        if response_content_type is not None:
            params["ResponseContentType"] = response_content_type
        if response_content_disposition is not None:
            params["ResponseContentDisposition"] = response_content_disposition
        url: str = self._client.generate_presigned_url(
            "get_object", Params=params, ExpiresIn=expires_in, HttpMethod="GET"
        )
        return url


def _check_expiry(expires_in: int) -> None:
    if not 1 <= expires_in <= MAX_EXPIRES:
        raise StorageError(
            f"expires_in must be 1..{MAX_EXPIRES} seconds (SigV4 allows at most 7 days),"
            f" got {expires_in}."
        )


def _expires_at(url: str, expires_in: int) -> datetime:
    # botocore picks the signing time itself; read it back so expires_at matches the URL exactly.
    start = url.index("X-Amz-Date=") + len("X-Amz-Date=")
    signed_at = parse_amz_date(url[start : start + 16])
    return signed_at + timedelta(seconds=expires_in)
