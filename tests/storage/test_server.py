"""The local S3 endpoint over real HTTP: presigned PUT/POST/GET, refusals, events and CORS."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import re
import socket
import subprocess
import sys
import threading
import time
import uuid
import zlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from bakusoku.storage import sigv4
from bakusoku.storage.errors import StorageUnavailableError
from bakusoku.storage.local import LocalObjectStore
from bakusoku.storage.notifications import encode_event_key
from bakusoku.storage.presign import PresignedRequest, Presigner
from bakusoku.storage.server import create_store_app

from .conftest import (
    ACCESS_KEY,
    BUCKET,
    CREDENTIALS,
    DEFAULT_LIMITS,
    MAX_OBJECT_SIZE,
    REGION,
    SECRET_KEY,
    RunningStore,
    ThreadedServer,
)

pytestmark = pytest.mark.integration


def _key(name: str = "photo.jpg") -> str:
    return f"uploads/album 1/{uuid.uuid4().hex}/{name}"


def _curl_put(url: str, headers: dict[str, str], path: Path) -> tuple[int, str, str]:
    """PUT a file with curl exactly as a client script would; returns (status, headers, body)."""
    command = ["curl", "-sS", "-X", "PUT", "--data-binary", f"@{path}", "-D", "-", url]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    out = subprocess.run(command, capture_output=True, check=True, timeout=60).stdout.decode()
    head, _, body = out.rpartition("\r\n\r\n")
    # With Expect: 100-continue, curl prints the interim 100 response first; keep the final one.
    final = head.split("\r\n\r\n")[-1]
    status = int(final.split(" ", 2)[1])
    return status, final, body


def _header(raw: str, name: str) -> str | None:
    for line in raw.split("\r\n")[1:]:
        key, _, value = line.partition(":")
        if key.strip().lower() == name.lower():
            return value.strip()
    return None


@contextlib.contextmanager
def _own_store(
    directory: Path,
    event_sink: Callable[[dict[str, object]], None],
    max_object_size: int = 1000,
    credentials: dict[str, str] = CREDENTIALS,
) -> Iterator[tuple[LocalObjectStore, Presigner]]:
    """A store of its own served on loopback (not the shared one), with a grant maker for it
    (that signs with the first of ``credentials``)."""
    store = LocalObjectStore(directory, event_sink, REGION)
    app = create_store_app(
        store,
        credentials=credentials,
        region=REGION,
        max_object_size=max_object_size,
        limits=DEFAULT_LIMITS,
    )
    server = ThreadedServer(app).start()
    access_key, secret_key = next(iter(credentials.items()))
    try:
        yield store, Presigner(f"http://127.0.0.1:{server.port}", REGION, access_key, secret_key)
    finally:
        server.stop()


def test_presigned_put_works_with_plain_curl_and_emits_one_event(
    store_server: RunningStore, tmp_path: Path
) -> None:
    data = os.urandom(300_000)
    path = tmp_path / "photo.jpg"
    path.write_bytes(data)
    key = _key("red flower.jpg")
    grant = store_server.presigner.presign_put(
        BUCKET,
        key,
        content_type="image/jpeg",
        content_length=len(data),
        expires_in=600,
        metadata={"upload-id": "u-123"},
    )

    status, headers, body = _curl_put(grant.url, grant.headers, path)

    assert status == 200, body
    md5 = hashlib.md5(data).hexdigest()
    assert _header(headers, "ETag") == f'"{md5}"'
    assert body == ""
    assert store_server.store.get_object(BUCKET, key) == data
    info = store_server.store.head_object(BUCKET, key)
    assert info.content_type == "image/jpeg"
    assert info.metadata == {"upload-id": "u-123"}
    events = store_server.sink.for_key(encode_event_key(key))
    assert len(events) == 1
    record = events[0]["Records"][0]
    assert record["eventName"] == "ObjectCreated:Put"
    assert record["awsRegion"] == REGION
    assert record["userIdentity"] == {"principalId": f"AWS:{ACCESS_KEY}"}
    assert record["requestParameters"] == {"sourceIPAddress": "127.0.0.1"}
    assert record["responseElements"]["x-amz-request-id"] == _header(headers, "x-amz-request-id")
    assert record["s3"]["bucket"]["name"] == BUCKET
    assert record["s3"]["object"]["key"] == key.replace(" ", "+")
    assert record["s3"]["object"]["size"] == len(data)
    assert record["s3"]["object"]["eTag"] == md5


def test_five_megabyte_upload_is_acknowledged_quickly(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    with _own_store(
        tmp_path_factory.mktemp("big"), lambda event: None, max_object_size=20 * 1024 * 1024
    ) as (_store, presigner):
        data = os.urandom(5 * 1024 * 1024)
        timings = []
        with httpx.Client() as client:
            for _ in range(3):
                grant = presigner.presign_put(
                    BUCKET, _key(), content_type="image/jpeg", content_length=len(data),
                    expires_in=60,
                )  # fmt: skip
                started = time.perf_counter()
                response = client.put(grant.url, content=data, headers=grant.headers)
                timings.append(time.perf_counter() - started)
                assert response.status_code == 200, response.text
        # Loopback transfer plus MD5, fsync and rename: well under a second on any machine.
        assert min(timings) < 1.0, timings


def test_expired_url_is_refused_with_request_has_expired(store_server: RunningStore) -> None:
    key = _key()
    grant = store_server.presigner.presign_put(
        BUCKET, key, content_type="image/jpeg", content_length=3, expires_in=60
    )
    store_server.clock.offset = timedelta(seconds=61)

    response = httpx.put(grant.url, content=b"abc", headers=grant.headers)

    assert response.status_code == 403
    assert response.headers["content-type"] == "application/xml"
    assert "<Code>AccessDenied</Code>" in response.text
    assert "<Message>Request has expired</Message>" in response.text
    assert not store_server.store.object_path(BUCKET, key).exists()


def test_url_signed_in_the_past_by_any_signer_expires(store_server: RunningStore) -> None:
    key = _key()
    url = sigv4.presign_url(
        method="PUT",
        url=f"{store_server.base_url}/{BUCKET}/{sigv4.uri_encode(key, keep_slash=True)}",
        access_key=ACCESS_KEY,
        secret_key=SECRET_KEY,
        region=REGION,
        now=datetime.now(UTC) - timedelta(hours=2),
        expires_in=3600,
    )
    response = httpx.put(url, content=b"abc")
    assert response.status_code == 403
    assert "Request has expired" in response.text


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda u, h: (u.replace("/uploads/", "/upload5/"), h), id="path"),
        pytest.param(
            lambda u, h: (u.replace("X-Amz-Expires=600", "X-Amz-Expires=900"), h), id="query"
        ),
        pytest.param(lambda u, h: (u + "&extra=1", h), id="added-query-parameter"),
        pytest.param(
            lambda u, h: (u, {**h, "Content-Type": "text/html"}), id="signed-header-value"
        ),
        pytest.param(
            lambda u, h: (u[:-4] + ("0000" if not u.endswith("0000") else "1111"), h),
            id="signature",
        ),
    ],
)
def test_tampered_request_is_refused_with_signature_does_not_match(
    store_server: RunningStore, tamper: object
) -> None:
    key = _key()
    grant = store_server.presigner.presign_put(
        BUCKET, key, content_type="image/jpeg", content_length=3, expires_in=600
    )
    url, headers = tamper(grant.url, dict(grant.headers))  # type: ignore[operator]

    response = httpx.put(url, content=b"abc", headers=headers)

    assert response.status_code == 403, response.text
    assert "<Code>SignatureDoesNotMatch</Code>" in response.text
    assert store_server.bucket_files() == sorted(
        f for f in store_server.bucket_files() if key not in f
    )
    assert not store_server.store.object_path(BUCKET, key).exists()


@pytest.mark.parametrize("dropped", ["Content-Type", "If-None-Match"])
def test_missing_signed_header_is_refused(store_server: RunningStore, dropped: str) -> None:
    key = _key()
    grant = store_server.presigner.presign_put(
        BUCKET, key, content_type="image/jpeg", content_length=3, expires_in=600
    )
    headers = {k: v for k, v in grant.headers.items() if k != dropped}

    response = httpx.put(grant.url, content=b"abc", headers=headers)

    assert response.status_code == 403
    assert "<Code>SignatureDoesNotMatch</Code>" in response.text
    assert f"'{dropped.lower()}'" in response.text
    assert not store_server.store.object_path(BUCKET, key).exists()


def test_wrong_body_length_is_refused(store_server: RunningStore) -> None:
    key = _key()
    grant = store_server.presigner.presign_put(
        BUCKET, key, content_type="image/jpeg", content_length=3, expires_in=600
    )
    headers = {k: v for k, v in grant.headers.items() if k != "Content-Length"}
    response = httpx.put(grant.url, content=b"abcd", headers=headers)
    assert response.status_code == 403
    assert "<Code>SignatureDoesNotMatch</Code>" in response.text
    assert not store_server.store.object_path(BUCKET, key).exists()


def test_unsigned_x_amz_header_is_refused(store_server: RunningStore) -> None:
    key = _key()
    grant = store_server.presigner.presign_put(
        BUCKET, key, content_type="image/jpeg", content_length=3, expires_in=600
    )
    headers = {**grant.headers, "x-amz-meta-owner": "mallory"}
    response = httpx.put(grant.url, content=b"abc", headers=headers)
    assert response.status_code == 403
    assert "<Code>AccessDenied</Code>" in response.text
    assert "<HeadersNotSigned>x-amz-meta-owner</HeadersNotSigned>" in response.text


def test_unsigned_request_is_access_denied(store_server: RunningStore) -> None:
    key = _key()
    url = f"{store_server.base_url}/{BUCKET}/{key}"
    put = httpx.put(url, content=b"abc")
    get = httpx.get(url)
    assert put.status_code == get.status_code == 403
    assert "<Code>AccessDenied</Code>" in put.text
    assert "<Code>AccessDenied</Code>" in get.text
    assert not store_server.store.object_path(BUCKET, key).exists()


def test_a_second_signature_in_the_query_is_refused_and_nothing_is_stored(
    store_server: RunningStore,
) -> None:
    """The signature is left out of what is signed: a second one appended to a good URL, which
    the first one verifies, is refused as S3 refuses it, whatever it holds."""
    key = _key()
    grant = store_server.presigner.presign_put(
        BUCKET, key, content_type="image/jpeg", content_length=3, expires_in=600
    )
    signature = grant.url.rsplit("X-Amz-Signature=", 1)[1]
    for second in ("0" * 64, signature):
        url = f"{grant.url}&X-Amz-Signature={second}"
        response = httpx.put(url, content=b"abc", headers=grant.headers)
        assert response.status_code == 400, response.text
        assert "<Code>AuthorizationQueryParametersError</Code>" in response.text
        assert "X-Amz-Signature (2 times)" in response.text
    assert not store_server.store.object_path(BUCKET, key).exists()
    assert httpx.put(grant.url, content=b"abc", headers=grant.headers).status_code == 200


def test_oversize_upload_is_refused_before_the_body_and_nothing_is_stored(
    store_server: RunningStore, tmp_path: Path
) -> None:
    data = os.urandom(MAX_OBJECT_SIZE + 1)
    path = tmp_path / "big.jpg"
    path.write_bytes(data)
    key = _key()
    grant = store_server.presigner.presign_put(
        BUCKET, key, content_type="image/jpeg", content_length=len(data), expires_in=600
    )
    before = store_server.bucket_files()

    status, _, body = _curl_put(grant.url, grant.headers, path)

    assert status == 400
    assert "<Code>EntityTooLarge</Code>" in body
    assert f"<MaxSizeAllowed>{MAX_OBJECT_SIZE}</MaxSizeAllowed>" in body
    assert store_server.bucket_files() == before
    assert store_server.sink.for_key(encode_event_key(key)) == []


def test_overwrite_is_refused_with_precondition_failed(store_server: RunningStore) -> None:
    key = _key()
    first = store_server.presigner.presign_put(
        BUCKET, key, content_type="image/jpeg", content_length=5, expires_in=600
    )
    assert httpx.put(first.url, content=b"first", headers=first.headers).status_code == 200
    second = store_server.presigner.presign_put(
        BUCKET, key, content_type="image/jpeg", content_length=6, expires_in=600
    )

    again = httpx.put(first.url, content=b"first", headers=first.headers)
    other = httpx.put(second.url, content=b"second", headers=second.headers)

    for response in (again, other):
        assert response.status_code == 412
        assert "<Code>PreconditionFailed</Code>" in response.text
    assert store_server.store.get_object(BUCKET, key) == b"first"
    assert len(store_server.sink.for_key(encode_event_key(key))) == 1


def test_concurrent_conditional_puts_have_exactly_one_winner(store_server: RunningStore) -> None:
    key = _key()
    grants = [
        store_server.presigner.presign_put(
            BUCKET, key, content_type="image/jpeg", content_length=4, expires_in=600
        )
        for _ in range(8)
    ]
    statuses: list[int] = []
    barrier = threading.Barrier(len(grants))

    def put(index: int) -> None:
        barrier.wait()
        body = f"v{index:03d}"[:4].encode()
        response = httpx.put(grants[index].url, content=body, headers=grants[index].headers)
        statuses.append(response.status_code)

    threads = [threading.Thread(target=put, args=(i,)) for i in range(len(grants))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(statuses) == [200] + [412] * (len(grants) - 1)
    assert len(store_server.sink.for_key(encode_event_key(key))) == 1


def test_client_disconnect_mid_upload_leaves_nothing(store_server: RunningStore) -> None:
    key = _key()
    size = 512 * 1024
    grant = store_server.presigner.presign_put(
        BUCKET, key, content_type="image/jpeg", content_length=size, expires_in=600
    )
    target = grant.url.removeprefix(store_server.base_url)
    before = store_server.bucket_files()
    request = [f"PUT {target} HTTP/1.1", f"Host: 127.0.0.1:{store_server.port}"]
    request += [f"{name}: {value}" for name, value in grant.headers.items()]
    with socket.create_connection(("127.0.0.1", store_server.port)) as sock:
        sock.sendall(("\r\n".join(request) + "\r\n\r\n").encode())
        sock.sendall(os.urandom(size // 2))
        time.sleep(0.2)  # let the server start streaming to its temp file

    deadline = time.monotonic() + 5
    while store_server.bucket_files() != before and time.monotonic() < deadline:
        time.sleep(0.02)
    assert store_server.bucket_files() == before
    assert not store_server.store.object_path(BUCKET, key).exists()
    assert store_server.sink.for_key(encode_event_key(key)) == []


def _post_form(grant_fields: dict[str, str], data: bytes) -> list[tuple[str, tuple[None, str]]]:
    return [(name, (None, value)) for name, value in grant_fields.items()]


def test_presigned_post_stores_within_range_and_refuses_over_range(
    store_server: RunningStore,
) -> None:
    key = _key()
    grant = store_server.presigner.presign_post(
        BUCKET, key, content_type="image/jpeg", max_size=1000, expires_in=600
    )
    too_big = httpx.post(
        grant.url,
        data=grant.fields,
        files={"file": ("photo.jpg", os.urandom(2000), "image/jpeg")},
    )
    assert too_big.status_code == 400
    assert "<Code>EntityTooLarge</Code>" in too_big.text
    assert not store_server.store.object_path(BUCKET, key).exists()
    assert store_server.sink.for_key(encode_event_key(key)) == []

    data = os.urandom(900)
    ok = httpx.post(grant.url, data=grant.fields, files={"file": ("photo.jpg", data, "image/jpeg")})

    assert ok.status_code == 204, ok.text
    assert ok.headers["etag"] == f'"{hashlib.md5(data).hexdigest()}"'
    assert store_server.store.get_object(BUCKET, key) == data
    assert store_server.store.head_object(BUCKET, key).content_type == "image/jpeg"
    (event,) = store_server.sink.for_key(encode_event_key(key))
    assert event["Records"][0]["eventName"] == "ObjectCreated:Post"


def test_presigned_post_201_returns_s3_post_response(store_server: RunningStore) -> None:
    key = _key()
    grant = store_server.presigner.presign_post(
        BUCKET,
        key,
        content_type="image/png",
        max_size=1000,
        expires_in=600,
        success_action_status=201,
    )
    response = httpx.post(
        grant.url, data=grant.fields, files={"file": ("a.png", b"png-bytes", "image/png")}
    )
    assert response.status_code == 201, response.text
    assert response.headers["content-type"] == "application/xml"
    assert f"<Key>{key}</Key>" in response.text
    assert f"<Bucket>{BUCKET}</Bucket>" in response.text


def test_presigned_post_with_changed_field_is_refused(store_server: RunningStore) -> None:
    key = _key()
    grant = store_server.presigner.presign_post(
        BUCKET, key, content_type="image/jpeg", max_size=1000, expires_in=600
    )
    fields = {**grant.fields, "Content-Type": "text/html"}
    response = httpx.post(
        grant.url, data=fields, files={"file": ("x.html", b"<script>", "text/html")}
    )
    assert response.status_code == 403
    assert "<Code>AccessDenied</Code>" in response.text
    assert "Policy Condition failed" in response.text
    assert not store_server.store.object_path(BUCKET, key).exists()


def test_presigned_post_after_expiry_is_refused(store_server: RunningStore) -> None:
    key = _key()
    grant = store_server.presigner.presign_post(
        BUCKET, key, content_type="image/jpeg", max_size=1000, expires_in=60
    )
    store_server.clock.offset = timedelta(seconds=61)
    response = httpx.post(
        grant.url, data=grant.fields, files={"file": ("a.jpg", b"abc", "image/jpeg")}
    )
    assert response.status_code == 403
    assert "Policy expired" in response.text


def test_presigned_get_serves_bytes_with_overrides_and_ranges(
    store_server: RunningStore,
) -> None:
    key = _key("IMG 1.jpg")
    data = os.urandom(10_000)
    store_server.store.put_object(BUCKET, key, data, content_type="image/jpeg")
    url = store_server.presigner.presign_get(
        BUCKET,
        key,
        600,
        response_content_type="application/octet-stream",
        response_content_disposition='attachment; filename="IMG 1.jpg"',
    )

    full = httpx.get(url)
    part = httpx.get(url, headers={"Range": "bytes=0-99"})

    assert full.status_code == 200
    assert full.content == data
    assert full.headers["content-type"] == "application/octet-stream"
    assert full.headers["content-disposition"] == 'attachment; filename="IMG 1.jpg"'
    assert full.headers["etag"] == f'"{hashlib.md5(data).hexdigest()}"'
    assert part.status_code == 206
    assert part.content == data[:100]
    plain = httpx.get(store_server.presigner.presign_get(BUCKET, key, 600))
    assert plain.headers["content-type"] == "image/jpeg"
    cached = httpx.get(url, headers={"If-None-Match": full.headers["etag"]})
    assert cached.status_code == 304


def test_get_of_missing_key_is_no_such_key_and_head_has_no_body(
    store_server: RunningStore,
) -> None:
    key = _key()
    get = httpx.get(store_server.presigner.presign_get(BUCKET, key, 600))
    assert get.status_code == 404
    assert "<Code>NoSuchKey</Code>" in get.text
    head = httpx.head(_presign_head(store_server, key))
    assert head.status_code == 404
    assert head.content == b""


def test_head_with_a_get_url_is_refused_as_on_s3(store_server: RunningStore) -> None:
    key = _key()
    store_server.store.put_object(BUCKET, key, b"abc", content_type="image/jpeg")
    url = store_server.presigner.presign_get(BUCKET, key, 600)
    assert httpx.head(url).status_code == 403


def test_cors_preflight_and_response_headers(store_server: RunningStore) -> None:
    key = _key()
    grant = store_server.presigner.presign_put(
        BUCKET, key, content_type="image/jpeg", content_length=3, expires_in=600
    )
    origin = "https://app.example.com"

    def preflight_put(headers: str) -> httpx.Response:
        return httpx.options(
            grant.url,
            headers={
                "Origin": origin,
                "Access-Control-Request-Method": "PUT",
                "Access-Control-Request-Headers": headers,
            },
        )

    preflight = preflight_put("content-type,if-none-match,x-amz-meta-a")
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "*"
    assert "PUT" in preflight.headers["access-control-allow-methods"]
    assert preflight.headers["access-control-allow-headers"] == (
        "content-type, if-none-match, x-amz-meta-a"
    )
    assert preflight.headers["access-control-expose-headers"] == "ETag"

    refused = preflight_put("authorization")
    assert refused.status_code == 403
    assert "CORSResponse" in refused.text

    put = httpx.put(grant.url, content=b"abc", headers={**grant.headers, "Origin": origin})
    assert put.status_code == 200
    assert put.headers["access-control-allow-origin"] == "*"
    assert put.headers["access-control-expose-headers"] == "ETag"


def test_errors_are_s3_xml(store_server: RunningStore) -> None:
    url = f"{store_server.base_url}/{BUCKET}/{_key()}?X-Amz-Algorithm=AWS4-HMAC-SHA256"
    response = httpx.get(url)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/xml"
    assert response.text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<Error>')
    assert "<Code>AuthorizationQueryParametersError</Code>" in response.text
    assert f"<RequestId>{response.headers['x-amz-request-id']}</RequestId>" in response.text


def test_content_md5_mismatch_is_bad_digest(store_server: RunningStore) -> None:
    key = _key()
    grant = store_server.presigner.presign_put(
        BUCKET, key, content_type="image/jpeg", content_length=3, expires_in=600
    )
    wrong = base64.b64encode(hashlib.md5(b"xyz").digest()).decode()
    response = httpx.put(grant.url, content=b"abc", headers={**grant.headers, "Content-MD5": wrong})
    assert response.status_code == 400
    assert "<Code>BadDigest</Code>" in response.text
    assert not store_server.store.object_path(BUCKET, key).exists()


def _failing(failure: Exception) -> Callable[[dict[str, object]], None]:
    """An event sink that raises ``failure`` on every event."""

    def unavailable(event: dict[str, object]) -> None:
        raise failure

    return unavailable


def _put_three_bytes(presigner: Presigner) -> tuple[PresignedRequest, httpx.Response]:
    grant = presigner.presign_put(
        BUCKET, "k.jpg", content_type="image/jpeg", content_length=3, expires_in=60
    )
    return grant, httpx.put(grant.url, content=b"abc", headers=grant.headers)


def test_event_sink_failure_is_a_500_and_nothing_is_stored(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    failing = _failing(ConnectionError("event queue unavailable"))
    with _own_store(tmp_path_factory.mktemp("sinkless"), failing) as (store, presigner):
        grant, response = _put_three_bytes(presigner)
        assert response.status_code == 500
        assert "<Code>InternalError</Code>" in response.text
        assert not store.object_path(BUCKET, "k.jpg").exists()
        # The key is still free: the client's retry can succeed once events flow again.
        store.event_sink = None
        retry = httpx.put(grant.url, content=b"abc", headers=grant.headers)
        assert retry.status_code == 200


def test_an_unavailable_event_outbox_is_a_503_to_retry_and_nothing_is_stored(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    failing = _failing(
        StorageUnavailableError("the outbox's database is cut off", reason="x", status=503)
    )
    with _own_store(tmp_path_factory.mktemp("outboxless"), failing) as (store, presigner):
        _grant, response = _put_three_bytes(presigner)
        assert response.status_code == 503
        assert "<Code>ServiceUnavailable</Code>" in response.text
        assert response.headers["retry-after"] == "1"
        assert not store.object_path(BUCKET, "k.jpg").exists()


def _presign_head(store_server: RunningStore, key: str) -> str:
    return sigv4.presign_url(
        method="HEAD",
        url=f"{store_server.base_url}/{BUCKET}/{sigv4.uri_encode(key, keep_slash=True)}",
        access_key=ACCESS_KEY,
        secret_key=SECRET_KEY,
        region=REGION,
        now=datetime.now(UTC),
        expires_in=60,
    )


def test_head_and_ranges_follow_s3(store_server: RunningStore) -> None:
    key = _key("notes.txt")
    data = bytes(range(256)) * 4
    store_server.store.put_object(
        BUCKET, key, data, content_type="text/plain", metadata={"album": "a1"}
    )
    head = httpx.head(_presign_head(store_server, key))
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["content-length"] == str(len(data))
    assert head.headers["content-type"] == "text/plain"
    assert head.headers["x-amz-meta-album"] == "a1"
    assert head.headers["last-modified"].endswith(" GMT")

    url = store_server.presigner.presign_get(BUCKET, key, 600)
    suffix = httpx.get(url, headers={"Range": "bytes=-10"})
    assert suffix.status_code == 206
    assert suffix.content == data[-10:]
    assert suffix.headers["content-range"] == f"bytes {len(data) - 10}-{len(data) - 1}/{len(data)}"
    open_ended = httpx.get(url, headers={"Range": "bytes=1000-"})
    assert open_ended.content == data[1000:]
    beyond = httpx.get(url, headers={"Range": f"bytes={len(data)}-"})
    assert beyond.status_code == 416
    assert "<Code>InvalidRange</Code>" in beyond.text
    multi = httpx.get(url, headers={"Range": "bytes=0-1,5-6"})
    assert multi.status_code == 200 and multi.content == data


def _presign(store_server: RunningStore, operation: str, params: dict[str, object]) -> str:
    """A URL presigned by botocore for any S3 operation, as an SDK client would send it."""
    import botocore.session
    from botocore.config import Config

    client = botocore.session.get_session().create_client(
        "s3",
        region_name=REGION,
        endpoint_url=store_server.base_url,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )
    url: str = client.generate_presigned_url(operation, Params=params, ExpiresIn=60)
    return url


@pytest.mark.parametrize(
    ("method", "operation", "params"),
    [
        ("PUT", "upload_part", {"PartNumber": 1, "UploadId": "abc"}),
        ("POST", "create_multipart_upload", {}),
        ("GET", "get_object_acl", {}),
        ("GET", "get_object_tagging", {}),
        ("DELETE", "abort_multipart_upload", {"UploadId": "abc"}),
    ],
)
def test_unsupported_s3_operations_are_not_implemented_and_store_nothing(
    store_server: RunningStore, method: str, operation: str, params: dict[str, object]
) -> None:
    key = _key()
    url = _presign(store_server, operation, {"Bucket": BUCKET, "Key": key, **params})
    before = store_server.bucket_files()
    response = httpx.request(method, url, content=b"part one" if method == "PUT" else None)
    assert response.status_code == 501, response.text
    assert "<Code>NotImplemented</Code>" in response.text
    assert store_server.bucket_files() == before
    assert not store_server.store.object_path(BUCKET, key).exists()
    assert store_server.sink.for_key(encode_event_key(key)) == []


def test_unsupported_operation_with_a_tampered_signature_is_refused_first(
    store_server: RunningStore,
) -> None:
    params = {"Bucket": BUCKET, "Key": _key(), "PartNumber": 1, "UploadId": "abc"}
    url = _presign(store_server, "upload_part", params)
    response = httpx.put(url.replace("uploadId=abc", "uploadId=abd"), content=b"x")
    assert response.status_code == 403
    assert "<Code>SignatureDoesNotMatch</Code>" in response.text


@pytest.mark.parametrize("key", ["uploads/nul\x00.jpg", "uploads/escape\x1b.jpg"])
def test_an_error_about_a_key_with_control_characters_reaches_botocore_by_its_code(
    store_server: RunningStore, key: str
) -> None:
    """XML cannot hold most control characters: a body that echoed them raw would not parse,
    and the client would see a bare status instead of the reason."""
    from botocore.parsers import create_parser

    url = _presign(store_server, "get_object", {"Bucket": BUCKET, "Key": key})
    response = httpx.get(url)

    parsed = create_parser("rest-xml").parse(
        {"status_code": response.status_code, "headers": dict(response.headers),
         "body": response.content},
        None,
    )  # fmt: skip
    code = "InvalidArgument" if "\x00" in key else "NoSuchKey"
    assert parsed["Error"]["Code"] == code, response.content


def _presign_put_with(store_server: RunningStore, key: str, headers: dict[str, str]) -> str:
    """A presigned PUT of ``key`` that signs ``headers`` too, as an SDK signs what it will send."""
    return sigv4.presign_url(
        method="PUT",
        url=f"{store_server.base_url}/{BUCKET}/{sigv4.uri_encode(key, keep_slash=True)}",
        access_key=ACCESS_KEY,
        secret_key=SECRET_KEY,
        region=REGION,
        now=datetime.now(UTC),
        expires_in=60,
        headers=headers,
    )


def _assert_nothing_stored(store_server: RunningStore, key: str, before: list[str]) -> None:
    assert store_server.bucket_files() == before
    assert not store_server.store.object_path(BUCKET, key).exists()
    assert store_server.sink.for_key(encode_event_key(key)) == []


@pytest.mark.parametrize("size", [11, 300_000])  # read by uvicorn, and straight into buffers
def test_a_body_that_is_not_its_signed_sha256_is_refused_and_nothing_is_stored(
    store_server: RunningStore, size: int
) -> None:
    body = os.urandom(size)
    key = _key()
    claimed = hashlib.sha256(body[:-1] + b"!").hexdigest()
    headers = {"x-amz-content-sha256": claimed}
    before = store_server.bucket_files()

    response = httpx.put(
        _presign_put_with(store_server, key, headers), content=body, headers=headers
    )

    assert response.status_code == 400, response.text
    assert "<Code>XAmzContentSHA256Mismatch</Code>" in response.text
    assert f"<ClientComputedContentSHA256>{claimed}</ClientComputedContentSHA256>" in response.text
    computed = hashlib.sha256(body).hexdigest()
    assert f"<S3ComputedContentSHA256>{computed}</S3ComputedContentSHA256>" in response.text
    _assert_nothing_stored(store_server, key, before)

    headers = {"x-amz-content-sha256": computed}
    good = httpx.put(_presign_put_with(store_server, key, headers), content=body, headers=headers)
    assert good.status_code == 200, good.text
    assert store_server.store.get_object(BUCKET, key) == body


@pytest.mark.parametrize(
    ("headers", "named"),
    [
        pytest.param(
            {"x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
             "x-amz-trailer": "x-amz-checksum-crc32", "content-encoding": "aws-chunked",
             "x-amz-decoded-content-length": "11"},
            "x-amz-content-sha256",
            id="sdk-streaming-upload",
        ),
        pytest.param({"content-encoding": "aws-chunked"}, "Content-Encoding", id="aws-chunked"),
        pytest.param(
            {"content-encoding": "gzip, aws-chunked"}, "Content-Encoding", id="gzip-aws-chunked"
        ),
        pytest.param(
            {"x-amz-decoded-content-length": "11"}, "x-amz-decoded-content-length",
            id="decoded-length",
        ),
    ],
)  # fmt: skip
def test_an_aws_chunked_body_is_refused_as_not_implemented_and_nothing_is_stored(
    store_server: RunningStore, headers: dict[str, str], named: str
) -> None:
    """The store does not decode aws-chunked framing: stored as sent, the chunk sizes and
    signatures would be part of the photo."""
    body = b"hello world"
    chunked = b"b\r\nhello world\r\n0\r\nx-amz-checksum-crc32:DUoRhQ==\r\n\r\n"
    key = _key()
    signed = {n: v for n, v in headers.items() if n.startswith("x-amz-")}
    before = store_server.bucket_files()

    response = httpx.put(
        _presign_put_with(store_server, key, signed),
        content=chunked if "content-encoding" in headers else body,
        headers=headers,
    )

    assert response.status_code == 501, response.text
    assert "<Code>NotImplemented</Code>" in response.text
    assert f"<Header>{named}</Header>" in response.text
    _assert_nothing_stored(store_server, key, before)


def test_a_content_sha256_that_is_no_digest_is_an_invalid_argument(
    store_server: RunningStore,
) -> None:
    key = _key()
    headers = {"x-amz-content-sha256": "abc"}
    before = store_server.bucket_files()
    response = httpx.put(
        _presign_put_with(store_server, key, headers), content=b"x", headers=headers
    )
    assert response.status_code == 400, response.text
    assert "<Code>InvalidArgument</Code>" in response.text
    assert "x-amz-content-sha256 must be UNSIGNED-PAYLOAD" in response.text
    _assert_nothing_stored(store_server, key, before)


def _checksums(body: bytes) -> dict[str, str]:
    """The body's x-amz-checksum-* values as an SDK computes them (base64 of the digest)."""
    return {
        "CRC32": base64.b64encode(zlib.crc32(body).to_bytes(4, "big")).decode(),
        "SHA1": base64.b64encode(hashlib.sha1(body).digest()).decode(),
        "SHA256": base64.b64encode(hashlib.sha256(body).digest()).decode(),
    }


@pytest.mark.parametrize("size", [11, 300_000])
@pytest.mark.parametrize("algorithm", ["CRC32", "SHA1", "SHA256"])
def test_a_body_that_is_not_its_signed_checksum_is_bad_digest_and_nothing_is_stored(
    store_server: RunningStore, algorithm: str, size: int
) -> None:
    body = os.urandom(size)
    key = _key()
    wrong = _checksums(body[:-1] + b"!")[algorithm]
    url = _presign(store_server, "put_object", {"Bucket": BUCKET, "Key": key,
                                                f"Checksum{algorithm}": wrong})  # fmt: skip
    header = f"x-amz-checksum-{algorithm.lower()}"
    before = store_server.bucket_files()

    response = httpx.put(url, content=body, headers={header: wrong})

    assert response.status_code == 400, response.text
    assert "<Code>BadDigest</Code>" in response.text
    assert f"The {algorithm} you specified did not match the calculated checksum." in response.text
    _assert_nothing_stored(store_server, key, before)

    right = _checksums(body)[algorithm]
    url = _presign(store_server, "put_object", {"Bucket": BUCKET, "Key": key,
                                                f"Checksum{algorithm}": right})  # fmt: skip
    good = httpx.put(url, content=body, headers={header: right})
    assert good.status_code == 200, good.text
    assert good.headers[header] == right  # as S3 answers it
    assert store_server.store.get_object(BUCKET, key) == body


@pytest.mark.parametrize(
    ("headers", "code", "named"),
    [
        pytest.param({"x-amz-checksum-crc32": "not base64!"}, "InvalidRequest",
                     "Value for x-amz-checksum-crc32 header is invalid.", id="not-base64"),
        pytest.param({"x-amz-checksum-sha256": base64.b64encode(b"short").decode()},
                     "InvalidRequest", "Value for x-amz-checksum-sha256 header is invalid.",
                     id="wrong-length"),
        pytest.param({"x-amz-checksum-crc32": "DUoRhQ==", "x-amz-checksum-sha1": "x"},
                     "InvalidRequest", "Expecting a single x-amz-checksum- header.",
                     id="two-checksums"),
        pytest.param({"x-amz-sdk-checksum-algorithm": "CRC32"}, "InvalidRequest",
                     "no corresponding x-amz-checksum-* or x-amz-trailer headers were found",
                     id="algorithm-without-checksum"),
        pytest.param({"x-amz-sdk-checksum-algorithm": "SHA256", "x-amz-checksum-crc32": "DUoRhQ=="},
                     "InvalidRequest", "x-amz-sdk-checksum-algorithm is SHA256",
                     id="algorithm-of-another-checksum"),
        pytest.param({"x-amz-checksum-crc32c": "yZRlqg=="}, "NotImplemented",
                     "<Header>x-amz-checksum-crc32c</Header>", id="crc32c"),
        pytest.param({"x-amz-checksum-crc64nvme": "AAAAAAAAAAA="}, "NotImplemented",
                     "<Header>x-amz-checksum-crc64nvme</Header>", id="crc64nvme"),
    ],
)  # fmt: skip
def test_checksum_headers_the_store_cannot_hold_to_are_refused_before_the_body(
    store_server: RunningStore, headers: dict[str, str], code: str, named: str
) -> None:
    key = _key()
    before = store_server.bucket_files()
    response = httpx.put(
        _presign_put_with(store_server, key, headers), content=b"hello world", headers=headers
    )
    assert response.status_code == (501 if code == "NotImplemented" else 400), response.text
    assert f"<Code>{code}</Code>" in response.text
    assert named in response.text
    _assert_nothing_stored(store_server, key, before)


@pytest.mark.parametrize(
    "headers",
    [
        {"x-amz-tagging": "event=sports-day"},
        {"x-amz-acl": "public-read"},
        {"x-amz-grant-read": 'uri="http://acs.amazonaws.com/groups/global/AllUsers"'},
        {"x-amz-storage-class": "GLACIER"},
        {"x-amz-server-side-encryption": "aws:kms"},
        {"x-amz-server-side-encryption-customer-algorithm": "AES256"},
        {"x-amz-website-redirect-location": "/elsewhere"},
        {"x-amz-object-lock-legal-hold": "ON"},
        {"x-amz-expected-bucket-owner": "111122223333"},
        # Named like a checksum, but the type of a multipart upload's: no checksum to hold to.
        {"x-amz-checksum-type": "FULL_OBJECT", "x-amz-checksum-crc32": "DUoRhQ=="},
    ],
    ids=lambda headers: next(iter(headers)),
)
def test_a_put_asking_for_what_the_store_does_not_keep_is_not_implemented_and_stores_nothing(
    store_server: RunningStore, headers: dict[str, str]
) -> None:
    """Stored without it, the object would silently lack the tags, access rules, encryption or
    lock its client asked for (and signed)."""
    key = _key()
    headers = {**headers, "x-amz-meta-album": "sports-day"}  # what the store keeps passes
    before = store_server.bucket_files()

    response = httpx.put(
        _presign_put_with(store_server, key, headers), content=b"hello world", headers=headers
    )

    assert response.status_code == 501, response.text
    assert "<Code>NotImplemented</Code>" in response.text
    assert f"<Header>{next(iter(headers))}</Header>" in response.text
    _assert_nothing_stored(store_server, key, before)


@pytest.mark.parametrize(
    "secret",
    [
        "q2Zg4k7Vh0Yx3mN8pLr5sT1uW9aB6cD2eF4gH7jK",  # as bakusoku makes them: an access key's shape
        SECRET_KEY,  # with slashes: the credential no longer parses
    ],
)
def test_a_client_that_swaps_its_key_id_and_secret_is_not_shown_the_secret(
    tmp_path_factory: pytest.TempPathFactory, secret: str
) -> None:
    """Error bodies end up in browser consoles, proxies and client logs: a secret sent where the
    key id belongs is not repeated, and the message says what was swapped."""
    credentials = {"BKSKA1B2C3D4E5F60718": secret}
    with _own_store(
        tmp_path_factory.mktemp("swapped"), lambda event: None, credentials=credentials
    ) as (_store, presigner):
        base = presigner.presign_get(BUCKET, "uploads/a.jpg", 60).split(f"/{BUCKET}/")[0]
        for method in ("GET", "PUT"):
            url = sigv4.presign_url(
                method=method,
                url=f"{base}/{BUCKET}/uploads/a.jpg",
                access_key=secret,
                secret_key=secret,
                region=REGION,
                now=datetime.now(UTC),
                expires_in=60,
            )
            response = httpx.request(method, url, content=b"abc" if method == "PUT" else None)

            assert response.status_code in (400, 403), response.text
            assert "<Code>" in response.text
            assert secret not in response.text
            assert sigv4.uri_encode(secret) not in response.text
            if "/" not in secret:
                assert "<Code>InvalidAccessKeyId</Code>" in response.text
                assert "secret access key" in response.text


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("ResponseContentType", "text/html\r\nSet-Cookie: session=stolen"),
        ("ResponseContentDisposition", 'attachment; filename="a\nb.jpg"'),
        ("ResponseContentDisposition", 'attachment; filename="運動会.jpg"'),
        ("ResponseCacheControl", "no-cache\x00"),
    ],
)
def test_a_response_override_that_is_no_header_value_is_an_invalid_argument(
    store_server: RunningStore, param: str, value: str
) -> None:
    """A presigned GET may set the response's headers (response-content-type...): a value that
    cannot be a header is refused by name, not answered with a dropped connection."""
    key = _key("notes.txt")
    store_server.store.put_object(BUCKET, key, b"0123456789", content_type="text/plain")
    url = _presign(store_server, "get_object", {"Bucket": BUCKET, "Key": key, param: value})

    response = httpx.get(url)

    assert response.status_code == 400, response.text
    assert "<Code>InvalidArgument</Code>" in response.text
    name = "response-" + re.sub(r"(?<!^)(?=[A-Z])", "-", param.removeprefix("Response")).lower()
    assert f"<ArgumentName>{name}</ArgumentName>" in response.text
    assert "set-cookie" not in response.headers
    kept = httpx.get(
        _presign(store_server, "get_object", {"Bucket": BUCKET, "Key": key,
                                              "ResponseContentDisposition": 'attachment; filename="a.jpg"'})
    )  # fmt: skip
    assert kept.headers["content-disposition"] == 'attachment; filename="a.jpg"'


def test_a_presigned_request_that_also_sends_an_authorization_header_is_refused(
    store_server: RunningStore,
) -> None:
    """Two authentications in one request: S3 takes neither, so neither does the store."""
    key = _key()
    grant = store_server.presigner.presign_put(
        BUCKET, key, content_type="image/jpeg", content_length=3, expires_in=600
    )
    headers = {
        **grant.headers,
        "Authorization": f"AWS4-HMAC-SHA256 Credential={ACCESS_KEY}/20260101/{REGION}/s3/"
        "aws4_request, SignedHeaders=host, Signature=" + "0" * 64,
    }
    before = store_server.bucket_files()

    response = httpx.put(grant.url, content=b"abc", headers=headers)

    assert response.status_code == 400, response.text
    assert "<Code>InvalidArgument</Code>" in response.text
    assert "Only one auth mechanism allowed" in response.text
    _assert_nothing_stored(store_server, key, before)


def test_a_post_without_content_length_is_refused_before_its_endless_body(
    store_server: RunningStore,
) -> None:
    """A chunked body has no end the store could check: a form that streams ignored parts after
    its file at any speed would hold the connection and a temporary file open for ever."""
    key = _key()
    grant = store_server.presigner.presign_post(
        BUCKET, key, content_type="image/jpeg", max_size=1000, expires_in=600
    )
    form = httpx.Request(
        "POST", grant.url, data=grant.fields, files={"file": ("a.jpg", b"abc", "image/jpeg")}
    )
    head = form.read()
    boundary = form.headers["content-type"].partition("boundary=")[2].encode()
    ignored = b'\r\nContent-Disposition: form-data; name="x"\r\n\r\n' + b"z" * 1_000_000

    def endless() -> Iterator[bytes]:
        yield head[: head.rindex(b"--")]  # the fields and the file, then parts without end
        for _ in range(2000):  # ~2 GB, far past any deadline that grows with the bytes
            yield ignored + b"\r\n--" + boundary

    headers = {"Content-Type": form.headers["content-type"]}
    before = store_server.bucket_files()
    started = time.monotonic()
    try:
        response = httpx.post(grant.url, content=endless(), headers=headers, timeout=30)
    except httpx.TransportError:  # the store answered and closed while the client still sent
        pytest.fail("the store answered nothing a client could read")
    assert response.status_code == 411, response.text
    assert "<Code>MissingContentLength</Code>" in response.text
    assert time.monotonic() - started < 10
    assert store_server.bucket_files() == before


_STORE_WITH_A_FILE_SIZE_LIMIT = """
import resource, signal, sys, time
from pathlib import Path
from tests.storage.conftest import serve_store

# Writes past the limit fail with EFBIG (with SIGXFSZ ignored), as writes to a full disk fail
# with ENOSPC: the store cannot hold the object, through no fault of the upload.
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[2]), int(sys.argv[2])))
with serve_store(Path(sys.argv[1])) as running:
    print(running.port, flush=True)
    sys.stdin.read()  # until the test is done
"""


def test_an_upload_the_disk_cannot_hold_is_a_503_to_retry_and_nothing_is_stored(
    tmp_path: Path,
) -> None:
    """A full disk (or one failing) is the store's trouble, not the client's: S3's 503 with
    Retry-After, as for a database that cannot record the event, not a 500."""
    limit = 256 * 1024
    child = subprocess.Popen(
        [sys.executable, "-c", _STORE_WITH_A_FILE_SIZE_LIMIT, str(tmp_path), str(limit)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        assert child.stdout is not None
        port = int(child.stdout.readline())
        presigner = Presigner(f"http://127.0.0.1:{port}", REGION, ACCESS_KEY, SECRET_KEY)
        for size in (limit + 1000, 3 * limit):  # past the limit in the first batch, or later
            key = _key()
            grant = presigner.presign_put(
                BUCKET, key, content_type="image/jpeg", content_length=size, expires_in=60
            )
            response = httpx.put(grant.url, content=os.urandom(size), headers=grant.headers)

            assert response.status_code == 503, response.text
            assert "<Code>ServiceUnavailable</Code>" in response.text
            assert response.headers["retry-after"] == "1"
            stored = [p for p in (tmp_path / BUCKET).rglob("*") if p.is_file()]
            assert stored == []
            assert [p for p in (tmp_path / ".tmp").rglob("*") if p.is_file()] == []
        small = presigner.presign_put(
            BUCKET, _key(), content_type="image/jpeg", content_length=3, expires_in=60
        )
        assert httpx.put(small.url, content=b"abc", headers=small.headers).status_code == 200
    finally:
        child.kill()
        child.wait()
