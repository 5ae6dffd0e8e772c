"""The HTTP API, composed: error handlers, access control, then one router per resource.

Each resource's routes live in ``bakusoku.api.routes`` (uploads, photos, albums, executions, live
events, keys and audit, pages, health, album codes, the parent API); this module only puts them together on one app.
"""

from __future__ import annotations

import sqlalchemy as sa
from fastapi import FastAPI

from bakusoku import __version__
from bakusoku.api.access import AccessControl, install_access_control
from bakusoku.api.errors import install_error_handlers
from bakusoku.api.limits import BodyLimits
from bakusoku.api.routes.albums import albums_router
from bakusoku.api.routes.audit import audit_router
from bakusoku.api.routes.bibs import bibs_router
from bakusoku.api.routes.certificates import certificates_router
from bakusoku.api.routes.codes import codes_router
from bakusoku.api.routes.events import events_router
from bakusoku.api.routes.executions import executions_router
from bakusoku.api.routes.faces import SEARCH_MAX_BODY_BYTES, SEARCH_PATH, faces_router
from bakusoku.api.routes.faults import faults_router
from bakusoku.api.routes.graph import graph_router
from bakusoku.api.routes.health import health_router
from bakusoku.api.routes.pages import STATIC_PATH, pages_router, static_files
from bakusoku.api.routes.parents import REFERENCES_PATH, parents_router
from bakusoku.api.routes.photos import photos_router
from bakusoku.api.routes.races import ROWS_PATH, races_router
from bakusoku.api.routes.runners import runners_router
from bakusoku.api.routes.transforms import image_router, publishable_check, transforms_router
from bakusoku.api.routes.uploads import uploads_router
from bakusoku.api.services import ApiServices
from bakusoku.config import Settings
from bakusoku.db.photos import PhotoRepository
from bakusoku.faces.service import FaceService
from bakusoku.storage.base import ObjectStore

__all__ = ["ApiServices", "create_api_app", "create_image_app"]


# Starlette answers a path that differs by a trailing slash with a redirect whose Location names
# the request's own Host header: an open redirect, and a poisoned entry in any cache in front of
# us that keys by path. Such a path is answered as the unknown path it is.
_REDIRECT_SLASHES = False


def create_api_app(services: ApiServices) -> FastAPI:
    app = FastAPI(
        title="bakusoku",
        version=__version__,
        docs_url="/docs",
        redirect_slashes=_REDIRECT_SLASHES,
    )
    install_error_handlers(app)
    access = AccessControl.from_settings(services.settings, services.db)
    install_access_control(app, access)
    app.mount(STATIC_PATH, static_files(), name="static")
    app.include_router(pages_router())
    app.include_router(health_router(services))
    app.include_router(uploads_router(services, access))
    app.include_router(photos_router(services, access))
    app.include_router(albums_router(services))
    app.include_router(faces_router(services, access))
    app.include_router(executions_router(services, access))
    app.include_router(events_router(services, access))
    app.include_router(audit_router(access))
    app.include_router(graph_router(services))
    app.include_router(faults_router(services))
    app.include_router(transforms_router(services, access))
    app.include_router(races_router(services))
    app.include_router(codes_router(services, access))
    app.include_router(parents_router(services, access))
    app.include_router(runners_router(services, access))
    app.include_router(bibs_router(services))
    app.include_router(certificates_router(services))
    _limit_bodies(app, services)
    return app


def create_image_app(settings: Settings, db: sa.Engine, store: ObjectStore) -> FastAPI:
    """Only ``/img/...``: the transform function behind the edge answers nothing else, and needs
    no key, executions or presigner (the signature is the permission)."""
    app = FastAPI(
        title="bakusoku transforms",
        version=__version__,
        docs_url=None,
        redoc_url=None,
        redirect_slashes=_REDIRECT_SLASHES,
    )
    install_error_handlers(app)
    publishable = publishable_check(FaceService(settings, db), settings.upload_prefix)
    app.include_router(image_router(settings, PhotoRepository(db), store, publishable))
    return app


def _limit_bodies(app: FastAPI, services: ApiServices) -> None:
    """Added last, so it runs first: no oversized or trickled body reaches a route, or even the
    key check."""
    app.add_middleware(
        BodyLimits,
        max_bytes=services.settings.api_max_body_bytes,
        read_timeout=services.settings.api_body_timeout_seconds,
        per_pattern=[
            (ROWS_PATH, services.settings.race_rows_max_bytes),
            (SEARCH_PATH, SEARCH_MAX_BODY_BYTES),
        ],
        # a parent's reference photo is a picture too
        per_path={REFERENCES_PATH: services.settings.parent_reference_max_bytes},
    )
