"""Least-privilege IAM statements per function, shared by the SAM and Serverless outputs.

Each function may touch only its own prefixes of the stack's bucket, its secret and (the API) the
executions of its state machine. Listing is allowed only under the function's prefixes, so a
missing object answers 404 (``NoSuchKey``) rather than 403, as the handlers expect.
"""

from __future__ import annotations

from typing import Any

from bakusoku.deploy.stages import API, NOTIFIER, StageConfig
from bakusoku.pipeline.declared import DeclaredFunction
from bakusoku.pipeline.functions import MIGRATE

BUCKET = "PhotoBucket"
STATE_MACHINE = "PhotoPipeline"
DATABASE_SECRET = "DatabaseSecretArn"
WEBHOOK_SECRET = "SlackWebhookSecretArn"
ADMIN_SECRET = "AdminTokenSecretArn"

Statement = dict[str, Any]


def objects(prefix: str) -> dict[str, Any]:
    """The ARN of every object under ``prefix`` in the stack's bucket."""
    return {"Fn::Sub": f"${{{BUCKET}.Arn}}/{prefix}*"}


def _allow(actions: list[str], resource: Any, condition: dict[str, Any] | None = None) -> Statement:
    statement: Statement = {"Effect": "Allow", "Action": actions, "Resource": resource}
    if condition:
        statement["Condition"] = condition
    return statement


def _list_under(*prefixes: str) -> Statement:
    return _allow(
        ["s3:ListBucket"],
        {"Fn::GetAtt": [BUCKET, "Arn"]},
        {"StringLike": {"s3:prefix": [f"{p}*" for p in prefixes]}},
    )


def execution_arns(stage: StageConfig) -> dict[str, Any]:
    machine = stage.resource_name("photo-pipeline")
    return {
        "Fn::Sub": "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:execution:"
        f"{machine}:*"
    }


def state_machine_arn(stage: StageConfig) -> dict[str, Any]:
    machine = stage.resource_name("photo-pipeline")
    return {
        "Fn::Sub": "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:stateMachine:"
        f"{machine}"
    }


def function_statements(name: str, stage: StageConfig) -> list[Statement]:
    """The statements of function ``name``'s role, besides logging, tracing and VPC access."""
    uploads = stage.settings.upload_prefix
    renditions = stage.settings.rendition_prefix
    database = _allow(["secretsmanager:GetSecretValue"], {"Ref": DATABASE_SECRET})
    declaration = stage.functions[name].declaration
    if declaration is not None:
        return declared_statements(declaration)
    if name == NOTIFIER:  # the webhook URL, and the history that names the failed state
        return [
            _allow(["secretsmanager:GetSecretValue"], {"Ref": WEBHOOK_SECRET}),
            _allow(["states:GetExecutionHistory"], execution_arns(stage)),
        ]
    if name == MIGRATE:  # the schema only: no object of the bucket
        return [database]
    if name == API:
        admin = (
            [_allow(["secretsmanager:GetSecretValue"], {"Ref": ADMIN_SECRET})]
            if stage.admin_token_secret_arn
            else []
        )
        return [
            database,
            *admin,
            # A presigned URL acts with its signer's rights: uploads only, renditions and (for
            # admins) originals to read. Deleting a photo removes its original and renditions.
            _allow(["s3:PutObject", "s3:GetObject", "s3:DeleteObject"], objects(uploads)),
            _allow(["s3:GetObject", "s3:DeleteObject"], objects(renditions)),
            _list_under(uploads, renditions),
            _allow(
                [
                    "states:DescribeExecution",
                    "states:GetExecutionHistory",
                    "states:RedriveExecution",
                ],
                execution_arns(stage),
            ),
            # Operations: searching and counting executions, and reprocessing a caught failure
            # as a new execution of the same state machine.
            _allow(["states:ListExecutions", "states:StartExecution"], state_machine_arn(stage)),
        ]
    by_function: dict[str, list[Statement]] = {
        "store-photo": [_allow(["s3:GetObject"], objects(uploads)), _list_under(uploads)],
        "make-renditions": [
            _allow(["s3:GetObject"], objects(uploads)),
            _allow(["s3:PutObject"], objects(renditions)),
            _list_under(uploads, renditions),
        ],
        "mark-ready": [],
        # Reads the face cuts MakeRenditions wrote beside the renditions.
        "index-faces": [_allow(["s3:GetObject"], objects(renditions))],
        "mark-failed": [
            _allow(["s3:GetObject", "s3:DeleteObject"], objects(renditions)),
            _list_under(renditions),
        ],
    }
    return [database, *by_function[name]]


def declared_statements(function: DeclaredFunction) -> list[Statement]:
    """Exactly what a declared function's ``resources`` name: nothing is granted by default.

    ``database`` grants the database secret (whether the function may write is up to the database
    user the secret names: IAM cannot tell a SELECT from an UPDATE); ``bucket`` its prefixes only,
    ``read`` as GetObject with listing under the prefix, ``write`` as PutObject and DeleteObject.
    """
    resources = function.resources
    secrets: list[Any] = []
    if resources.database:
        secrets.append({"Ref": DATABASE_SECRET})
    if resources.slack:
        secrets.append({"Ref": WEBHOOK_SECRET})
    secrets += list(resources.secrets)
    statements = [_allow(["secretsmanager:GetSecretValue"], secret) for secret in secrets]
    for grant in resources.buckets:
        actions = (["s3:GetObject"] if grant.reads else []) + (
            ["s3:PutObject", "s3:DeleteObject"] if grant.writes else []
        )
        statements.append(_allow(actions, objects(grant.prefix)))
    readable = [g.prefix for g in resources.buckets if g.reads]
    if readable:
        statements.append(_list_under(*readable))
    return statements


def state_machine_log_statement() -> Statement:
    """CloudWatch Logs delivery for the state machine; these actions take no narrower resource."""
    return _allow(
        [
            "logs:CreateLogDelivery",
            "logs:GetLogDelivery",
            "logs:UpdateLogDelivery",
            "logs:DeleteLogDelivery",
            "logs:ListLogDeliveries",
            "logs:PutResourcePolicy",
            "logs:DescribeResourcePolicies",
            "logs:DescribeLogGroups",
        ],
        "*",
    )
