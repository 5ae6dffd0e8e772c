"""The stack's dashboard and alarms: every alarm reaches the notifier's topic, the dashboard names
only resources of the template, and both follow the template's functions, queues and database.

The templates these tests read pass cfn-lint before and after the SAM transform
(tests/deploy/test_sam_template.py, for every service and stage of the example).
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from bakusoku.deploy.canary import alias_id
from bakusoku.deploy.monitoring import ALARM_TOPIC, DASHBOARD, monitored
from bakusoku.deploy.sam import build_template, logical_id
from bakusoku.deploy.stages import NOTIFIER, StageConfig, load_stage
from bakusoku.ops.dashboards.panels import PANELS
from tests.deploy.conftest import CASES, example_settings

_SUB = re.compile(r"\$\{([^}]+)\}")


def stage_of(case: tuple[str, str]) -> StageConfig:
    return load_stage(example_settings(), *case, environ={})


def resources_of(case: tuple[str, str]) -> dict[str, Any]:
    resources: dict[str, Any] = build_template(stage_of(case))["Resources"]
    return resources


def of_type(resources: dict[str, Any], kind: str) -> dict[str, Any]:
    return {name: r for name, r in resources.items() if r["Type"] == kind}


def watched(alarm: dict[str, Any]) -> Any:
    (dimension,) = alarm["Properties"]["Dimensions"]
    return dimension["Value"]


@pytest.mark.parametrize("case", CASES, ids=lambda c: "-".join(c))
def test_every_alarm_goes_to_the_topic_the_notifier_reads(case: tuple[str, str]) -> None:
    resources = resources_of(case)
    alarms = of_type(resources, "AWS::CloudWatch::Alarm")
    assert alarms
    for name, alarm in alarms.items():
        props = alarm["Properties"]
        assert props["AlarmActions"] == [{"Ref": ALARM_TOPIC}], name
        assert props["OKActions"] == [{"Ref": ALARM_TOPIC}], name
        assert props["AlarmDescription"], name
    assert resources[ALARM_TOPIC]["Type"] == "AWS::SNS::Topic"
    (subscription,) = of_type(resources, "AWS::SNS::Subscription").values()
    notifier = alias_id(logical_id(NOTIFIER))  # the published version, never $LATEST
    assert subscription["Properties"] == {
        "Protocol": "lambda",
        "TopicArn": {"Ref": ALARM_TOPIC},
        "Endpoint": {"Ref": notifier},
    }
    (permission,) = (
        p["Properties"]
        for p in of_type(resources, "AWS::Lambda::Permission").values()
        if p["Properties"]["Principal"] == "sns.amazonaws.com"
    )
    assert permission["FunctionName"] == {"Ref": notifier}
    assert permission["SourceArn"] == {"Ref": ALARM_TOPIC}


@pytest.mark.parametrize("case", CASES, ids=lambda c: "-".join(c))
def test_alarms_watch_the_machine_every_function_and_every_queue(case: tuple[str, str]) -> None:
    resources = resources_of(case)
    alarms = of_type(resources, "AWS::CloudWatch::Alarm").values()
    metrics = {(a["Properties"]["MetricName"], json.dumps(watched(a))) for a in alarms}
    for machine in of_type(resources, "AWS::Serverless::StateMachine"):
        for metric in ("ExecutionsFailed", "ExecutionsTimedOut", "ExecutionTime"):
            assert (metric, json.dumps({"Ref": machine})) in metrics
    functions = of_type(resources, "AWS::Serverless::Function")
    assert logical_id(NOTIFIER) in functions
    for function in functions:
        for metric in ("Errors", "Throttles"):
            assert (metric, json.dumps({"Ref": function})) in metrics, (function, metric)
    for queue in of_type(resources, "AWS::SQS::Queue"):
        depth = json.dumps({"Fn::GetAtt": [queue, "QueueName"]})
        assert ("ApproximateNumberOfMessagesVisible", depth) in metrics, queue


@pytest.mark.parametrize("case", CASES, ids=lambda c: "-".join(c))
def test_the_database_is_watched_when_the_stage_names_its_instance(case: tuple[str, str]) -> None:
    stage = stage_of(case)
    connections = [
        a
        for a in of_type(resources_of(case), "AWS::CloudWatch::Alarm").values()
        if a["Properties"]["MetricName"] == "DatabaseConnections"
    ]
    if stage.db_instance_identifier is None:
        assert connections == []
    else:
        (alarm,) = connections
        assert watched(alarm) == stage.db_instance_identifier


def test_the_example_names_a_database_somewhere() -> None:
    # So that the lint of every stage's template also lints the database alarm and widget.
    assert any(stage_of(case).db_instance_identifier for case in CASES)


def resolve(text: str, resources: dict[str, Any]) -> str:
    """Fn::Sub's text with each ``${...}`` checked to name a resource (or a pseudo parameter)."""

    def value(match: re.Match[str]) -> str:
        name, _, attribute = match.group(1).partition(".")
        assert name.startswith("AWS::") or name in resources, f"${{{match.group(1)}}}"
        assert not attribute or name in resources
        return f"resolved:{match.group(1)}"

    return _SUB.sub(value, text)


@pytest.mark.parametrize("case", CASES, ids=lambda c: "-".join(c))
def test_the_dashboard_is_json_naming_resources_of_the_template(case: tuple[str, str]) -> None:
    resources = resources_of(case)
    body = resources[DASHBOARD]["Properties"]["DashboardBody"]
    widgets = json.loads(resolve(body["Fn::Sub"], resources))["widgets"]
    functions = of_type(resources, "AWS::Serverless::Function")
    drawn: dict[str, set[str]] = {}
    for widget in widgets:
        assert widget["type"] == "metric"
        assert widget["properties"]["region"] == "resolved:AWS::Region"
        for namespace, metric, dimension, value, style in widget["properties"]["metrics"]:
            assert namespace.startswith("AWS/") and style["stat"]
            drawn.setdefault(f"{metric}/{dimension}", set()).add(value)
    # Every function's errors, throttles and duration are drawn; so is every queue's depth.
    for metric in ("Errors", "Throttles", "Duration"):
        assert drawn[f"{metric}/FunctionName"] == {f"resolved:{f}" for f in functions}
    queues = of_type(resources, "AWS::SQS::Queue")
    assert drawn["ApproximateNumberOfMessagesVisible/QueueName"] == {
        f"resolved:{q}.QueueName" for q in queues
    }
    # Its widgets are the shared panels that name CloudWatch metrics, in the same order.
    titles = [w["properties"]["title"] for w in widgets]
    mapped = [p.title for p in PANELS if p.cloudwatch]
    assert titles == [t for t in mapped if t in titles]
    assert set(mapped) - set(titles) <= {"Database"}  # drawn only where there is a database
    assert ("Database" in titles) == (stage_of(case).db_instance_identifier is not None)


def test_an_alarm_another_module_adds_keeps_its_queue_and_gets_the_topic() -> None:
    stage = stage_of(CASES[0])
    queue = {"Type": "AWS::SQS::Queue", "Properties": {}}
    theirs = {
        "Type": "AWS::CloudWatch::Alarm",
        "Properties": {
            "MetricName": "ApproximateNumberOfMessagesVisible",
            "Dimensions": [{"Name": "QueueName", "Value": {"Fn::GetAtt": ["Q", "QueueName"]}}],
        },
    }
    resources = monitored(stage, {"Q": queue, "QAlarm": theirs}, notifier="N")
    assert "QDepthAlarm" not in resources
    assert resources["QAlarm"]["Properties"]["AlarmActions"] == [{"Ref": ALARM_TOPIC}]
    assert "AlarmActions" not in theirs["Properties"]  # the caller's resources stay as they were
