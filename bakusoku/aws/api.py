"""The HTTP API on AWS Lambda, behind an API Gateway HTTP API (payload format 2.0).

Handler: ``bakusoku.aws.api.handler``. The FastAPI app is the one ``bakusoku up``
serves, wired to Amazon S3 (presigned with the function's role), the database and Step Functions.
Built once per execution environment; the schema is created on first start if missing.
"""

from __future__ import annotations

import functools
import os
from typing import Any

from mangum import Mangum

from bakusoku.api.app import create_api_app
from bakusoku.api.services import ApiServices
from bakusoku.aws.executions import StepFunctionsExecutions
from bakusoku.config import ConfigError, load_settings
from bakusoku.db.engine import create_db_engine, create_schema
from bakusoku.db.photos import PhotoRepository
from bakusoku.secrets import database_url_from_secret, secret_string
from bakusoku.storage.s3 import S3ObjectStore, S3Presigner

STATE_MACHINE_ARN = "BAKUSOKU_STATE_MACHINE_ARN"
ADMIN_TOKEN_SECRET_ARN = "BAKUSOKU_ADMIN_TOKEN_SECRET_ARN"


@functools.cache
def _adapter() -> Mangum:
    settings = load_settings()
    if os.environ.get(ADMIN_TOKEN_SECRET_ARN):  # the operators' token, from Secrets Manager
        token = secret_string(os.environ[ADMIN_TOKEN_SECRET_ARN], settings.region).strip()
        settings = load_settings({"admin_token": token})
    url = settings.effective_database_url
    if settings.database_secret_arn:
        url = database_url_from_secret(settings.database_secret_arn, settings.region)
    engine = create_db_engine(url, pool_size=2)
    create_schema(engine)
    machine = os.environ.get(STATE_MACHINE_ARN, "")
    if not machine:
        raise ConfigError(f"{STATE_MACHINE_ARN} is not set; the template sets it")
    services = ApiServices(
        settings=settings,
        db=engine,
        photos=PhotoRepository(engine),
        presigner=S3Presigner(settings.region),
        executions=StepFunctionsExecutions(
            machine, settings.region, engine, settings.upload_prefix
        ),
        store=S3ObjectStore(settings.region),
    )
    return Mangum(create_api_app(services), lifespan="off")


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Lambda entry point: one API Gateway HTTP API (v2) request in, one response out."""
    response: dict[str, Any] = _adapter()(event, context)
    return response
