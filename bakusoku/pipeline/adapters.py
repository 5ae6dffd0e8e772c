"""The one place handlers get their adapters (object store, photo repository) from.

Built once per execution environment from settings and the environment, and reused while the
environment is warm, exactly as module-level clients are reused in AWS Lambda.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from bakusoku.config import Settings, load_settings
from bakusoku.db.engine import create_db_engine
from bakusoku.db.outbox import ObjectEventOutbox
from bakusoku.db.photos import PhotoRepository
from bakusoku.storage.local import LocalObjectStore


@dataclass(frozen=True)
class Adapters:
    settings: Settings
    store: LocalObjectStore
    photos: PhotoRepository


def build_adapters(settings: Settings) -> Adapters:
    engine = create_db_engine(settings.effective_database_url, pool_size=2)
    outbox = ObjectEventOutbox(engine)
    store = LocalObjectStore(
        settings.data_dir / "objects", event_sink=outbox.append, region=settings.region
    )
    return Adapters(settings=settings, store=store, photos=PhotoRepository(engine))


@functools.cache
def adapters() -> Adapters:
    """The adapters of this process, configured from ``BAKUSOKU_*`` environment variables."""
    return build_adapters(load_settings())
