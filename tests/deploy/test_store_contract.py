"""One contract, two object stores: the local store (behind its S3 endpoint) and Amazon S3's API
(moto's server mode on loopback), each held as the ``ObjectStore`` port the pipeline and the API use.
moto does not verify signatures or expiry; the local store's own tests cover those."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from bakusoku.storage.base import ObjectStore
from bakusoku.storage.errors import (
    BucketNotFoundError,
    EntityTooLargeError,
    ObjectExistsError,
    ObjectNotFoundError,
)
from bakusoku.storage.local import LocalObjectStore
from bakusoku.storage.presign import Presigner
from bakusoku.storage.server import create_store_app
from tests.storage.conftest import (
    ACCESS_KEY,
    CREDENTIALS,
    DEFAULT_LIMITS,
    SECRET_KEY,
    ThreadedServer,
)

pytest.importorskip("moto", reason="needs moto[server]: pip install -e '.[aws,test]'")
pytestmark = pytest.mark.integration

REGION = "us-east-1"


@dataclass
class Backend:
    store: ObjectStore
    presigner: Presigner
    bucket: str


@pytest.fixture(scope="module")
def local_backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend]:
    store = LocalObjectStore(tmp_path_factory.mktemp("objects"), region=REGION, durable=False)
    store.create_bucket("contract")
    app = create_store_app(
        store,
        credentials=CREDENTIALS,
        region=REGION,
        max_object_size=1024 * 1024,
        limits=DEFAULT_LIMITS,
        cors_origins=["*"],
    )
    server = ThreadedServer(app).start()
    try:
        url = f"http://127.0.0.1:{server.port}"
        yield Backend(store, Presigner(url, REGION, ACCESS_KEY, SECRET_KEY), "contract")
    finally:
        server.stop()


@pytest.fixture(scope="module")
def s3_backend(moto_endpoint: str) -> Backend:
    from bakusoku.storage.s3 import S3ObjectStore, S3Presigner

    store = S3ObjectStore(REGION, endpoint_url=moto_endpoint)
    store.create_bucket("contract")
    return Backend(store, S3Presigner(REGION, endpoint_url=moto_endpoint), "contract")


@pytest.fixture(params=["local", "s3"])
def backend(request: pytest.FixtureRequest) -> Backend:
    return request.getfixturevalue(f"{request.param}_backend")  # type: ignore[no-any-return]


def _key(prefix: str = "c") -> str:
    return f"{prefix}/{uuid.uuid4().hex}.jpg"


def test_put_get_head_with_metadata(backend: Backend) -> None:
    key = _key()
    data = b"\xff\xd8photo bytes" * 100
    info = backend.store.put_object(
        backend.bucket, key, data, content_type="image/jpeg", metadata={"album": "sports-day"}
    )
    assert info.etag == f'"{hashlib.md5(data, usedforsecurity=False).hexdigest()}"'
    head = backend.store.head_object(backend.bucket, key)
    assert (head.size, head.etag, head.content_type) == (len(data), info.etag, "image/jpeg")
    assert dict(head.metadata) == {"album": "sports-day"}
    assert backend.store.get_object(backend.bucket, key) == data
    body, read_info = backend.store.read_object(backend.bucket, key)
    assert body == data
    assert (read_info.size, read_info.etag, read_info.content_type) == (
        len(data),
        info.etag,
        "image/jpeg",
    )


def test_list_by_prefix_in_key_order(backend: Backend) -> None:
    prefix = f"list-{uuid.uuid4().hex}/"
    for name in ("b.jpg", "a.jpg", "c/d.jpg"):
        backend.store.put_object(backend.bucket, prefix + name, b"x", content_type="image/jpeg")
    listed = backend.store.list_objects(backend.bucket, prefix)
    assert [o.key for o in listed] == [prefix + n for n in ("a.jpg", "b.jpg", "c/d.jpg")]
    assert all(o.content_type == "image/jpeg" and o.size == 1 for o in listed)


def test_delete_is_idempotent_and_reads_then_miss(backend: Backend) -> None:
    key = _key()
    backend.store.put_object(backend.bucket, key, b"x", content_type="image/jpeg")
    backend.store.delete_object(backend.bucket, key)
    backend.store.delete_object(backend.bucket, key)
    with pytest.raises(ObjectNotFoundError):
        backend.store.get_object(backend.bucket, key)
    with pytest.raises(ObjectNotFoundError):
        backend.store.head_object(backend.bucket, key)
    with pytest.raises(ObjectNotFoundError):
        backend.store.read_object(backend.bucket, key)


def test_if_none_match_never_overwrites(backend: Backend) -> None:
    key = _key()
    backend.store.put_object(backend.bucket, key, b"first", content_type="image/jpeg")
    with pytest.raises(ObjectExistsError):
        backend.store.put_object(
            backend.bucket, key, b"second", content_type="image/jpeg", if_none_match=True
        )
    assert backend.store.get_object(backend.bucket, key) == b"first"


def test_oversize_body_stores_nothing(backend: Backend) -> None:
    key = _key()
    with pytest.raises(EntityTooLargeError):
        backend.store.put_object(
            backend.bucket, key, b"x" * 101, content_type="image/jpeg", max_size=100
        )
    with pytest.raises(ObjectNotFoundError):
        backend.store.head_object(backend.bucket, key)


def test_missing_bucket_is_no_such_bucket(backend: Backend) -> None:
    with pytest.raises(BucketNotFoundError):
        backend.store.get_object(f"missing-{uuid.uuid4().hex[:8]}", "a.jpg")


def test_presigned_put_is_accepted(backend: Backend) -> None:
    key = _key("uploads")
    data = b"\xff\xd8presigned" * 50
    grant = backend.presigner.presign_put(
        backend.bucket, key, content_type="image/jpeg", content_length=len(data), expires_in=300
    )
    response = httpx.put(grant.url, content=data, headers=grant.headers)
    assert response.status_code == 200, response.text
    assert backend.store.get_object(backend.bucket, key) == data
    again = httpx.put(grant.url, content=data, headers=grant.headers)
    assert again.status_code == 412, again.text  # If-None-Match: * signed in


def test_presigned_post_is_accepted(backend: Backend) -> None:
    key = _key("uploads")
    data = b"\xff\xd8form" * 50
    grant = backend.presigner.presign_post(
        backend.bucket, key, content_type="image/jpeg", max_size=10_000, expires_in=300
    )
    response = httpx.post(grant.url, data=grant.fields, files={"file": ("p.jpg", data)})
    assert response.status_code in (200, 201, 204), response.text
    assert backend.store.head_object(backend.bucket, key).size == len(data)


def test_signed_get_is_accepted(backend: Backend) -> None:
    key = _key("renditions")
    backend.store.put_object(backend.bucket, key, b"rendition", content_type="image/jpeg")
    url = backend.presigner.presign_get(backend.bucket, key, expires_in=300)
    response = httpx.get(url)
    assert response.status_code == 200 and response.content == b"rendition"


def test_s3_put_is_one_put_object_described_as_head_would(moto_endpoint: str) -> None:
    """MakeRenditions' role may only PutObject under renditions/: writing must not also read."""
    from bakusoku.storage.s3 import S3ObjectStore, s3_client

    client = s3_client(REGION, moto_endpoint)
    sent: list[str] = []
    client.meta.events.register("before-call.s3", lambda model, **_: sent.append(model.name))
    store = S3ObjectStore(REGION, client=client)
    store.create_bucket("one-request")
    sent.clear()
    data = b"\xff\xd8rendition" * 50
    info = store.put_object(
        "one-request",
        "renditions/a/1/thumb.jpg",
        data,
        content_type="image/jpeg",
        metadata={"album": "a"},
    )
    assert sent == ["PutObject"]
    head = S3ObjectStore(REGION, endpoint_url=moto_endpoint).head_object(
        "one-request", "renditions/a/1/thumb.jpg"
    )
    assert (info.size, info.etag, info.content_type, dict(info.metadata)) == (
        head.size,
        head.etag,
        head.content_type,
        dict(head.metadata),
    )
    assert abs((info.last_modified - head.last_modified).total_seconds()) <= 1
