"""A stage's scheduled provisioned concurrency, registered as CloudFormation would register it
from the expanded template: each scalable target names what its function's callers invoke (the
published version a state machine's Tasks call, the live alias of a function called directly),
and Application Auto Scaling takes its targets and one-time scheduled actions."""

from __future__ import annotations

import dataclasses
import io
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bakusoku.deploy import checks
from bakusoku.deploy.canary import ALIAS
from bakusoku.deploy.race_capacity import DIMENSION
from bakusoku.deploy.sam import build_template
from bakusoku.deploy.stages import load_stage
from bakusoku.races.capacity import FunctionCost, Machine, RaceProfile, plan_capacity
from bakusoku.races.plans import target_name, write_plan
from tests.deploy.conftest import REGION, example_settings

pytestmark = pytest.mark.integration

SERVICE, STAGE = "enphoto", "prod"
START = datetime(2026, 12, 6, 2, 30, tzinfo=UTC)
WARMED = ("store-photo", "make-renditions", "api")


def _code() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler.py", "def handler(event, context):\n    return event\n")
    return buffer.getvalue()


@pytest.fixture
def client(emulator: str) -> Any:
    import boto3

    def make(service: str) -> Any:
        return boto3.client(service, endpoint_url=emulator, region_name=REGION)

    return make


def _resource_id(value: Any, versions: dict[str, str]) -> str:
    """The ResourceId as CloudFormation resolves it: a text, or ``function:NAME:`` joined with
    the ``Version`` attribute of a published version (``versions``: its logical id → number)."""
    if isinstance(value, str):
        return value
    separator, parts = value["Fn::Join"]
    resolved = [p if isinstance(p, str) else versions[p["Fn::GetAtt"][0]] for p in parts]
    return str(separator.join(resolved))


def test_scheduled_targets_name_what_the_callers_invoke_and_are_taken(
    client: Any, tmp_path: Path
) -> None:
    settings = dataclasses.replace(example_settings(), race_plans_dir=str(tmp_path))
    plan = plan_capacity(
        "shonan-2026",
        RaceProfile(photos=50_000, starts_at=START),
        [FunctionCost(n, 0.1, 0.6, 100, 2048) for n in WARMED],
        Machine(cores=2, memory_mb=24_000, task_timeout_seconds=30),
    )
    write_plan(settings, target_name(SERVICE, STAGE), plan)
    stage = load_stage(settings, SERVICE, STAGE, environ={}, now=START - timedelta(days=1))
    expanded = checks.expand_sam(build_template(stage), REGION)["Resources"]
    scalable = {
        k: v["Properties"]
        for k, v in expanded.items()
        if v["Type"] == "AWS::ApplicationAutoScaling::ScalableTarget"
    }
    assert len(scalable) == len(WARMED)
    iam, lam, scaling = client("iam"), client("lambda"), client("application-autoscaling")
    role = iam.create_role(
        RoleName="race-capacity-test",
        AssumeRolePolicyDocument='{"Version": "2012-10-17", "Statement": []}',
    )["Role"]["Arn"]
    # Each function of the stack with the version and the live alias SAM's AutoPublishAlias makes
    # (AWS::Lambda::Version, then the alias at it), published in the emulator.
    versions: dict[str, str] = {}
    for logical, resource in expanded.items():
        if resource["Type"] != "AWS::Lambda::Function":
            continue
        name = resource["Properties"]["FunctionName"]
        lam.create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=role,
            Handler="handler.handler",
            Code={"ZipFile": _code()},
        )
        number = lam.publish_version(FunctionName=name)["Version"]
        [version] = [
            k
            for k, v in expanded.items()
            if v["Type"] == "AWS::Lambda::Version"
            and v["Properties"]["FunctionName"] == {"Ref": logical}
        ]
        versions[version] = number
        lam.create_alias(FunctionName=name, Name=ALIAS, FunctionVersion=number)
    # The version a pinned target names is the one the state machine's Task names.
    substitutions = expanded["PhotoPipeline"]["Properties"]["DefinitionSubstitutions"]
    tasks = {v["Ref"] for v in substitutions.values()}
    resource_ids = {}
    for props in scalable.values():
        resource_id = _resource_id(props["ResourceId"], versions)
        _, function, qualifier = resource_id.split(":")
        if function.endswith("-api"):
            assert qualifier == ALIAS  # the HTTP API calls the alias
        else:  # a Task calls the version: never both (Lambda refuses it)
            version = props["ResourceId"]["Fn::Join"][1][2]["Fn::GetAtt"][0]
            assert version in tasks and qualifier == versions[version], resource_id
        lam.get_function(FunctionName=function, Qualifier=qualifier)  # it exists
        resource_ids[function] = resource_id
        scaling.register_scalable_target(
            ServiceNamespace=props["ServiceNamespace"],
            ResourceId=resource_id,
            ScalableDimension=props["ScalableDimension"],
            MinCapacity=props["MinCapacity"],
            MaxCapacity=props["MaxCapacity"],
        )
        for action in props["ScheduledActions"]:
            scaling.put_scheduled_action(
                ServiceNamespace=props["ServiceNamespace"],
                ResourceId=resource_id,
                ScalableDimension=props["ScalableDimension"],
                **action,
            )
    registered = scaling.describe_scalable_targets(ServiceNamespace="lambda")["ScalableTargets"]
    assert {t["ResourceId"] for t in registered} == set(resource_ids.values())
    assert all(t["ScalableDimension"] == DIMENSION for t in registered)
    actions = scaling.describe_scheduled_actions(ServiceNamespace="lambda")["ScheduledActions"]
    by_name = {(a["ResourceId"], a["ScheduledActionName"]): a for a in actions}
    render = resource_ids["enphoto-prod-make-renditions"]
    assert render == "function:enphoto-prod-make-renditions:1"
    warm = {f.function: f.provisioned for f in plan.functions}["make-renditions"]
    assert by_name[(render, "shonan-2026-raise")]["Schedule"] == "at(2026-12-06T02:15:00)"
    assert by_name[(render, "shonan-2026-raise")]["ScalableTargetAction"] == {
        "MinCapacity": warm,
        "MaxCapacity": warm,
    }
    assert by_name[(render, "shonan-2026-lower")]["ScalableTargetAction"] == {
        "MinCapacity": 0,
        "MaxCapacity": 0,
    }
