"""The design presigned uploads replaced, served for bench/upload.py to measure against.

``bakusoku up`` plus one route, ``POST /v1/bench/direct-upload?album=&filename=``: the photo's
bytes go through the API server, which stores them, runs the pipeline and answers only when the
photo is processed. It exists for the benchmark alone, so it is built here from the embedded stack
rather than shipped in the product's API.

    python bench/baseline_server.py --port 8080 --store-port 8081 --data-dir DIR --workers 2
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import uuid
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bakusoku.config import load_settings
from bakusoku.domain.keys import upload_key
from bakusoku.events import execution_name
from bakusoku.local.serve import serve_apps
from bakusoku.local.stack import EmbeddedStack
from bakusoku.storage.local import LocalObjectStore


def direct_upload(
    stack: EmbeddedStack, album: str, filename: str, content_type: str, data: bytes
) -> dict[str, Any]:
    """Store the bytes, then process them, then answer: the photo's final status."""
    settings = stack.settings
    photo_id = str(uuid.uuid4())
    key = upload_key(settings.upload_prefix, album, photo_id, content_type)
    stack.photos.create_pending(
        photo_id=photo_id,
        album=album,
        bucket=settings.bucket,
        object_key=key,
        filename=filename,
        content_type=content_type,
        declared_size=len(data),
    )
    # A store of our own that hands the event back here instead of to the trigger: this design
    # starts the execution itself and waits for it.
    captured: list[dict[str, Any]] = []
    quiet_store = LocalObjectStore(
        stack.objects_dir, event_sink=captured.append, region=settings.region
    )
    info = quiet_store.put_object(settings.bucket, key, data, content_type=content_type)
    name = execution_name(settings.bucket, key, info.etag.strip('"'))
    stack.workflow.start_execution(stack.state_machine_arn, captured[0], name=name)
    stack.workflow.wait_for(name, timeout=300)
    return {"photo_id": photo_id, "status": stack.photos.get(photo_id)["status"]}


def add_direct_upload_route(app: FastAPI, stack: EmbeddedStack) -> None:
    @app.post("/v1/bench/direct-upload")
    async def direct(request: Request, album: str, filename: str) -> JSONResponse:
        data = await request.body()
        content_type = request.headers.get("content-type", "image/jpeg")
        result = await run_in_threadpool(direct_upload, stack, album, filename, content_type, data)
        return JSONResponse(result, 201)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--store-port", type=int, required=True)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    overrides = {
        "port": args.port,
        "store_port": args.store_port,
        "data_dir": args.data_dir,
        "workers": args.workers,
    }
    settings = load_settings(overrides)
    # the photo's bytes come through this API: its body cap is the upload cap, not the JSON one
    stack = EmbeddedStack(
        dataclasses.replace(settings, api_max_body_bytes=settings.max_upload_bytes)
    )
    stack.start()
    try:
        app = stack.api_app()
        add_direct_upload_route(app, stack)
        settings = stack.settings
        serve_apps([(app, settings.host, settings.port)])
    finally:
        stack.stop()


if __name__ == "__main__":
    main()
