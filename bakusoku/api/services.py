"""What the API is built from: ``ApiServices``, assembled by whoever hosts the API."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import sqlalchemy as sa

from bakusoku.api.executions import ExecutionsPort
from bakusoku.config import Settings
from bakusoku.db.photos import PhotoRepository
from bakusoku.faces.service import FaceService
from bakusoku.faults import FaultControl
from bakusoku.graph.model import SystemGraph
from bakusoku.pipeline.certificate_workflow import certificate_door, process_starter
from bakusoku.races.certificate_door import CertificateDoor, ExecutionStarter
from bakusoku.storage.base import ObjectStore
from bakusoku.storage.presign import Presigner


@dataclass
class ApiServices:
    """What the API needs, built by whoever hosts it (``bakusoku up``, a Lambda, a test)."""

    settings: Settings
    # The database of photos, keys and the audit log: listings and the live feed read it.
    db: sa.Engine
    photos: PhotoRepository
    presigner: Presigner
    # Workflow executions: the embedded engine's, or Step Functions' on AWS.
    executions: ExecutionsPort
    # Where originals and renditions are removed when a photo is deleted.
    store: ObjectStore | None = None
    # The system map, read from the stack's template by the host (``bakusoku.deploy.graph``).
    graph: SystemGraph | None = None
    # Whether responses may stay open (server-sent events); where the host buffers them (API
    # Gateway and Lambda), /v1/events answers pages of changes for the web app to poll.
    stream_events: bool = True
    # The faults operators may inject (/v1/faults, `bakusoku chaos`): `bakusoku up`'s data
    # directory; None on AWS, where AWS FIS injects them.
    faults: FaultControl | None = None
    # Face search, consent and erasure (built from settings and db when not given).
    faces: FaceService = None  # type: ignore[assignment]
    # What starts certificate workflows: `bakusoku up` passes its engine's; when not given, Step
    # Functions on AWS, else an execution written for the engine that shares the database.
    certificate_starter: ExecutionStarter | None = None

    def __post_init__(self) -> None:
        if self.faces is None:
            self.faces = FaceService(self.settings, self.db)

    @functools.cached_property
    def certificates(self) -> CertificateDoor:
        """The door every route that records a result or a photo's bibs calls."""
        starter = self.certificate_starter or process_starter(self.settings, self.db)
        return certificate_door(self.settings, self.db, starter)
