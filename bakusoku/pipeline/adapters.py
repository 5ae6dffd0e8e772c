"""The one place the object store and the photo repository are built from settings.

Handlers get theirs through :func:`adapters`: built once per execution environment and reused
while it is warm, exactly as module-level clients are reused in AWS Lambda. The embedded
deployment's store process and stack build their local store with :func:`local_store_with_outbox`,
so the store → outbox wiring (which keys notify, in which region, into which outbox) is written once.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import sqlalchemy as sa

from bakusoku.config import ConfigError, Settings, load_settings
from bakusoku.db.deployment import deployment_engine
from bakusoku.db.faces import FaceRepository
from bakusoku.db.gate import deployment_gate
from bakusoku.db.outbox import ObjectEventOutbox
from bakusoku.db.photos import PhotoRepository
from bakusoku.db.retry import is_transient, unavailable
from bakusoku.faces.backends import face_index
from bakusoku.faces.port import FaceIndex
from bakusoku.faults import fault_control
from bakusoku.pipeline.functions import declared, state_machines
from bakusoku.races.certificate_records import Certificates
from bakusoku.races.repository import PhotoBibs, RaceRepository
from bakusoku.storage.barrier import file_system_barrier
from bakusoku.storage.base import ObjectStore
from bakusoku.storage.errors import StorageUnavailableError
from bakusoku.storage.faulty import FaultyObjectStore
from bakusoku.storage.local import LocalObjectStore
from bakusoku.storage.notifications import KeyFilter, KeyFilters
from bakusoku.storage.s3 import S3ObjectStore


class EventOutbox(Protocol):
    """Where a stored upload's object-created event is recorded (an outbox of ``db.outbox``)."""

    def append(self, notification: Mapping[str, Any]) -> None: ...


@dataclass(frozen=True)
class Adapters:
    settings: Settings
    store: ObjectStore
    photos: PhotoRepository
    faces: FaceRepository
    races: RaceRepository
    bibs: PhotoBibs
    db: sa.Engine  # the deployment's database, for what has no repository here (the outbox)
    certificates: Certificates

    def face_index(self) -> FaceIndex | None:
        """The configured face index, built on first use (it loads the embedding model) and kept
        while the execution environment is warm."""
        return self._face_index

    @functools.cached_property
    def _face_index(self) -> FaceIndex | None:
        return face_index(self.settings, self.faces)


def objects_dir(settings: Settings) -> Path:
    """Where the local store keeps its buckets: ``objects`` under the data directory."""
    return settings.data_dir / "objects"


def notified_prefixes(settings: Settings) -> tuple[str, ...]:
    """The key prefixes whose new objects a rule of the deployment routes somewhere: the upload
    prefix (the photo pipeline) and each declared function's and state machine's object prefixes."""
    own = (d for f in declared(settings) if (d := f.declaration) is not None)
    machines = (o.prefix for m in state_machines(settings) for o in m.object_prefixes)
    return (settings.upload_prefix, *(o.prefix for d in own for o in d.object_prefixes), *machines)


def local_store_with_outbox(
    settings: Settings,
    outbox: EventOutbox,
    *,
    wake: Callable[[], None] | None = None,
    direct_writes: bool = False,
    group_sync: bool = False,
) -> LocalObjectStore:
    """The local store whose uploads record their object-created event in ``outbox``.

    Only keys under ``upload_prefix`` and the declared object prefixes notify, as the
    deployment's rules match on AWS: rendition writes add no event. ``wake`` runs after each recorded event (to wake the trigger at once).
    An outbox whose database fails (out of reach for a moment, or refusing the write: a full
    disk, an I/O error) fails the upload as S3's ``503`` would (``StorageUnavailableError``):
    the object is not kept, and the client's retry stores it once the database is back.
    """

    def record(notification: dict[str, Any]) -> None:
        try:
            outbox.append(notification)
        except Exception as exc:
            if not _database_failure(exc):
                raise
            # Nothing is stored without its event: the client's retry (S3's 503) stores it again.
            raise StorageUnavailableError(
                f"the upload's event could not be recorded: {_why(exc)}",
                reason="ServiceUnavailable",
                status=503,
            ) from exc
        if wake is not None:
            wake()

    return LocalObjectStore(
        objects_dir(settings),
        event_sink=record,
        region=settings.region,
        direct_writes=direct_writes,
        # One syncfs for all the uploads that finish meanwhile (storage.barrier), where it exists.
        barrier=file_system_barrier(objects_dir(settings)) if group_sync else None,
        event_filter=KeyFilters(tuple(KeyFilter(prefix=p) for p in notified_prefixes(settings))),
    )


def _database_failure(exc: BaseException) -> bool:
    """Whether the database failed, rather than our code: the upload is not at fault either way.

    Besides what passes by itself (``is_transient``), a database can refuse a write for as long
    as someone must act: DB-API's OperationalError, "not under the programmer's control" (SQLite's
    "database or disk is full", "disk I/O error"). The uploader can only retry later, which is
    what S3's 503 asks of it; an error in our statement (an integrity or programming error)
    stays a 500.
    """
    return is_transient(exc) or isinstance(exc, sa.exc.OperationalError)


def _why(exc: BaseException) -> str:
    if is_transient(exc):
        return unavailable(exc).message
    detail = str(getattr(exc, "orig", None) or exc).splitlines()[0][:300]
    return f"the database refused it ({type(exc).__name__}: {detail}); check its disk and logs"


def object_store(settings: Settings, engine: sa.Engine) -> ObjectStore:
    """The store ``object_store`` names: S3 (which emits its events itself) or the local one."""
    if settings.object_store == "s3":
        return S3ObjectStore(settings.region)
    if settings.object_store == "local":
        return local_store_with_outbox(settings, ObjectEventOutbox(engine))
    raise ConfigError(f"setting 'object_store' is {settings.object_store!r}: use local or s3")


def build_adapters(settings: Settings) -> Adapters:
    gate = deployment_gate(settings.data_dir, settings.db_max_connections, settings.db_wait_seconds)
    faults = fault_control(settings)  # a chaos experiment's faults (bakusoku up only)
    engine = deployment_engine(settings, gate=gate, faults=faults)  # AWS: the secret, over TLS
    store = object_store(settings, engine)
    return Adapters(
        settings=settings,
        store=store if faults is None else FaultyObjectStore(store, faults),
        photos=PhotoRepository(engine, retry_seconds=settings.db_retry_seconds),
        faces=FaceRepository(engine, retry_seconds=settings.db_retry_seconds),
        races=RaceRepository(engine),
        bibs=PhotoBibs(engine),
        db=engine,
        certificates=Certificates(engine),
    )


@functools.cache
def adapters() -> Adapters:
    """The adapters of this process, configured from ``BAKUSOKU_*`` environment variables."""
    return build_adapters(load_settings())
