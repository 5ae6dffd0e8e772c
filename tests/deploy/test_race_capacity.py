"""A stage's race plans in its template: scheduled provisioned concurrency on what the callers
invoke (the published version a state machine's Tasks call, the live alias of a function called
directly), reservations raised while a plan stands, lint-clean before and after the SAM
transform."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bakusoku.deploy import checks
from bakusoku.deploy.race_capacity import DIMENSION, race_lines, schedule_at
from bakusoku.deploy.sam import build_template, logical_id
from bakusoku.deploy.stages import StageConfig, load_stage
from bakusoku.races.capacity import FunctionCost, Machine, RaceProfile, plan_capacity
from bakusoku.races.plans import target_name, write_plan
from tests.deploy.conftest import REGION, example_settings

pytest.importorskip("cfnlint", reason="needs the aws extra: pip install -e '.[aws,test]'")

START = datetime(2026, 12, 6, 2, 30, tzinfo=UTC)  # 11:30 in Tokyo
COSTS = [
    FunctionCost("api", 0.02, 0.06, 100, 1024, connections=2),
    FunctionCost("store-photo", 0.05, 0.15, 100, 2048),
    FunctionCost("make-renditions", 0.96, 1.45, 100, 3008),
    FunctionCost("mark-ready", 0.02, 0.06, 100, 512),
]
PLAN = plan_capacity(
    "shonan-2026",
    RaceProfile(photos=100_000, starts_at=START),
    COSTS,
    Machine(cores=2, memory_mb=24_000, task_timeout_seconds=30),
)


def stage_at(tmp_path: Path, now: datetime) -> StageConfig:
    settings = dataclasses.replace(example_settings(), race_plans_dir=str(tmp_path))
    write_plan(settings, target_name("enphoto", "prod"), PLAN)
    return load_stage(settings, "enphoto", "prod", environ={}, now=now)


def targets(template: dict[str, Any]) -> dict[str, Any]:
    return {
        k: v
        for k, v in template["Resources"].items()
        if v["Type"] == "AWS::ApplicationAutoScaling::ScalableTarget"
    }


def test_each_planned_function_is_warmed_on_what_its_callers_invoke_before_the_start(
    tmp_path: Path,
) -> None:
    stage = stage_at(tmp_path, START - timedelta(days=1))
    found = targets(build_template(stage))
    planned = {f.function: f for f in PLAN.functions}
    assert set(found) == {f"{logical_id(name)}ProvisionedConcurrency" for name in planned}
    render = found["MakeRenditionsFunctionProvisionedConcurrency"]
    props = render["Properties"]
    # A Task calls the version this deploy publishes: the target is that version, never also
    # the alias pointing at it (Lambda refuses provisioned concurrency on both).
    assert props["ResourceId"] == {
        "Fn::Join": [
            ":",
            [
                "function",
                "enphoto-prod-make-renditions",
                {"Fn::GetAtt": ["MakeRenditionsFunction.Version", "Version"]},
            ],
        ]
    }
    assert "DependsOn" not in render
    api = found["ApiFunctionProvisionedConcurrency"]  # called by the HTTP API: its alias
    assert api["Properties"]["ResourceId"] == "function:enphoto-prod-api:live"
    assert api["DependsOn"] == ["ApiFunctionAliaslive"]
    assert props["ScalableDimension"] == DIMENSION
    assert props["ServiceNamespace"] == "lambda"
    warm = planned["make-renditions"].provisioned
    assert props["MaxCapacity"] == warm
    assert props["ScheduledActions"] == [
        {
            "ScheduledActionName": "shonan-2026-raise",
            "Schedule": "at(2026-12-06T02:15:00)",
            "ScalableTargetAction": {"MinCapacity": warm, "MaxCapacity": warm},
        },
        {
            "ScheduledActionName": "shonan-2026-lower",
            "Schedule": "at(2026-12-06T06:30:00)",
            "ScalableTargetAction": {"MinCapacity": 0, "MaxCapacity": 0},
        },
    ]


def test_reservations_rise_while_the_plan_stands_and_fall_after(tmp_path: Path) -> None:
    before = stage_at(tmp_path, START - timedelta(days=1))
    asked = {f.function: f.reserved for f in PLAN.functions}
    assert asked["make-renditions"] > 30  # the stage reserves 30
    assert before.functions["make-renditions"].reserved_concurrency == asked["make-renditions"]
    assert before.functions["api"].reserved_concurrency == max(50, asked["api"])
    template = build_template(before)["Resources"]
    assert (
        template["MakeRenditionsFunction"]["Properties"]["ReservedConcurrentExecutions"]
        == asked["make-renditions"]
    )
    after = stage_at(tmp_path, START + timedelta(hours=5))
    assert after.race_plans == ()
    assert after.functions["make-renditions"].reserved_concurrency == 30
    assert targets(build_template(after)) == {}


def test_the_warmed_template_passes_cfn_lint_before_and_after_the_transform(
    tmp_path: Path,
) -> None:
    template = build_template(stage_at(tmp_path, START - timedelta(days=1)))
    assert checks.cfn_lint(template, REGION) == []
    expanded = checks.expand_sam(template, REGION)
    assert checks.cfn_lint(expanded, REGION) == []
    resources = expanded["Resources"]
    # the version a pinned target names is the one the state machine's Task names, and the
    # alias the API's target depends on is one SAM creates
    [version] = [
        v["Ref"]
        for k, v in resources["PhotoPipeline"]["Properties"]["DefinitionSubstitutions"].items()
        if k == "MakeRenditionsFunctionArn"
    ]
    qualifier = resources["MakeRenditionsFunctionProvisionedConcurrency"]["Properties"]
    assert qualifier["ResourceId"]["Fn::Join"][1][2] == {"Fn::GetAtt": [version, "Version"]}
    assert resources[version]["Type"] == "AWS::Lambda::Version"
    assert "ApiFunctionAliaslive" in resources


def test_schedules_are_written_in_utc() -> None:
    tokyo = datetime.fromisoformat("2026-12-06T11:15:00+09:00")
    assert schedule_at(tokyo) == "at(2026-12-06T02:15:00)"


def test_the_deploy_says_when_it_warms_and_when_to_deploy_again(tmp_path: Path) -> None:
    stage = stage_at(tmp_path, START - timedelta(days=1))
    (line,) = race_lines(stage.race_plans)
    warm = {f.function: f.provisioned for f in PLAN.functions}["make-renditions"]
    assert f"make-renditions {warm}" in line
    assert "from 2026-12-06T02:15:00+00:00 to 2026-12-06T06:30:00+00:00" in line
    assert "deploy again after 2026-12-06T06:30:00+00:00" in line
