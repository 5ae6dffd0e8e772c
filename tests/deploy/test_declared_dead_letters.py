"""Declared functions' asynchronous events on AWS: each function invoked by rules gets its own
dead-letter queue (the rules' DeadLetterConfig and RetryPolicy, Lambda's EventInvokeConfig), a
queue policy for its rules only, an alarm, and nothing for a function called by HTTP only."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from bakusoku.config import load_settings
from bakusoku.deploy import checks
from bakusoku.deploy.sam import build_template
from bakusoku.deploy.serverless import build_serverless, function_key
from bakusoku.deploy.stages import StageConfig, load_stage
from tests.deploy.conftest import EXAMPLE, REGION

pytest.importorskip("cfnlint", reason="needs the aws extra: pip install -e '.[aws,test]'")

QUEUE = "ImporterFunctionDeadLetterQueue"


@pytest.fixture(scope="module")
def stage(tmp_path_factory: pytest.TempPathFactory) -> StageConfig:
    config = yaml.safe_load(EXAMPLE.read_text())
    config["functions"] |= {
        "importer": {
            "handler": "bakusoku.ops.slow_queries.handler",
            "events": [
                {"object": {"prefix": "imports/"}},
                {"object": {"prefix": "imports-csv/"}},
                {"schedule": "rate(1 day)"},
                {"http": "POST /v1/imports"},
            ],
            "resources": {"bucket": [{"prefix": "imports/", "access": "read"}]},
        },
        "answer": {
            "handler": "bakusoku.ops.slow_queries.handler",
            "events": [{"http": "GET /v1/x"}],
        },
    }
    path = tmp_path_factory.mktemp("declared") / "bakusoku.yml"
    path.write_text(yaml.safe_dump(config))
    return load_stage(load_settings(config_file=path, environ={}), "enphoto", "dev")


@pytest.fixture(scope="module")
def template(stage: StageConfig) -> dict[str, Any]:
    return build_template(stage)


def test_every_rule_of_the_function_dead_letters_to_its_queue(template: dict[str, Any]) -> None:
    events = template["Resources"]["ImporterFunction"]["Properties"]["Events"]
    rules = {name: e for name, e in events.items() if e["Type"] != "HttpApi"}
    assert sorted(rules) == ["Objects1", "Objects2", "Schedule1"]
    for event in rules.values():
        assert event["Properties"]["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": [QUEUE, "Arn"]}}
        assert event["Properties"]["RetryPolicy"] == {
            "MaximumRetryAttempts": 185,
            "MaximumEventAgeInSeconds": 86400,
        }
    assert "DeadLetterConfig" not in events["Http1"]["Properties"]  # its caller gets the 500


def test_the_queue_takes_only_the_function_s_own_rules(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    assert resources[QUEUE]["Properties"]["QueueName"] == "enphoto-dev-importer-dlq"
    (statement,) = resources[f"{QUEUE}Policy"]["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert statement["Action"] == "sqs:SendMessage"
    sources = [
        s["Fn::Sub"].rsplit("/", 1)[1] for s in statement["Condition"]["ArnEquals"]["aws:SourceArn"]
    ]
    assert sorted(sources) == [
        "enphoto-dev-importer-objects-1",
        "enphoto-dev-importer-objects-2",
        "enphoto-dev-importer-schedule-1",
    ]
    alarm = resources[f"{QUEUE}Alarm"]["Properties"]
    assert alarm["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": [QUEUE, "QueueName"]}}
    ]
    assert alarm["AlarmActions"]  # the stack's alarm topic


def test_lambda_retries_twice_then_sends_to_the_same_queue(template: dict[str, Any]) -> None:
    props = template["Resources"]["ImporterFunction"]["Properties"]
    assert props["EventInvokeConfig"] == {
        "MaximumRetryAttempts": 2,
        "MaximumEventAgeInSeconds": 21600,
        "DestinationConfig": {
            "OnFailure": {"Type": "SQS", "Destination": {"Fn::GetAtt": [QUEUE, "Arn"]}}
        },
    }


def test_a_function_called_over_http_only_has_no_queue(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    assert "EventInvokeConfig" not in resources["AnswerFunction"]["Properties"]
    assert "AnswerFunctionDeadLetterQueue" not in resources
    # The example's hourly report is invoked by its schedule: it has one.
    assert "SlowQueriesFunctionDeadLetterQueue" in resources


def test_lint_clean_and_the_role_may_send_to_its_own_queue_only(template: dict[str, Any]) -> None:
    assert checks.cfn_lint(template, REGION) == []
    expanded = checks.expand_sam(template, REGION)
    assert checks.cfn_lint(expanded, REGION) == []
    role = expanded["Resources"]["ImporterFunctionRole"]["Properties"]
    sends = [
        s
        for p in role["Policies"]
        for s in p["PolicyDocument"]["Statement"]
        if "sqs:SendMessage" in s["Action"]
    ]
    assert [s["Resource"] for s in sends] == [{"Fn::GetAtt": [QUEUE, "Arn"]}]
    config = expanded["Resources"]["ImporterFunctionEventInvokeConfig"]["Properties"]
    assert config["Qualifier"] == "live"  # the alias the rules invoke
    for rule in ("ImporterFunctionObjects1", "ImporterFunctionSchedule1"):
        (target,) = expanded["Resources"][rule]["Properties"]["Targets"]
        assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": [QUEUE, "Arn"]}}


def test_serverless_gives_the_same_retries_and_queue(stage: StageConfig) -> None:
    document = build_serverless(stage, [stage])
    spec = document["functions"][function_key("importer")]
    assert spec["maximumRetryAttempts"] == 2
    assert spec["destinations"] == {
        "onFailure": {"type": "sqs", "arn": {"Fn::GetAtt": [QUEUE, "Arn"]}}
    }
    bridges = [e["eventBridge"] for e in spec["events"] if "eventBridge" in e]
    assert len(bridges) == 3  # the two prefixes and the schedule, as a rule of its own
    assert [b["schedule"] for b in bridges if "schedule" in b] == ["rate(1 day)"]
    for bridge in bridges:
        assert bridge["deadLetterQueueArn"] == {"Fn::GetAtt": [QUEUE, "Arn"]}
        assert bridge["retryPolicy"] == {"maximumRetryAttempts": 185, "maximumEventAge": 86400}
    resources = document["resources"]["Resources"]
    assert QUEUE in resources and f"{QUEUE}Alarm" in resources
    policy = resources["DeadLetterQueuePolicy"]["Properties"]
    assert {"Ref": QUEUE} in policy["Queues"]
