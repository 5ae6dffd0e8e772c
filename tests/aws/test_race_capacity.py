"""A stage's scheduled provisioned concurrency, registered as CloudFormation would register it:
each scalable target names the live alias of a function of the stack, and Application Auto
Scaling takes its targets and one-time scheduled actions."""

from __future__ import annotations

import dataclasses
import io
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bakusoku.deploy.race_capacity import DIMENSION
from bakusoku.deploy.sam import build_template
from bakusoku.deploy.stages import load_stage
from bakusoku.races.capacity import FunctionCost, Machine, RaceProfile, plan_capacity
from bakusoku.races.plans import target_name, write_plan
from tests.deploy.conftest import REGION, example_settings

pytestmark = pytest.mark.integration

SERVICE, STAGE = "enphoto", "prod"
START = datetime(2026, 12, 6, 2, 30, tzinfo=UTC)


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


def test_scheduled_targets_name_live_aliases_and_are_taken(client: Any, tmp_path: Path) -> None:
    settings = dataclasses.replace(example_settings(), race_plans_dir=str(tmp_path))
    plan = plan_capacity(
        "shonan-2026",
        RaceProfile(photos=50_000, starts_at=START),
        [FunctionCost(n, 0.1, 0.6, 100, 2048) for n in ("store-photo", "make-renditions")],
        Machine(cores=2, memory_mb=24_000, task_timeout_seconds=30),
    )
    write_plan(settings, target_name(SERVICE, STAGE), plan)
    stage = load_stage(settings, SERVICE, STAGE, environ={}, now=START - timedelta(days=1))
    resources = build_template(stage)["Resources"]
    scalable = {
        k: v["Properties"]
        for k, v in resources.items()
        if v["Type"] == "AWS::ApplicationAutoScaling::ScalableTarget"
    }
    assert len(scalable) == 2
    iam, lam, scaling = client("iam"), client("lambda"), client("application-autoscaling")
    role = iam.create_role(
        RoleName="race-capacity-test",
        AssumeRolePolicyDocument='{"Version": "2012-10-17", "Statement": []}',
    )["Role"]["Arn"]
    for props in scalable.values():
        _, function, alias = props["ResourceId"].split(":")
        # the stack's function and its live alias, as SAM's AutoPublishAlias makes them
        lam.create_function(
            FunctionName=function,
            Runtime="python3.12",
            Role=role,
            Handler="handler.handler",
            Code={"ZipFile": _code()},
            Publish=True,
        )
        lam.create_alias(FunctionName=function, Name=alias, FunctionVersion="1")
        assert lam.get_alias(FunctionName=function, Name=alias)["Name"] == "live"
        scaling.register_scalable_target(
            ServiceNamespace=props["ServiceNamespace"],
            ResourceId=props["ResourceId"],
            ScalableDimension=props["ScalableDimension"],
            MinCapacity=props["MinCapacity"],
            MaxCapacity=props["MaxCapacity"],
        )
        for action in props["ScheduledActions"]:
            scaling.put_scheduled_action(
                ServiceNamespace=props["ServiceNamespace"],
                ResourceId=props["ResourceId"],
                ScalableDimension=props["ScalableDimension"],
                **action,
            )
    registered = scaling.describe_scalable_targets(ServiceNamespace="lambda")["ScalableTargets"]
    assert {t["ResourceId"] for t in registered} == {p["ResourceId"] for p in scalable.values()}
    assert all(t["ScalableDimension"] == DIMENSION for t in registered)
    actions = scaling.describe_scheduled_actions(ServiceNamespace="lambda")["ScheduledActions"]
    by_name = {(a["ResourceId"], a["ScheduledActionName"]): a for a in actions}
    render = "function:enphoto-prod-make-renditions:live"
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
