"""The schema on AWS: a CloudFormation custom resource that applies the shipped migrations.

Handler: ``bakusoku.aws.migrate.handler``, the service token of the stack's ``DatabaseSchema``
custom resource. CloudFormation calls it when the stack is created and on every deploy that ships a
new migration head or names another database; it runs ``upgrade head`` against the database the
settings name (idempotent: applied migrations are skipped, as with ``bakusoku db upgrade``), then
answers CloudFormation at the request's presigned ``ResponseURL``. Deleting the stack leaves the
database as it is. Every request is answered, failures included, because CloudFormation otherwise
waits an hour for the answer before it rolls back.
"""

from __future__ import annotations

import json
import logging
import urllib.request
from typing import Any

from bakusoku.config import load_settings
from bakusoku.db.deployment import deployment_engine
from bakusoku.db.migrate import upgrade

log = logging.getLogger("bakusoku.migrate")

SUCCESS = "SUCCESS"
FAILED = "FAILED"
# One schema per stack: the same physical ID on every update, so CloudFormation never "replaces"
# the resource (which would send a Delete for the old one).
PHYSICAL_RESOURCE_ID = "bakusoku-database-schema"
_MAX_REASON = 3000  # CloudFormation takes at most 4 KiB of response body
RESPONSE_TIMEOUT_SECONDS = 10


def apply_migrations() -> str:
    """Bring the database the settings name to this release's head; returns its revision."""
    engine = deployment_engine(load_settings(), pool_size=1)
    try:
        return upgrade(engine)
    finally:
        engine.dispose()


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Answer one custom resource request; Create and Update migrate, Delete keeps the data."""
    status, reason = SUCCESS, "nothing to do when the stack deletes the resource"
    data: dict[str, Any] = {}
    if event.get("RequestType") in ("Create", "Update"):
        try:
            revision = apply_migrations()
            reason, data = f"the schema is at revision {revision}", {"Revision": revision}
        # Any failure must still reach CloudFormation as FAILED, so the deploy rolls back now.
        except Exception as exc:
            log.exception("migrating the database failed")
            status, reason = FAILED, f"{type(exc).__name__}: {exc}"
    response = custom_resource_response(event, context, status, reason, data)
    send_response(event["ResponseURL"], response)
    return response


def custom_resource_response(
    event: dict[str, Any], context: Any, status: str, reason: str, data: dict[str, Any]
) -> dict[str, Any]:
    """The response document CloudFormation expects for ``event``."""
    stream = getattr(context, "log_stream_name", None)
    if status == FAILED and stream:
        reason = f"{reason} (CloudWatch Logs stream {stream})"
    return {
        "Status": status,
        "Reason": reason[:_MAX_REASON],
        "PhysicalResourceId": event.get("PhysicalResourceId") or PHYSICAL_RESOURCE_ID,
        "StackId": event["StackId"],
        "RequestId": event["RequestId"],
        "LogicalResourceId": event["LogicalResourceId"],
        "NoEcho": False,
        "Data": data,
    }


def send_response(url: str, response: dict[str, Any]) -> None:
    """PUT the response to the presigned URL (signed without a content type, so none is sent)."""
    body = json.dumps(response).encode("utf-8")
    request = urllib.request.Request(
        url,
        data=body,
        method="PUT",
        headers={"Content-Type": "", "Content-Length": str(len(body))},
    )
    with urllib.request.urlopen(request, timeout=RESPONSE_TIMEOUT_SECONDS) as answer:
        answer.read()
