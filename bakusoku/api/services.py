"""What the API is built from: ``ApiServices``, assembled by whoever hosts the API."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from bakusoku.api.executions import ExecutionsPort
from bakusoku.config import Settings
from bakusoku.db.photos import PhotoRepository
from bakusoku.faces.service import FaceService
from bakusoku.faults import FaultControl
from bakusoku.graph.model import SystemGraph
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

    def __post_init__(self) -> None:
        if self.faces is None:
            self.faces = FaceService(self.settings, self.db)
