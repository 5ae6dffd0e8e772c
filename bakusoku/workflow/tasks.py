"""Task resources: Lambda ARNs versus service integrations, and lambda:invoke result shape."""

from __future__ import annotations

import functools
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

from bakusoku import arns

# The resource of arn:aws:states:::SERVICE:ACTION; SERVICE may have two parts ("aws-sdk:s3").
_INTEGRATION = re.compile(r"^(?P<service>[a-z0-9-]+(?::[a-z0-9-]+)?):(?P<action>.+)$")

LAMBDA_FUNCTION = "lambda-function"  # legacy direct ARN: LambdaFunction* history events
INTEGRATION = "integration"  # arn:aws:states:::service:action: Task* history events


@dataclass(frozen=True)
class Resource:
    """How a Task's Resource is run and reported."""

    arn: str
    kind: str
    resource_type: str  # taskScheduledEventDetails.resourceType, e.g. "lambda"
    resource: str  # taskScheduledEventDetails.resource, e.g. "invoke"

    @property
    def is_lambda_invoke(self) -> bool:
        return (
            self.kind == INTEGRATION
            and self.resource_type == "lambda"
            and self.resource.startswith("invoke")
        )

    @property
    def wait_for_task_token(self) -> bool:
        return self.resource.endswith(".waitForTaskToken")


@functools.lru_cache(maxsize=1024)  # a definition names few resources, each called often
def classify(arn: str) -> Resource:
    """Classify a Task Resource ARN (anything unrecognised is passed to the invoker as is)."""
    if arns.is_function_arn(arn):
        return Resource(arn, LAMBDA_FUNCTION, "lambda", arn)
    try:
        parsed = arns.Arn.parse(arn)
    except arns.ArnError:
        return Resource(arn, INTEGRATION, "task", arn)
    match = _INTEGRATION.match(parsed.resource)
    if (
        match
        and parsed.partition.startswith("aws")
        and parsed.service == "states"
        and not parsed.region
        and not parsed.account
    ):
        return Resource(arn, INTEGRATION, match.group("service"), match.group("action"))
    return Resource(arn, INTEGRATION, parsed.service, arn)


def function_arn(function_name: str, region: str, account: str) -> str:
    """The full function ARN for a FunctionName given as a name, partial ARN or full ARN."""
    if arns.is_arn(function_name):
        return function_name
    try:
        return arns.FunctionRef.parse(function_name).arn(region, account)
    except arns.ArnError:  # no such function can exist: the invoker reports it as not found
        return arns.function_arn(region, account, function_name)


def lambda_invoke_result(payload: Any, *, executed_version: str = "$LATEST") -> dict[str, Any]:
    """The result of ``arn:aws:states:::lambda:invoke``: the Invoke response, Payload parsed."""
    request_id = str(uuid.uuid4())
    date = format_datetime(datetime.now(UTC), usegmt=True)
    headers = {
        "Connection": "keep-alive",
        "Content-Type": "application/json",
        "Date": date,
        "X-Amz-Executed-Version": executed_version,
        "x-amzn-Remapped-Content-Length": "0",
        "x-amzn-RequestId": request_id,
    }
    return {
        "ExecutedVersion": executed_version,
        "Payload": payload,
        "SdkHttpMetadata": {
            "AllHttpHeaders": {key: [value] for key, value in headers.items()},
            "HttpHeaders": headers,
            "HttpStatusCode": 200,
        },
        "SdkResponseMetadata": {"RequestId": request_id},
        "StatusCode": 200,
    }
