"""The same stack as a Serverless Framework v3 service (``serverless.yml``, step-functions plugin).

Per-stage values live in ``custom.stages`` and are picked with ``${sls:stage}``, as the original
deployment did (``sls deploy --stage prod``). Each function gets its own least-privilege role, with
the statements of the SAM output. CloudFormation ``Fn::Sub`` strings become ``Fn::Join`` so that
the framework's own ``${...}`` variables never meet CloudFormation's.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from bakusoku.deploy.canary import alias_id
from bakusoku.deploy.edge import edge_resources
from bakusoku.deploy.policies import (
    ADMIN_SECRET,
    CHANNEL_SECRET_PARAMETERS,
    DATABASE_SECRET,
    STATE_MACHINE,
    TRANSFORM_SECRET,
    WEBHOOK_SECRET,
    function_statements,
)
from bakusoku.deploy.sam import (
    ALERT_DLQ,
    API_CORS_HEADERS,
    API_CORS_METHODS,
    DATABASE_SCHEMA,
    NOTIFIER_DLQ,
    RULE_RETRY_POLICY,
    TRIGGER_DLQ,
    asl_definition,
    asynchronous_rules,
    bucket_policy_resource,
    bucket_resource,
    database_schema,
    dead_letter_queue_id,
    declared_dead_letter_resources,
    failed_execution_pattern,
    function_environment,
    handlers,
    log_group_id,
    log_group_resource,
    machine_dead_letter_queue_id,
    object_created_pattern,
    object_prefix_pattern,
    queue_alarm_resource,
    queue_resource,
)
from bakusoku.deploy.stages import API, NOTIFIER, StageConfig
from bakusoku.pipeline.declared import DeclaredFunction
from bakusoku.pipeline.functions import MIGRATE, PHOTO_PIPELINE, TRANSFORM, state_machines
from bakusoku.pipeline.machines import StateMachine

ARTIFACT = "code.zip"
_SUB = re.compile(r"\$\{([^}]+)\}")
_MANAGED = "arn:aws:iam::aws:policy/"
_BASIC = [
    f"{_MANAGED}service-role/AWSLambdaBasicExecutionRole",
    f"{_MANAGED}AWSXrayWriteOnlyAccess",
]
_VPC = f"{_MANAGED}service-role/AWSLambdaVPCAccessExecutionRole"


def function_key(name: str) -> str:
    """``store-photo`` → ``storePhoto`` (Serverless names it ``StorePhotoLambdaFunction``)."""
    first, *rest = name.split("-")
    return first + "".join(part.capitalize() for part in rest)


def state_machine_id(stage: StageConfig, machine: StateMachine = PHOTO_PIPELINE) -> str:
    """The plugin's logical ID for the named state machine (``a-b`` → ``ADashb``)."""
    name = stage.resource_name(machine.name)
    return (name[0].upper() + name[1:]).replace("-", "Dash").replace("_", "Underscore")


def _machine_refs(value: Any, logical: Mapping[str, str]) -> Any:
    """``value`` with each ``Ref`` to a state machine's SAM id as the plugin's id of it."""
    if isinstance(value, list):
        return [_machine_refs(v, logical) for v in value]
    if isinstance(value, dict):
        if set(value) == {"Ref"} and value["Ref"] in logical:
            return {"Ref": logical[value["Ref"]]}
        return {k: _machine_refs(v, logical) for k, v in value.items()}
    return value


def _camel(parameter: str) -> str:
    """A template parameter's name as a stage value's: ``SmtpPasswordSecretArn`` →
    ``smtpPasswordSecretArn``."""
    return parameter[0].lower() + parameter[1:]


def _var(path: str) -> str:
    return f"${{self:custom.stages.${{sls:stage}}.{path}}}"


def _stage_values(stage: StageConfig) -> dict[str, Any]:
    values: dict[str, Any] = {
        "memorySize": {function_key(n): f.memory_mb for n, f in stage.functions.items()},
        "timeout": {function_key(n): f.timeout_seconds for n, f in stage.functions.items()},
        "logRetentionInDays": stage.log_retention_days,
        "databaseSecretArn": stage.database_secret_arn,
        "slackWebhookSecretArn": stage.slack_webhook_secret_arn,
        "adminTokenSecretArn": stage.admin_token_secret_arn or "",
        "transformSigningKeySecretArn": stage.transform_signing_key_secret_arn,
        **{_camel(CHANNEL_SECRET_PARAMETERS[name]): arn for name, arn in stage.channel_secret_arns},
        "managedPolicies": [*_BASIC, _VPC] if stage.vpc else list(_BASIC),
        "vpc": (
            {
                "subnetIds": list(stage.vpc.subnet_ids),
                "securityGroupIds": list(stage.vpc.security_group_ids),
            }
            if stage.vpc
            else {"subnetIds": [], "securityGroupIds": []}
        ),
    }
    reserved = {
        function_key(n): f.reserved_concurrency
        for n, f in stage.functions.items()
        if f.reserved_concurrency is not None
    }
    values["reservedConcurrency"] = reserved
    return values


def _to_join(value: Any) -> Any:
    """Rewrite ``Fn::Sub`` strings (no variable map) as ``Fn::Join``; refs to parameters as vars."""
    if isinstance(value, list):
        return [_to_join(v) for v in value]
    if not isinstance(value, dict):
        return value
    if set(value) == {"Ref"} and value["Ref"] == DATABASE_SECRET:
        return _var("databaseSecretArn")
    if set(value) == {"Ref"} and value["Ref"] == ADMIN_SECRET:
        return _var("adminTokenSecretArn")
    if set(value) == {"Ref"} and value["Ref"] == WEBHOOK_SECRET:
        return _var("slackWebhookSecretArn")
    if set(value) == {"Ref"} and value["Ref"] == TRANSFORM_SECRET:
        return _var("transformSigningKeySecretArn")
    if set(value) == {"Ref"} and value["Ref"] in CHANNEL_SECRET_PARAMETERS.values():
        return _var(_camel(value["Ref"]))
    if set(value) == {"Fn::Sub"} and isinstance(value["Fn::Sub"], str):
        parts: list[Any] = []
        text = value["Fn::Sub"]
        position = 0
        for match in _SUB.finditer(text):
            parts.append(text[position : match.start()])
            name = match.group(1)
            if name.startswith("AWS::"):
                parts.append({"Ref": name})
            elif "." in name:
                resource, attribute = name.split(".", 1)
                parts.append({"Fn::GetAtt": [resource, attribute]})
            else:
                parts.append({"Ref": name})
            position = match.end()
        parts.append(text[position:])
        return {"Fn::Join": ["", [p for p in parts if p != ""]]}
    return {k: _to_join(v) for k, v in value.items()}


def _definition(machine: StateMachine) -> dict[str, Any]:
    """The ASL file with each ``${...FunctionArn}`` as the plugin's ``Fn::GetAtt`` of the function."""
    by_placeholder = {f"${{{p}}}": function_key(f) for p, f in machine.tasks}

    def fill(value: Any) -> Any:
        if isinstance(value, str) and value in by_placeholder:
            return {"Fn::GetAtt": [by_placeholder[value], "Arn"]}
        if isinstance(value, list):
            return [fill(v) for v in value]
        if isinstance(value, dict):
            return {k: fill(v) for k, v in value.items()}
        return value

    filled: dict[str, Any] = fill(asl_definition(machine))
    return filled


def _statements(name: str, stage: StageConfig) -> list[dict[str, Any]]:
    statements = function_statements(name, stage)
    failures = _failure_queue(name, stage)
    if failures is not None:  # its on-failure destination (SAM adds this statement by itself)
        statements.append(
            {
                "Effect": "Allow",
                "Action": ["sqs:SendMessage"],
                "Resource": {"Fn::GetAtt": [failures, "Arn"]},
            }
        )
    return statements


def _schedule_event(expression: str, name: str, declaration: DeclaredFunction) -> dict[str, Any]:
    """A schedule as an EventBridge rule of the framework's, with the dead-letter queue and retry
    policy the SAM template gives it (its ``schedule`` event takes neither)."""
    if not asynchronous_rules(declaration):
        return {"schedule": expression}
    return {
        "eventBridge": {
            "schedule": expression,
            "deadLetterQueueArn": {"Fn::GetAtt": [dead_letter_queue_id(name), "Arn"]},
            "retryPolicy": _retry_policy(),
        }
    }


def _retry_policy() -> dict[str, Any]:
    return {
        "maximumRetryAttempts": RULE_RETRY_POLICY["MaximumRetryAttempts"],
        "maximumEventAge": RULE_RETRY_POLICY["MaximumEventAgeInSeconds"],
    }


def _plugin_retry_policy() -> dict[str, Any]:
    """``RULE_RETRY_POLICY`` as the step-functions plugin spells it (not as the framework does)."""
    return {
        "maximumRetryAttempts": RULE_RETRY_POLICY["MaximumRetryAttempts"],
        "maximumEventAgeInSeconds": RULE_RETRY_POLICY["MaximumEventAgeInSeconds"],
    }


def _failure_queue(name: str, stage: StageConfig) -> str | None:
    """The queue of the events ``name`` failed after Lambda's retries, if it has one."""
    if name == NOTIFIER:
        return NOTIFIER_DLQ
    declaration = stage.functions[name].declaration
    if declaration is not None and asynchronous_rules(declaration):
        return dead_letter_queue_id(name)
    return None


def _declared_queues(stage: StageConfig) -> list[str]:
    return [
        *(
            dead_letter_queue_id(f.name)
            for f in stage.functions.values()
            if f.declaration is not None and asynchronous_rules(f.declaration)
        ),
        *(
            machine_dead_letter_queue_id(m)
            for m in state_machines(stage.settings)
            if not m.started_by_uploads and asynchronous_rules(m)
        ),
    ]


def _role(name: str, stage: StageConfig) -> dict[str, Any]:
    managed: Any = _BASIC if name == NOTIFIER else _var("managedPolicies")
    return {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "AssumeRolePolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": ["lambda.amazonaws.com"]},
                        "Action": ["sts:AssumeRole"],
                    }
                ],
            },
            "ManagedPolicyArns": managed,
            "Policies": [
                {
                    "PolicyName": f"{function_key(name)}-least-privilege",
                    "PolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": _to_join(_statements(name, stage)),
                    },
                }
            ],
        },
    }


def _function(name: str, handler: str, stage: StageConfig) -> dict[str, Any]:
    key = function_key(name)
    env = _to_join(function_environment(name, stage))
    spec: dict[str, Any] = {
        "name": stage.resource_name(name),
        "handler": handler,
        "memorySize": _var(f"memorySize.{key}"),
        "timeout": _var(f"timeout.{key}"),
        "tracing": "Active",
        "role": f"{_role_id(name)}",
        "environment": env,
    }
    if stage.functions[name].reserved_concurrency is not None:
        spec["reservedConcurrency"] = _var(f"reservedConcurrency.{key}")
    if name != NOTIFIER:
        spec["vpc"] = {
            "subnetIds": _var("vpc.subnetIds"),
            "securityGroupIds": _var("vpc.securityGroupIds"),
        }
    if name == API:
        spec["events"] = [{"httpApi": "*"}]
    declaration = stage.functions[name].declaration
    if declaration is not None:  # the same sources as the SAM template's (sam.declared_events)
        spec["events"] = [
            *(_schedule_event(s.expression, name, declaration) for s in declaration.schedules),
            *(
                {"httpApi": {"method": "*" if r.method == "ANY" else r.method, "path": r.path}}
                for r in declaration.routes
            ),
            *(
                {
                    "eventBridge": {
                        "pattern": _to_join(object_prefix_pattern(o.prefix)),
                        "deadLetterQueueArn": {"Fn::GetAtt": [dead_letter_queue_id(name), "Arn"]},
                        "retryPolicy": _retry_policy(),
                    }
                }
                for o in declaration.object_prefixes
            ),
        ]
        if asynchronous_rules(declaration):  # as the SAM template's EventInvokeConfig
            spec["maximumRetryAttempts"] = 2
            spec["destinations"] = {
                "onFailure": {
                    "type": "sqs",
                    "arn": {"Fn::GetAtt": [dead_letter_queue_id(name), "Arn"]},
                }
            }
    if name == TRANSFORM:  # the origin of the CloudFront distribution (deploy.edge)
        spec["url"] = {"authorizer": "aws_iam"}
    if name == NOTIFIER:  # an alert still failing after Lambda's two retries is kept, not dropped
        spec["maximumRetryAttempts"] = 2
        spec["destinations"] = {
            "onFailure": {"type": "sqs", "arn": {"Fn::GetAtt": [NOTIFIER_DLQ, "Arn"]}}
        }
        spec["events"] = [
            {
                "eventBridge": {
                    "pattern": failed_execution_pattern(),
                    "deadLetterQueueArn": {"Fn::GetAtt": [ALERT_DLQ, "Arn"]},
                    "retryPolicy": {"maximumRetryAttempts": 10, "maximumEventAge": 3600},
                }
            }
        ]
    return spec


def _schema_resource() -> dict[str, Any]:
    """The SAM template's migration custom resource, calling the framework's function.

    ``${sls:instanceId}`` is new on every run of the framework, as ``DeployId`` is on every
    ``bakusoku deploy``, so each deploy runs the migrations.
    """
    resource = database_schema()
    resource["Properties"]["ServiceToken"] = {"Fn::GetAtt": [_lambda_id(MIGRATE), "Arn"]}
    resource["Properties"]["DeployId"] = "${sls:instanceId}"
    return resource


def _lambda_id(name: str) -> str:
    """The framework's logical ID of function ``name`` (``migrate`` → ``MigrateLambdaFunction``)."""
    return function_key(name)[0].upper() + function_key(name)[1:] + "LambdaFunction"


def _role_id(name: str) -> str:
    return function_key(name)[0].upper() + function_key(name)[1:] + "Role"


def _queue_policy(stage: StageConfig) -> dict[str, Any]:
    rules = {
        "Fn::Join": [
            "",
            [
                "arn:",
                {"Ref": "AWS::Partition"},
                ":events:",
                {"Ref": "AWS::Region"},
                ":",
                {"Ref": "AWS::AccountId"},
                f":rule/{stage.stack_name}-*",
            ],
        ]
    }
    queues = [TRIGGER_DLQ, ALERT_DLQ, *_declared_queues(stage)]
    return {
        "Type": "AWS::SQS::QueuePolicy",
        "Properties": {
            "Queues": [{"Ref": q} for q in queues],
            "PolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "events.amazonaws.com"},
                        "Action": "sqs:SendMessage",
                        "Resource": [{"Fn::GetAtt": [q, "Arn"]} for q in queues],
                        "Condition": {"ArnLike": {"aws:SourceArn": rules}},
                    }
                ],
            },
        },
    }


def _state_machine(stage: StageConfig, machine: StateMachine) -> dict[str, Any]:
    """The plugin's description of ``machine``, as the SAM template's (``sam._state_machine``)."""
    spec: dict[str, Any] = {
        "name": stage.resource_name(machine.name),
        "type": "STANDARD",
        "definition": _definition(machine),
        "tracingConfig": {"enabled": True},
        "loggingConfig": {
            "level": "ERROR",
            "includeExecutionData": True,
            "destinations": [{"Fn::GetAtt": [log_group_id(machine), "Arn"]}],
        },
        "events": [],
    }
    if machine.started_by_uploads:
        spec["events"].append(
            {
                "eventBridge": {
                    "event": _to_join(object_created_pattern(stage)),
                    "deadLetterConfig": {"Fn::GetAtt": [TRIGGER_DLQ, "Arn"]},
                    "retryPolicy": {
                        "maximumRetryAttempts": 185,
                        "maximumEventAgeInSeconds": 86400,
                    },
                }
            }
        )
    # The plugin's schedule takes a retry policy but no dead-letter queue; its rules on objects
    # take both, as the SAM template's do.
    spec["events"].extend(
        {
            "schedule": {
                "rate": s.expression,
                "retryPolicy": _plugin_retry_policy(),
            }
        }
        for s in machine.schedules
    )
    spec["events"].extend(
        {
            "eventBridge": {
                "event": _to_join(object_prefix_pattern(o.prefix)),
                "deadLetterConfig": {"Fn::GetAtt": [machine_dead_letter_queue_id(machine), "Arn"]},
                "retryPolicy": _plugin_retry_policy(),
            }
        }
        for o in machine.object_prefixes
    )
    return spec


def _log_groups(stage: StageConfig, machines: tuple[StateMachine, ...]) -> dict[str, Any]:
    groups = {}
    for machine in machines:
        group = log_group_resource(
            f"/aws/vendedlogs/states/{stage.resource_name(machine.name)}", stage
        )
        group["Properties"]["RetentionInDays"] = _var("logRetentionInDays")
        groups[log_group_id(machine)] = group
    return groups


def build_serverless(stage: StageConfig, all_stages: list[StageConfig]) -> dict[str, Any]:
    """``serverless.yml`` for ``stage.service``, every stage's values in ``custom.stages``."""
    machines = state_machines(stage.settings)
    functions = {
        function_key(name): _function(name, handler, stage)
        for name, handler in handlers(stage).items()
    }
    resources: dict[str, Any] = {
        "PhotoBucket": _to_join(bucket_resource(stage)),
        "PhotoBucketPolicy": _to_join(bucket_policy_resource(stage)),
        **_log_groups(stage, machines),
        TRIGGER_DLQ: queue_resource(stage, "trigger-dlq"),
        ALERT_DLQ: queue_resource(stage, "alert-dlq"),
        NOTIFIER_DLQ: queue_resource(stage, "notifier-failures"),
        **{
            f"{queue}Alarm": queue_alarm_resource(stage, queue, what)
            for queue, what in (
                (TRIGGER_DLQ, "Uploads that started no run"),
                (ALERT_DLQ, "Alerts never delivered"),
                (NOTIFIER_DLQ, "Alerts the notifier failed"),
            )
        },
        **{
            resource_id: resource
            for resource_id, resource in declared_dead_letter_resources(stage).items()
            if not resource_id.endswith("Policy")  # one policy for every queue, below
        },
        "DeadLetterQueuePolicy": _queue_policy(stage),
        DATABASE_SCHEMA: _to_join(_schema_resource()),
        # The framework names the function's URL {function}Url, as SAM does.
        **_to_join(edge_resources(stage, _lambda_id(TRANSFORM))),
    }
    for name in handlers(stage):
        resources[_role_id(name)] = _role(name, stage)
    document = {
        "service": stage.service,
        "frameworkVersion": ">=3",
        "configValidationMode": "error",
        "plugins": ["serverless-step-functions"],
        "custom": {"stages": {s.stage: _stage_values(s) for s in all_stages}},
        "provider": {
            "name": "aws",
            "runtime": stage.runtime,
            "architecture": stage.architecture,
            "stage": stage.stage,
            "region": stage.settings.region,
            "logRetentionInDays": _var("logRetentionInDays"),
            "tracing": {"lambda": True, "apiGateway": False},
            "httpApi": {
                "cors": {
                    "allowedOrigins": list(stage.cors_origins),
                    "allowedMethods": API_CORS_METHODS,
                    "allowedHeaders": API_CORS_HEADERS,
                    "maxAge": 600,
                }
            },
            "tags": {"service": stage.service, "app": "bakusoku"},
        },
        "package": {"artifact": ARTIFACT},
        "functions": functions,
        "stepFunctions": {
            "validate": False,
            "stateMachines": {m.logical_id: _state_machine(stage, m) for m in machines},
        },
        "resources": {
            "Resources": resources,
            "Outputs": {
                "BucketName": {"Value": {"Ref": "PhotoBucket"}},
                "StateMachineArn": {"Value": {"Ref": STATE_MACHINE}},
            },
        },
    }
    plugin_ids = {m.logical_id: state_machine_id(stage, m) for m in machines}
    # No `live` alias here: what the SAM template starts through a machine's alias (the
    # certificate door) starts the machine itself.
    plugin_ids |= {alias_id(m.logical_id): state_machine_id(stage, m) for m in machines}
    result: dict[str, Any] = _machine_refs(document, plugin_ids)
    return result
