"""Task resources: Lambda ARNs versus service integrations; lambda:invoke's result and causes."""

from __future__ import annotations

import functools
import json
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

from bakusoku import arns
from bakusoku.workflow import jsontext

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


def executed_version(function_name: str) -> str:
    """The ``ExecutedVersion`` Lambda reports for a call of ``function_name``.

    A version qualifier runs that version; ``$LATEST``, no qualifier or an alias report
    ``$LATEST`` (Lambda reports the version an alias points to, which only Lambda knows).
    """
    try:
        qualifier = arns.FunctionRef.parse(function_name).qualifier
    except arns.ArnError:
        return LATEST
    return qualifier if qualifier and qualifier.isdigit() else LATEST


LATEST = "$LATEST"


def lambda_invoke_result(payload: Any, *, version: str = LATEST) -> dict[str, Any]:
    """The result of ``arn:aws:states:::lambda:invoke``: Lambda's Invoke response, as AWS shows it.

    ``Payload`` is the function's result as a JSON value; ``SdkHttpMetadata`` carries the
    response headers as the AWS SDK for Java holds them: ``HttpHeaders`` in a case-insensitive
    sorted map, ``AllHttpHeaders`` in a hash map. ``Content-Length`` is the size of the result as
    the Python runtime writes it.
    """
    request_id = str(uuid.uuid4())
    now = datetime.now(UTC)
    headers = {
        "Connection": "keep-alive",
        "Content-Length": str(len(json.dumps(payload).encode())),
        "Content-Type": "application/json",
        "Date": format_datetime(now, usegmt=True),
        "X-Amz-Executed-Version": version,
        "x-amzn-Remapped-Content-Length": "0",
        "x-amzn-RequestId": request_id,
        "X-Amzn-Trace-Id": f"root=1-{int(now.timestamp()):08x}-{uuid.uuid4().hex[:24]};sampled=0",
    }
    return {
        "ExecutedVersion": version,
        "Payload": payload,
        "SdkHttpMetadata": {
            "AllHttpHeaders": {key: [headers[key]] for key in java_hash_map_order(list(headers))},
            "HttpHeaders": headers,
            "HttpStatusCode": 200,
        },
        "SdkResponseMetadata": {"RequestId": request_id},
        "StatusCode": 200,
    }


def optimised_lambda_cause(cause: str) -> str:
    """The Cause of a failed ``lambda:invoke``: the function's error document, written compactly.

    A plain function ARN passes on the error document as the runtime wrote it (the Python
    runtime: ``{"errorMessage": "...", "errorType": ...}`` with spaces). The optimised
    integration parses it and writes it again without spaces, keys in the order the runtime
    gave them (``errorMessage``, ``errorType``, ``requestId``, ``stackTrace`` for Python's), as
    executions recorded on AWS show. A cause that is not such a document is passed on as is.
    """
    if not cause.startswith("{"):
        return cause
    try:
        document = json.loads(cause)
    except ValueError:
        return cause
    if not isinstance(document, dict) or "errorType" not in document:
        return cause
    return jsontext.dumps(document)


def java_hash_map_order(keys: list[str]) -> list[str]:
    """``keys`` (in insertion order) in the order a ``java.util.HashMap`` holding them iterates.

    Buckets are the spread ``String.hashCode`` modulo the table size (16, doubled whenever the
    map is over three quarters full); keys in one bucket keep their insertion order.
    """
    capacity = 16
    while len(keys) > capacity * 3 // 4:
        capacity *= 2
    position = {key: index for index, key in enumerate(keys)}
    return sorted(keys, key=lambda key: (_java_bucket(key, capacity), position[key]))


def _java_bucket(key: str, capacity: int) -> int:
    code = 0
    units = key.encode("utf-16-be")
    for index in range(0, len(units), 2):  # String.hashCode runs over UTF-16 code units
        code = (31 * code + int.from_bytes(units[index : index + 2], "big")) & 0xFFFFFFFF
    return (code ^ (code >> 16)) & (capacity - 1)
