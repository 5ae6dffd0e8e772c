"""What a stack shows and raises about itself: the CloudWatch dashboard, the alarms, and the SNS
topic that carries every alarm to the notifier, which posts it to the stage's Slack channel.

The dashboard is drawn from the panels of ``ops.dashboards.panels`` (the Grafana dashboard's own
list) wherever a panel names a CloudWatch metric, one line per resource of the template the metric
is measured for. The alarms watch the state machine (failed, slow and timed-out runs), every
function (errors, throttles), every queue (a message in a dead-letter queue) and, when the stage
names its RDS instance (``db_instance_identifier``), the database's connections. Every alarm of the
template, also one another module added, gets the topic as its alarm and OK action.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from bakusoku.deploy.canary import alias_id
from bakusoku.deploy.stages import StageConfig
from bakusoku.ops.dashboards.panels import PANELS, CloudWatchMetric, Dimension

ALARM_TOPIC = "AlarmTopic"
DASHBOARD = "OperationsDashboard"
ALARM = "AWS::CloudWatch::Alarm"
_FUNCTION = "AWS::Serverless::Function"
_STATE_MACHINE = "AWS::Serverless::StateMachine"
_QUEUE = "AWS::SQS::Queue"
_PERIOD = 300  # seconds each alarm sums or takes the maximum over
# One failed photo is alerted on its own (the notifier's rule); the alarm is for a burst of them.
FAILED_EXECUTIONS_BURST = 5
# Pipeline functions raise on bad photos, which the state machine catches: a few errors are normal.
FUNCTION_ERRORS_BURST = 5
# Upload to ready on AWS: a run's duration (ExecutionTime, milliseconds) at the 95th percentile.
# The pipeline takes seconds per photo; a p95 past a minute means waiting for concurrency or retries.
UPLOAD_TO_READY_P95_MS = 60_000
# The smallest RDS instance classes accept about a hundred connections (max_connections follows
# the instance's memory): alarm before a db.t4g.micro runs out; a larger class can bear more.
DATABASE_CONNECTIONS = 80


def function_alarms(function: str) -> list[str]:
    """The alarms of one function (its logical id): they roll back a canary deploy of it."""
    return [f"{function}ErrorsAlarm", f"{function}ThrottlesAlarm"]


def state_machine_alarms(machine: str) -> list[str]:
    """The alarms of a state machine's runs that roll back a canary deploy of it."""
    return [f"{machine}FailedAlarm", f"{machine}TimedOutAlarm"]


def monitored(stage: StageConfig, resources: Mapping[str, Any], *, notifier: str) -> dict[str, Any]:
    """``resources`` with the alarm topic, its subscription by ``notifier`` (a function's logical
    id; its ``live`` alias is subscribed), the alarms and the dashboard added, and the topic as
    the action of every alarm."""
    added: dict[str, Any] = {**resources, **alarm_topic(stage, notifier)}
    added |= alarms(stage, resources)
    added[DASHBOARD] = dashboard(stage, resources)
    return {
        name: _with_actions(resource) if resource.get("Type") == ALARM else resource
        for name, resource in added.items()
    }


def alarm_topic(stage: StageConfig, notifier: str) -> dict[str, Any]:
    """The topic every alarm publishes to, and the notifier subscribed to it."""
    return {
        ALARM_TOPIC: {
            "Type": "AWS::SNS::Topic",
            "Properties": {
                "TopicName": stage.resource_name("alarms"),
                "Tags": [
                    {"Key": "service", "Value": stage.service},
                    {"Key": "stage", "Value": stage.stage},
                ],
            },
        },
        f"{ALARM_TOPIC}Subscription": {
            "Type": "AWS::SNS::Subscription",
            "Properties": {
                "Protocol": "lambda",
                "TopicArn": {"Ref": ALARM_TOPIC},
                "Endpoint": {"Ref": alias_id(notifier)},
            },
        },
        f"{ALARM_TOPIC}Permission": {
            "Type": "AWS::Lambda::Permission",
            "Properties": {
                "Action": "lambda:InvokeFunction",
                "FunctionName": {"Ref": alias_id(notifier)},
                "Principal": "sns.amazonaws.com",
                "SourceArn": {"Ref": ALARM_TOPIC},
            },
        },
    }


def alarms(stage: StageConfig, resources: Mapping[str, Any]) -> dict[str, Any]:
    """The alarms of the stack's state machines, functions, queues and database."""
    found: dict[str, Any] = {}
    for machine in _of_type(resources, _STATE_MACHINE):
        failed, timed_out = state_machine_alarms(machine)
        found[failed] = _alarm(
            stage,
            f"{machine}-failed",
            f"{FAILED_EXECUTIONS_BURST} or more photos failed within {_PERIOD // 60} minutes: "
            "read the failure alerts for their error codes; a single code means a common cause",
            _metric("AWS/States", "ExecutionsFailed", "StateMachineArn", {"Ref": machine}, "Sum"),
            threshold=FAILED_EXECUTIONS_BURST,
            comparison="GreaterThanOrEqualToThreshold",
        )
        found[f"{machine}SlowAlarm"] = _alarm(
            stage,
            f"{machine}-slow",
            f"The 95th percentile of photo runs took over {UPLOAD_TO_READY_P95_MS // 1000} seconds "
            "in the last 5 minutes: look at the functions' throttles and durations",
            _metric("AWS/States", "ExecutionTime", "StateMachineArn", {"Ref": machine}, "p95"),
            threshold=UPLOAD_TO_READY_P95_MS,
        )
        found[timed_out] = _alarm(
            stage,
            f"{machine}-timed-out",
            "A photo's run hit the state machine's timeout: look for a function that hangs",
            _metric("AWS/States", "ExecutionsTimedOut", "StateMachineArn", {"Ref": machine}, "Sum"),
        )
    for function in _of_type(resources, _FUNCTION):
        errors, throttles = function_alarms(function)
        found[errors] = _alarm(
            stage,
            f"{function}-errors",
            f"{function} raised {FUNCTION_ERRORS_BURST} or more errors within "
            f"{_PERIOD // 60} minutes: read its log group",
            _metric("AWS/Lambda", "Errors", "FunctionName", {"Ref": function}, "Sum"),
            threshold=FUNCTION_ERRORS_BURST,
            comparison="GreaterThanOrEqualToThreshold",
        )
        found[throttles] = _alarm(
            stage,
            f"{function}-throttles",
            f"{function} was throttled: raise its reserved concurrency or the account's limit",
            _metric("AWS/Lambda", "Throttles", "FunctionName", {"Ref": function}, "Sum"),
        )
    watched = _alarmed(resources)
    for queue in _of_type(resources, _QUEUE):
        if queue not in watched:  # another module gave the queue its own alarm already
            found[f"{queue}DepthAlarm"] = _alarm(
                stage,
                f"{queue}-not-empty",
                f"Messages wait in {queue}: read them and send them again",
                _metric(
                    "AWS/SQS",
                    "ApproximateNumberOfMessagesVisible",
                    "QueueName",
                    {"Fn::GetAtt": [queue, "QueueName"]},
                    "Maximum",
                ),
            )
    if stage.db_instance_identifier:
        found["DatabaseConnectionsAlarm"] = _alarm(
            stage,
            "database-connections",
            f"The database {stage.db_instance_identifier} holds more than {DATABASE_CONNECTIONS} "
            "connections: look for functions holding connections, or put an RDS Proxy in front",
            _metric(
                "AWS/RDS",
                "DatabaseConnections",
                "DBInstanceIdentifier",
                stage.db_instance_identifier,
                "Maximum",
            ),
            threshold=DATABASE_CONNECTIONS,
        )
    return found


def dashboard(stage: StageConfig, resources: Mapping[str, Any]) -> dict[str, Any]:
    """The CloudWatch dashboard: the panels that name CloudWatch metrics, for this stack."""
    widgets = [
        widget
        for widget in (_widget(panel.title, panel.cloudwatch, stage, resources) for panel in PANELS)
        if widget is not None
    ]
    for index, widget in enumerate(widgets):
        widget |= {"x": (index % 2) * 12, "y": (index // 2) * 6, "width": 12, "height": 6}
    return {
        "Type": "AWS::CloudWatch::Dashboard",
        "Properties": {
            "DashboardName": stage.resource_name("operations"),
            # Fn::Sub puts in the names and ARNs only the deployed stack knows.
            "DashboardBody": {"Fn::Sub": json.dumps({"widgets": widgets}, separators=(",", ":"))},
        },
    }


def _widget(
    title: str,
    metrics: tuple[CloudWatchMetric, ...],
    stage: StageConfig,
    resources: Mapping[str, Any],
) -> dict[str, Any] | None:
    lines = [
        _line(metric, label, value)
        for metric in metrics
        for label, value in _dimension_values(metric.dimension, stage, resources)
    ]
    if not lines:
        return None
    return {
        "type": "metric",
        "properties": {
            "title": title,
            "region": "${AWS::Region}",
            "view": "timeSeries",
            "stacked": False,
            "period": 60,
            "metrics": lines,
        },
    }


def _line(metric: CloudWatchMetric, label: str, value: str) -> list[Any]:
    """One line of a widget: namespace, metric, dimension and its value, then how to draw it."""
    style = {"stat": metric.stat, "label": metric.label.format(resource=label)}
    return [metric.namespace, metric.name, metric.dimension, value, style]


def _dimension_values(
    dimension: Dimension, stage: StageConfig, resources: Mapping[str, Any]
) -> Iterator[tuple[str, str]]:
    """(label, dimension value as Fn::Sub text) of each resource ``dimension`` is measured for."""
    if dimension == "StateMachineArn":
        yield from ((name, f"${{{name}}}") for name in _of_type(resources, _STATE_MACHINE))
    elif dimension == "FunctionName":
        yield from ((name, f"${{{name}}}") for name in _of_type(resources, _FUNCTION))
    elif dimension == "QueueName":
        yield from ((name, f"${{{name}.QueueName}}") for name in _of_type(resources, _QUEUE))
    elif dimension == "DBInstanceIdentifier" and stage.db_instance_identifier:
        yield stage.db_instance_identifier, stage.db_instance_identifier


def _metric(
    namespace: str, name: str, dimension: str, value: Any, statistic: str
) -> dict[str, Any]:
    """The metric an alarm watches; a percentile (``p95``) is CloudWatch's extended statistic."""
    kind = "ExtendedStatistic" if statistic.startswith("p") else "Statistic"
    return {
        "Namespace": namespace,
        "MetricName": name,
        "Dimensions": [{"Name": dimension, "Value": value}],
        kind: statistic,
    }


def _alarm(
    stage: StageConfig,
    name: str,
    description: str,
    metric: dict[str, Any],
    *,
    threshold: int = 0,
    comparison: str = "GreaterThanThreshold",
) -> dict[str, Any]:
    return {
        "Type": ALARM,
        "Properties": {
            "AlarmName": stage.resource_name(name),
            "AlarmDescription": description,
            **metric,
            "Period": _PERIOD,
            "EvaluationPeriods": 1,
            "Threshold": threshold,
            "ComparisonOperator": comparison,
            "TreatMissingData": "notBreaching",  # no invocations, no messages: nothing wrong
        },
    }


def _with_actions(alarm: Mapping[str, Any]) -> dict[str, Any]:
    topic = [{"Ref": ALARM_TOPIC}]
    return {
        **alarm,
        "Properties": {**alarm["Properties"], "AlarmActions": topic, "OKActions": topic},
    }


def _of_type(resources: Mapping[str, Any], kind: str) -> list[str]:
    return [name for name, resource in resources.items() if resource.get("Type") == kind]


def _alarmed(resources: Mapping[str, Any]) -> set[str]:
    """The logical ids the template's alarms already watch (named in their dimensions)."""
    return {
        name
        for logical in _of_type(resources, ALARM)
        for dimension in resources[logical]["Properties"].get("Dimensions", [])
        for name in _references(dimension.get("Value"))
    }


def _references(value: Any) -> Iterator[str]:
    if isinstance(value, Mapping):
        if "Ref" in value:
            yield str(value["Ref"])
        if "Fn::GetAtt" in value:
            yield str(value["Fn::GetAtt"][0])
        for inner in value.values():
            yield from _references(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _references(inner)
