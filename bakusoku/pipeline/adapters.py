"""The one place handlers get their adapters (object store, photo repository) from.

Built once per execution environment from settings and the environment, and reused while the
environment is warm, exactly as module-level clients are reused in AWS Lambda.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from bakusoku.config import ConfigError, Settings, load_settings
from bakusoku.db.engine import create_db_engine
from bakusoku.db.gate import deployment_gate
from bakusoku.db.outbox import ObjectEventOutbox
from bakusoku.db.photos import PhotoRepository
from bakusoku.storage.local import LocalObjectStore
from bakusoku.storage.notifications import KeyFilter
from bakusoku.storage.s3 import S3ObjectStore


@dataclass(frozen=True)
class Adapters:
    settings: Settings
    store: LocalObjectStore | S3ObjectStore
    photos: PhotoRepository


def build_adapters(settings: Settings) -> Adapters:
    database_url = settings.effective_database_url
    if settings.database_secret_arn:  # on AWS: the URL lives in Secrets Manager
        from bakusoku.secrets import database_url_from_secret

        database_url = database_url_from_secret(settings.database_secret_arn, settings.region)
    gate = deployment_gate(settings.data_dir, settings.db_max_connections, settings.db_wait_seconds)
    engine = create_db_engine(database_url, gate=gate)
    store: LocalObjectStore | S3ObjectStore
    if settings.object_store == "s3":  # S3 emits the object-created events itself
        store = S3ObjectStore(settings.region)
    elif settings.object_store == "local":
        outbox = ObjectEventOutbox(engine)
        # Only uploads notify, as the deployment's bucket rule does: rendition writes add no event.
        store = LocalObjectStore(
            settings.data_dir / "objects",
            event_sink=outbox.append,
            region=settings.region,
            event_filter=KeyFilter(prefix=settings.upload_prefix),
        )
    else:
        raise ConfigError(f"setting 'object_store' is {settings.object_store!r}: use local or s3")
    return Adapters(
        settings=settings,
        store=store,
        photos=PhotoRepository(engine, retry_seconds=settings.db_retry_seconds),
    )


@functools.cache
def adapters() -> Adapters:
    """The adapters of this process, configured from ``BAKUSOKU_*`` environment variables."""
    return build_adapters(load_settings())
