"""The web app's pages and static files: the gallery, the upload page, a photo's page and a
race's bib review.

The pages are public and carry no data; their scripts call ``/v1`` with the visitor's key.
"""

from __future__ import annotations

from importlib import resources

from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from bakusoku.api.strict_requests import StrictRoute

STATIC_PATH = "/static"


def pages_router() -> APIRouter:
    router = APIRouter(route_class=StrictRoute)

    @router.get("/", include_in_schema=False)
    def gallery() -> HTMLResponse:
        return page("index.html")

    @router.get("/upload", include_in_schema=False)
    def upload_page() -> HTMLResponse:
        return page("upload.html")

    @router.get("/races/{album}/bibs", include_in_schema=False)
    def bib_review_page(album: str) -> HTMLResponse:
        return page("bibs.html")

    @router.get("/photos/{photo_id}", include_in_schema=False)
    def photo_page(photo_id: str) -> HTMLResponse:
        return page("photo.html")

    return router


def static_files() -> StaticFiles:
    """The pages' scripts and styles, mounted at ``STATIC_PATH``."""
    return StaticFiles(packages=[("bakusoku.api", "static")], html=False)


def page(name: str) -> HTMLResponse:
    """The static page ``name`` (the routes of other routers serve theirs with it too)."""
    page = resources.files("bakusoku.api") / "static" / name
    return HTMLResponse(page.read_text(encoding="utf-8"))
