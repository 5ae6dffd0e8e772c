"""The HTTP API on AWS Lambda, behind an API Gateway HTTP API (payload format 2.0).

Handler: ``bakusoku.aws.api.handler``. The FastAPI app is the one ``bakusoku up``
serves, wired to Amazon S3 (presigned with the function's role), the database and Step Functions.
Built once per execution environment from the settings the template puts in the function's
environment (``bakusoku.config``). The schema is not touched here: the stack's migration function
(``bakusoku.aws.migrate``) applies the migrations on deploy, before this function is updated.
"""

from __future__ import annotations

import functools
from typing import Any

from mangum import Mangum

from bakusoku.api.app import create_api_app
from bakusoku.api.services import ApiServices
from bakusoku.aws.executions import StepFunctionsExecutions
from bakusoku.config import Settings, load_settings, require
from bakusoku.db.deployment import deployment_engine
from bakusoku.db.photos import PhotoRepository
from bakusoku.graph.stored import bundled_map
from bakusoku.secrets import with_secrets
from bakusoku.storage.s3 import S3ObjectStore, S3Presigner

# The secret settings the API reads from their secrets: the operators' admin token, the key of
# transform URLs (the transform function's too), the LINE webhook's channel secret and the Web
# Push key whose public half the runner page subscribes with.
API_SECRETS = (
    "admin_token",
    "transform_signing_key",
    "line_channel_secret",
    "vapid_private_key",
)


def api_settings() -> Settings:
    """The function's settings, with :data:`API_SECRETS` read from the secrets the environment
    names."""
    return with_secrets(load_settings(), API_SECRETS)


@functools.cache
def _adapter() -> Mangum:
    settings = api_settings()
    machine = require(settings, "state_machine_arn")
    engine = deployment_engine(settings, pool_size=2)
    services = ApiServices(
        settings=settings,
        db=engine,
        photos=PhotoRepository(engine),
        presigner=S3Presigner(settings.region),
        executions=StepFunctionsExecutions(
            machine, settings.region, engine, settings.upload_prefix
        ),
        store=S3ObjectStore(settings.region),
        graph=bundled_map(),  # read from the template when the bundle was packaged
        # Mangum buffers a response whole, and the function and API Gateway time out long
        # before a stream would end: the web app polls /v1/events instead.
        stream_events=False,
    )
    return Mangum(create_api_app(services), lifespan="off")


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Lambda entry point: one API Gateway HTTP API (v2) request in, one response out."""
    response: dict[str, Any] = _adapter()(event, context)
    return response
