"""The stack's resource policies, which moto's CloudFormation does not create, read from the
expanded template with their intrinsic functions resolved against what the emulator created.

Covers the intrinsics these resources use: ``Ref`` (resources, parameters, ``AWS::`` pseudo
parameters), ``Fn::GetAtt [X, Arn]`` and ``Fn::Sub``. A Lambda permission is rendered as the
statement Lambda keeps in the function's policy.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from tests.aws.stack import STAND_IN_DISTRIBUTION_ID, Stack

_SUB = re.compile(r"\$\{([^}]+)\}")


class Resolver:
    """Resolves intrinsic functions the way CloudFormation did for this stack."""

    def __init__(
        self,
        client: Callable[[str], Any],
        stack: Stack,
        parameters: Mapping[str, str],
        region: str,
        account: str,
    ) -> None:
        self._client = client
        self._stack = stack
        self._pseudo = {
            "AWS::Region": region,
            "AWS::AccountId": account,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
        }
        self._parameters = dict(parameters)
        self._region, self._account = region, account

    def __call__(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self(v) for v in value]
        if not isinstance(value, dict):
            return value
        if "Ref" in value:
            return self._ref(value["Ref"])
        if "Fn::GetAtt" in value:
            logical, attribute = value["Fn::GetAtt"]
            assert attribute == "Arn", value
            return self.arn(logical)
        if "Fn::Sub" in value:
            return self._sub(value["Fn::Sub"])
        return {k: self(v) for k, v in value.items()}

    def _ref(self, name: str) -> str:
        if name in self._pseudo:
            return self._pseudo[name]
        if name in self._parameters:
            return self._parameters[name]
        if self._kind(name) == "AWS::CloudFront::Distribution":  # not emulated: its stand-in
            return STAND_IN_DISTRIBUTION_ID
        return self._stack.physical[name]

    def _kind(self, logical: str) -> str:
        return str(self._stack.expanded["Resources"].get(logical, {}).get("Type", ""))

    def _sub(self, template: Any) -> str:
        text, extra = (template, {}) if isinstance(template, str) else template
        values = {k: self(v) for k, v in extra.items()}

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in values:
                return str(values[name])
            if name.endswith(".Arn"):
                return self.arn(name.removesuffix(".Arn"))
            return self._ref(name)

        return _SUB.sub(replace, text)

    def arn(self, logical: str) -> str:
        kind = self._stack.expanded["Resources"][logical]["Type"]
        physical = self._stack.physical[logical]
        where = f"{self._region}:{self._account}"
        if kind == "AWS::Lambda::Function":
            return f"arn:aws:lambda:{where}:function:{physical}"
        if kind == "AWS::SQS::Queue":
            return f"arn:aws:sqs:{where}:{physical.rsplit('/', 1)[-1]}"
        if kind == "AWS::S3::Bucket":
            return f"arn:aws:s3:::{physical}"
        if kind == "AWS::Events::Rule":
            return str(self._client("events").describe_rule(Name=physical)["Arn"])
        if kind in (
            "AWS::StepFunctions::StateMachine",
            "AWS::Lambda::Alias",
            "AWS::StepFunctions::StateMachineAlias",
        ):
            return physical
        raise AssertionError(f"no ARN rule for {kind} ({logical})")


def _resources(stack: Stack, kind: str) -> dict[str, dict[str, Any]]:
    return {
        logical: resource["Properties"]
        for logical, resource in stack.expanded["Resources"].items()
        if resource["Type"] == kind
    }


def function_policy(stack: Stack, resolve: Resolver, function: str) -> dict[str, Any]:
    """The resource policy of function ``function`` (logical id of the function or of one of its
    aliases, whose permissions apply to invocations of the alias): its Lambda permissions."""
    statements = []
    for properties in _resources(stack, "AWS::Lambda::Permission").values():
        if properties["FunctionName"] != {"Ref": function}:
            continue
        statement = {
            "Effect": "Allow",
            "Principal": {"Service": properties["Principal"]},
            "Action": properties["Action"],
            "Resource": resolve.arn(function),
        }
        condition: dict[str, Any] = {}
        if "SourceArn" in properties:
            condition["ArnLike"] = {"AWS:SourceArn": resolve(properties["SourceArn"])}
        # As Lambda writes them: the URL's auth type, and "only through the function URL".
        if "FunctionUrlAuthType" in properties:
            condition["StringEquals"] = {
                "lambda:FunctionUrlAuthType": properties["FunctionUrlAuthType"]
            }
        if properties.get("InvokedViaFunctionUrl"):
            condition["Bool"] = {"lambda:InvokedViaFunctionUrl": "true"}
        if condition:
            statement["Condition"] = condition
        statements.append(statement)
    return {"Version": "2012-10-17", "Statement": statements}


def queue_policy(stack: Stack, resolve: Resolver, queue: str) -> dict[str, Any]:
    """The policy documents the template attaches to queue ``queue`` (logical id), merged."""
    statements: list[Any] = []
    for properties in _resources(stack, "AWS::SQS::QueuePolicy").values():
        if {"Ref": queue} in properties["Queues"]:
            statements.extend(resolve(properties["PolicyDocument"])["Statement"])
    return {"Version": "2012-10-17", "Statement": statements}


def bucket_policy(stack: Stack, resolve: Resolver, bucket: str) -> dict[str, Any]:
    statements: list[Any] = []
    for properties in _resources(stack, "AWS::S3::BucketPolicy").values():
        if properties["Bucket"] == {"Ref": bucket}:
            statements.extend(resolve(properties["PolicyDocument"])["Statement"])
    return {"Version": "2012-10-17", "Statement": statements}
