"""Recorded AWS calls as IAM authorization requests, and the deployed roles' policies.

``request_for`` names the IAM action and resource each API operation is authorized as (HeadObject
is ``s3:GetObject``, ListObjectsV2 is ``s3:ListBucket`` on the bucket with the ``s3:prefix`` key);
an operation without an entry raises, so a new kind of call cannot slip past the check.
``requests_for`` gives every request one call is authorized as: Rekognition's CreateCollection
with tags is two (the action, which takes no resource, with ``aws:RequestTag``/``aws:TagKeys``, and
TagResource on the new collection), as the Service Authorization Reference describes.
``role_policies`` reads a role's inline and attached policies back from the emulator's IAM, as
CloudFormation created them from the template.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import unquote

from tests.aws.iam_policy import Request


def _object(params: Mapping[str, Any]) -> str:
    return f"arn:aws:s3:::{params['Bucket']}/{params['Key']}"


def _bucket(params: Mapping[str, Any]) -> str:
    return f"arn:aws:s3:::{params['Bucket']}"


def _listing(params: Mapping[str, Any]) -> Mapping[str, str]:
    return {"s3:prefix": params["Prefix"]} if "Prefix" in params else {}


ACCOUNT = "123456789012"  # moto's default account, where the stack is created


def _collection(params: Mapping[str, Any], region: str) -> str:
    return f"arn:aws:rekognition:{region}:{ACCOUNT}:collection/{params['CollectionId']}"


def _request_tags(params: Mapping[str, Any]) -> dict[str, str | list[str]]:
    tags = params.get("Tags") or {}
    keys: dict[str, str | list[str]] = {f"aws:RequestTag/{k}": v for k, v in tags.items()}
    return {**keys, "aws:TagKeys": list(tags)} if tags else {}


# Rekognition's collection operations: (IAM action, whether it takes the collection as resource).
_REKOGNITION = {
    "CreateCollection": False,  # no resource type: authorized on "*", with the request's tags
    "IndexFaces": True,
    "SearchFacesByImage": True,
    "SearchFaces": True,
    "DeleteFaces": True,
    "DeleteCollection": True,
}


def _rekognition_requests(call: Mapping[str, Any]) -> list[Request]:
    operation, params = call["operation"], call["params"]
    collection = _collection(params, call["region"])
    tls = {"aws:SecureTransport": "true"}
    if _REKOGNITION[operation]:
        return [Request(f"rekognition:{operation}", collection, tls)]
    tagged = {**tls, **_request_tags(params)}
    requests = [Request(f"rekognition:{operation}", "*", tagged)]
    if params.get("Tags"):
        requests.append(Request("rekognition:TagResource", collection, tagged))
    return requests


# (service, operation) → (IAM action, resource from the parameters, condition keys)
_CALLS: dict[
    tuple[str, str], tuple[str, Callable[[Mapping[str, Any]], str], Callable[..., Any]]
] = {
    ("s3", "PutObject"): ("s3:PutObject", _object, lambda p: {}),
    ("s3", "GetObject"): ("s3:GetObject", _object, lambda p: {}),
    ("s3", "HeadObject"): ("s3:GetObject", _object, lambda p: {}),
    ("s3", "DeleteObject"): ("s3:DeleteObject", _object, lambda p: {}),
    ("s3", "ListObjectsV2"): ("s3:ListBucket", _bucket, _listing),
    ("s3", "ListObjects"): ("s3:ListBucket", _bucket, _listing),
    ("s3", "HeadBucket"): ("s3:ListBucket", _bucket, lambda p: {}),
    ("secretsmanager", "GetSecretValue"): (
        "secretsmanager:GetSecretValue",
        lambda p: p["SecretId"],
        lambda p: {},
    ),
    ("stepfunctions", "DescribeExecution"): (
        "states:DescribeExecution",
        lambda p: p["executionArn"],
        lambda p: {},
    ),
    ("stepfunctions", "GetExecutionHistory"): (
        "states:GetExecutionHistory",
        lambda p: p["executionArn"],
        lambda p: {},
    ),
    ("stepfunctions", "RedriveExecution"): (
        "states:RedriveExecution",
        lambda p: p["executionArn"],
        lambda p: {},
    ),
    ("stepfunctions", "StartExecution"): (
        "states:StartExecution",
        lambda p: p["stateMachineArn"],
        lambda p: {},
    ),
    ("stepfunctions", "ListExecutions"): (
        "states:ListExecutions",
        lambda p: p["stateMachineArn"],
        lambda p: {},
    ),
    ("lambda", "Invoke"): (
        "lambda:InvokeFunction",
        lambda p: p["FunctionName"],
        lambda p: {},
    ),
}


class UnmappedCallError(Exception):
    """A recorded call whose IAM action is not known here: add it to ``_CALLS``."""


def requests_for(call: Mapping[str, Any]) -> list[Request]:
    """Every authorization request one recorded call (see ``call_recorder``) is evaluated as."""
    if call["service"] == "rekognition" and call["operation"] in _REKOGNITION:
        return _rekognition_requests(call)
    return [request_for(call)]


def request_for(call: Mapping[str, Any]) -> Request:
    """The authorization request one recorded call (see ``call_recorder``) is evaluated as."""
    key = (call["service"], call["operation"])
    if key not in _CALLS:
        raise UnmappedCallError(
            f"{call['function']} called {key[0]} {key[1]}, which has no IAM mapping in "
            "tests/aws/authorization.py: add its action, resource and condition keys"
        )
    action, resource, context = _CALLS[key]
    params = call["params"]
    # Every request reaches AWS over TLS (the template's bucket policy denies anything else).
    return Request(action, resource(params), {"aws:SecureTransport": "true", **context(params)})


def role_policies(iam: Any, role_arn: str) -> list[dict[str, Any]]:
    """Every policy document of the role: inline ones and attached managed ones."""
    name = role_arn.rsplit("/", 1)[-1]
    documents = []
    for policy_name in iam.list_role_policies(RoleName=name)["PolicyNames"]:
        document = iam.get_role_policy(RoleName=name, PolicyName=policy_name)["PolicyDocument"]
        documents.append(_document(document))
    for attached in iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]:
        try:
            policy = iam.get_policy(PolicyArn=attached["PolicyArn"])["Policy"]
        except iam.exceptions.NoSuchEntityException:
            # AWS managed policies (basic execution, X-Ray) that the emulator does not carry;
            # they grant logs and tracing only, which no recorded call needs.
            continue
        version = iam.get_policy_version(
            PolicyArn=attached["PolicyArn"], VersionId=policy["DefaultVersionId"]
        )
        documents.append(_document(version["PolicyVersion"]["Document"]))
    return documents


def _document(document: Any) -> dict[str, Any]:
    if not isinstance(document, str):
        return dict(document)
    text = unquote(document)
    try:
        return dict(json.loads(text))
    except ValueError:
        # moto's CloudFormation stores an inline policy as the Python text of the dict it was
        # given ({'Effect': 'Allow', ...}), not as JSON: read that literal back.
        return dict(ast.literal_eval(text))
