"""AWS FIS experiment templates: the chaos experiments of ``bakusoku chaos`` on the stack's own
Lambda functions and database, for a stage that sets ``chaos: true``.

| local fault (``bakusoku.faults``) | on AWS (AWS FIS action) |
| --- | --- |
| ``db.cut`` | ``aws:rds:reboot-db-instances`` (``db_instance_identifier``), ``aws:rds:failover-db-cluster`` (``rds_proxy.db_cluster_identifier``) |
| ``db.slow``, ``store.slow`` | ``aws:lambda:invocation-add-delay`` on the pipeline's functions |
| ``workers.kill``, ``store.fail`` | ``aws:lambda:invocation-error`` (``preventExecution``: the invoke fails unrun) |

Each template stops itself when one of the stack's alarms on failed or timed-out photo runs, or on
uploads that started no run, goes off (the steady state is lost), and runs with a role that may do
only its actions on the stack's own resources. The Lambda actions need AWS's FIS extension on the
functions: the layer (resolved from AWS's public SSM parameter for the architecture), its wrapper,
and the stack's own bucket through which FIS hands the extension its faults.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bakusoku.deploy.buckets import private_bucket_properties
from bakusoku.deploy.monitoring import state_machine_alarms
from bakusoku.deploy.stages import StageConfig
from bakusoku.pipeline.functions import FUNCTIONS

FIS_CONFIG_BUCKET = "ChaosConfigBucket"
FIS_ROLE = "ChaosExperimentRole"
FIS_LAYER_PARAMETER = "FisExtensionLayerArn"
FIS_CONFIG_PREFIX = "FisConfigs"
LAMBDA_DELAY = "ChaosLambdaDelayExperiment"
LAMBDA_ERROR = "ChaosLambdaErrorExperiment"
DB_REBOOT = "ChaosDatabaseRebootExperiment"
DB_FAILOVER = "ChaosDatabaseFailoverExperiment"
EXPERIMENT_DURATION = "PT2M"  # ISO 8601: each experiment's faults last two minutes
LAMBDA_DELAY_MS = 2000
LAMBDA_DELAY_PERCENT = 50
LAMBDA_ERROR_PERCENT = 25
# The pipeline's tasks: what the state machine invokes (not the API, the notifier, the migrations).
TARGET_FUNCTIONS = tuple(f.name for f in FUNCTIONS)


def stop_alarms(resources: Mapping[str, Any], state_machine: str, trigger_dlq: str) -> list[str]:
    """The alarms whose going off ends an experiment: photos failing or timing out, uploads that
    started no run. Not the functions' error alarms, which the experiments set off on purpose."""
    wanted = [*state_machine_alarms(state_machine), f"{trigger_dlq}Alarm"]
    return [name for name in wanted if name in resources]


def chaos_parameters(stage: StageConfig) -> dict[str, Any]:
    if not stage.chaos:
        return {}
    return {
        FIS_LAYER_PARAMETER: {
            "Type": "AWS::SSM::Parameter::Value<String>",
            "Default": f"/aws/service/fis/lambda-extension/AWS-FIS-extension-{stage.architecture}/1.x.x",
            "Description": "AWS's FIS Lambda extension layer (its public SSM parameter).",
        }
    }


def extension_properties(name: str, stage: StageConfig) -> dict[str, Any]:
    """What a target function adds for the FIS extension: the layer, the wrapper, where its faults
    are read, and the right to read them; nothing for other functions or without ``chaos``."""
    if not stage.chaos or name not in TARGET_FUNCTIONS:
        return {}
    return {
        "Layers": [{"Ref": FIS_LAYER_PARAMETER}],
        "Variables": {
            "AWS_LAMBDA_EXEC_WRAPPER": "/opt/aws-fis/bootstrap",
            "AWS_FIS_CONFIGURATION_LOCATION": {
                "Fn::Sub": f"arn:${{AWS::Partition}}:s3:::${{{FIS_CONFIG_BUCKET}}}/{FIS_CONFIG_PREFIX}/"
            },
            # preventExecution: how long the extension waits for its faults before each invoke.
            "AWS_FIS_POLL_MAX_WAIT_MILLISECONDS": "2000",
        },
        "Statements": [
            {
                "Effect": "Allow",
                "Action": "s3:ListBucket",
                "Resource": {"Fn::GetAtt": [FIS_CONFIG_BUCKET, "Arn"]},
                "Condition": {"StringLike": {"s3:prefix": [f"{FIS_CONFIG_PREFIX}/*"]}},
            },
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": _config_objects()},
        ],
    }


def chaos_resources(
    stage: StageConfig,
    resources: Mapping[str, Any],
    *,
    function_ids: Mapping[str, str],
    alarms: list[str],
) -> dict[str, Any]:
    """The config bucket, the experiments' role and the experiment templates (``chaos`` only).

    ``function_ids`` maps each target function's name to its logical id; ``alarms`` are the
    logical ids of the stop conditions' alarms.
    """
    if not stage.chaos:
        return {}
    functions = [{"Fn::GetAtt": [function_ids[n], "Arn"]} for n in TARGET_FUNCTIONS]
    stop = [
        {"Source": "aws:cloudwatch:alarm", "Value": {"Fn::GetAtt": [alarm, "Arn"]}}
        for alarm in alarms
    ] or [{"Source": "none"}]
    tags = {"service": stage.service, "stage": stage.stage, "app": "bakusoku"}
    lambda_target = {
        "Functions": {
            "ResourceType": "aws:lambda:function",
            "ResourceArns": functions,
            "SelectionMode": "ALL",
        }
    }
    added: dict[str, Any] = {
        FIS_CONFIG_BUCKET: _config_bucket(stage),
        LAMBDA_DELAY: _template(
            f"bakusoku {stage.stack_name}: the pipeline's functions start {LAMBDA_DELAY_MS} ms late "
            f"in {LAMBDA_DELAY_PERCENT} % of invocations (as db-slow, store-slow locally)",
            "aws:lambda:invocation-add-delay",
            {
                "duration": EXPERIMENT_DURATION,
                "startupDelayMilliseconds": str(LAMBDA_DELAY_MS),
                "invocationPercentage": str(LAMBDA_DELAY_PERCENT),
            },
            lambda_target,
            stop,
            tags,
        ),
        LAMBDA_ERROR: _template(
            f"bakusoku {stage.stack_name}: {LAMBDA_ERROR_PERCENT} % of the pipeline's invocations "
            "fail without running (as workers-kill, store-fail locally); Retry rules run them again",
            "aws:lambda:invocation-error",
            {
                "duration": EXPERIMENT_DURATION,
                "invocationPercentage": str(LAMBDA_ERROR_PERCENT),
                "preventExecution": "true",
            },
            lambda_target,
            stop,
            tags,
        ),
    }
    # Targets are named by ARN, never by tag: the role needs no tag:GetResources on "*".
    statements: list[dict[str, Any]] = [
        {
            "Effect": "Allow",
            "Action": "lambda:GetFunction",
            "Resource": functions,
        },
        {
            "Effect": "Allow",
            "Action": ["s3:PutObject", "s3:DeleteObject"],
            "Resource": _config_objects(),
        },
    ]
    instance = stage.db_instance_identifier or (
        stage.rds_proxy.db_instance_identifier if stage.rds_proxy else ""
    )
    if instance:
        arn = {
            "Fn::Sub": f"arn:${{AWS::Partition}}:rds:${{AWS::Region}}:${{AWS::AccountId}}:db:{instance}"
        }
        added[DB_REBOOT] = _template(
            f"bakusoku {stage.stack_name}: the database instance {instance} reboots (as db-cut "
            "locally): connections drop and are refused until it is back",
            "aws:rds:reboot-db-instances",
            {"forceFailover": "false"},
            {
                "DBInstances": {
                    "ResourceType": "aws:rds:db",
                    "ResourceArns": [arn],
                    "SelectionMode": "ALL",
                }
            },
            stop,
            tags,
        )
        statements.append(
            {
                "Effect": "Allow",
                "Action": ["rds:RebootDBInstance", "rds:DescribeDBInstances"],
                "Resource": arn,
            }
        )
    cluster = stage.rds_proxy.db_cluster_identifier if stage.rds_proxy else ""
    if cluster:
        arn = {
            "Fn::Sub": f"arn:${{AWS::Partition}}:rds:${{AWS::Region}}:${{AWS::AccountId}}:cluster:{cluster}"
        }
        added[DB_FAILOVER] = _template(
            f"bakusoku {stage.stack_name}: the database cluster {cluster} fails over (as db-cut "
            "locally): the writer moves, connections drop",
            "aws:rds:failover-db-cluster",
            {},
            {
                "Clusters": {
                    "ResourceType": "aws:rds:cluster",
                    "ResourceArns": [arn],
                    "SelectionMode": "ALL",
                }
            },
            stop,
            tags,
        )
        statements.append(
            {
                "Effect": "Allow",
                "Action": ["rds:FailoverDBCluster", "rds:DescribeDBClusters"],
                "Resource": arn,
            }
        )
    added[FIS_ROLE] = {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "Description": f"AWS FIS runs the chaos experiments of {stage.stack_name} as this role",
            "AssumeRolePolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "fis.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                        "Condition": {
                            "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
                        },
                    }
                ],
            },
            "Policies": [
                {
                    "PolicyName": "chaos-experiments",
                    "PolicyDocument": {"Version": "2012-10-17", "Statement": statements},
                }
            ],
            "Tags": [{"Key": k, "Value": v} for k, v in tags.items()],
        },
    }
    return added


def _config_objects() -> dict[str, Any]:
    return {"Fn::Sub": f"${{{FIS_CONFIG_BUCKET}.Arn}}/{FIS_CONFIG_PREFIX}/*"}


def _config_bucket(stage: StageConfig) -> dict[str, Any]:
    """Where FIS writes the faults in force and the extension reads them: private, short-lived."""
    return {
        "Type": "AWS::S3::Bucket",
        "Properties": {
            **private_bucket_properties(),
            "LifecycleConfiguration": {
                "Rules": [
                    {"Id": "expire-fault-configs", "Status": "Enabled", "ExpirationInDays": 1}
                ]
            },
            "Tags": [
                {"Key": "service", "Value": stage.service},
                {"Key": "stage", "Value": stage.stage},
                {"Key": "app", "Value": "bakusoku"},
            ],
        },
    }


def _template(
    description: str,
    action: str,
    parameters: dict[str, str],
    targets: dict[str, Any],
    stop: list[dict[str, Any]],
    tags: dict[str, str],
) -> dict[str, Any]:
    (target_key,) = targets
    name = action.rsplit(":", 1)[1]
    body: dict[str, Any] = {"ActionId": action, "Targets": {target_key: target_key}}
    if parameters:
        body["Parameters"] = parameters
    return {
        "Type": "AWS::FIS::ExperimentTemplate",
        "Properties": {
            "Description": description[:512],
            "RoleArn": {"Fn::GetAtt": [FIS_ROLE, "Arn"]},
            "Targets": targets,
            "Actions": {name: body},
            "StopConditions": stop,
            "Tags": dict(tags, Name=name),
        },
    }
