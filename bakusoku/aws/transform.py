"""On-the-fly transforms on AWS Lambda, behind the stack's CloudFront distribution.

Handler: ``bakusoku.aws.transform.handler``. CloudFront reaches the function through its Function
URL, signing each request with origin access control (the URL's auth type is ``AWS_IAM``, so
nothing else may call it); Lambda hands the function the request in the API Gateway HTTP API
(2.0) payload shape, which Mangum reads. It serves ``/img/{signature}/{options}/{photo_id}`` only
(``api.app.create_image_app``), with the key the API signs with, read from Secrets Manager once per
execution environment. An answer larger than ``transform_inline_max_bytes`` is stored beside the
photo's renditions and answered with a redirect that the distribution serves from the bucket:
Lambda buffers at most 6 MB of response, and a binary body travels base64-encoded.
"""

from __future__ import annotations

import functools
from typing import Any

from mangum import Mangum

from bakusoku.api.app import create_image_app
from bakusoku.aws.api import api_settings
from bakusoku.db.deployment import deployment_engine
from bakusoku.storage.s3 import S3ObjectStore


@functools.cache
def _adapter() -> Mangum:
    settings = api_settings()
    engine = deployment_engine(settings, pool_size=1)
    app = create_image_app(settings, engine, S3ObjectStore(settings.region))
    return Mangum(app, lifespan="off")


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Lambda entry point: one Function URL request (HTTP API 2.0 shape) in, one response out."""
    response: dict[str, Any] = _adapter()(event, context)
    return response
