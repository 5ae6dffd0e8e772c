"""Least-privilege IAM statements per function, shared by the SAM and Serverless outputs.

Each function may touch only its own prefixes of the stack's bucket, its secret and (the API) the
executions of its state machine. Listing is allowed only under the function's prefixes, so a
missing object answers 404 (``NoSuchKey``) rather than 403, as the handlers expect.

With ``face_index: rekognition`` the functions that index, search and erase faces may call exactly
the Rekognition actions they use, on the stack's collections only
(``collection/{prefix}*``). CreateCollection is the one action Rekognition does not authorize per
collection (the Service Authorization Reference lists no resource type for it), so it is allowed on
``*`` but only with the stack's tag in the request; tagging on create is authorized as TagResource
on the new collection, which is allowed only under the prefix with that same tag. Together: the
role creates only collections under its prefix, and touches no other.
"""

from __future__ import annotations

from typing import Any

from bakusoku.deploy.stages import API, NOTIFIER, StageConfig
from bakusoku.domain.keys import edge_pattern
from bakusoku.faces.rekognition import PREFIX_TAG, REKOGNITION, collection_prefix
from bakusoku.pipeline.declared import DeclaredFunction
from bakusoku.pipeline.functions import CERTIFICATE, MIGRATE, TRANSFORM
from bakusoku.races.certificate_making import FOLDER as CERTIFICATE_FOLDER

BUCKET = "PhotoBucket"
STATE_MACHINE = "PhotoPipeline"
DATABASE_SECRET = "DatabaseSecretArn"
WEBHOOK_SECRET = "SlackWebhookSecretArn"
ADMIN_SECRET = "AdminTokenSecretArn"
TRANSFORM_SECRET = "TransformSigningKeySecretArn"
# The template parameter of each runner channel's secret (present when the stage names it).
CHANNEL_SECRET_PARAMETERS = {
    "line_channel_access_token": "LineChannelAccessTokenSecretArn",
    "line_channel_secret": "LineChannelSecretSecretArn",
    "smtp_password": "SmtpPasswordSecretArn",
    "vapid_private_key": "VapidPrivateKeySecretArn",
}
# Who reads which: the runner notifier sends (LINE's token, SMTP's password, the Web Push key);
# the API checks LINE's webhook and hands the page the Web Push key's public half.
NOTIFIER_CHANNEL_SECRETS = ("line_channel_access_token", "smtp_password", "vapid_private_key")
API_CHANNEL_SECRETS = ("line_channel_secret", "vapid_private_key")

Statement = dict[str, Any]

# The Rekognition actions each function calls (bakusoku.faces.rekognition), and no others: the
# pipeline's face step indexes (creating the album's collection on its first face, and deleting
# the faces an earlier try of the same photo indexed); the API searches and erases (a photo's
# faces, a withdrawn consent, an album's whole collection).
REKOGNITION_ACTIONS: dict[str, tuple[str, ...]] = {
    "index-faces": ("CreateCollection", "IndexFaces", "DeleteFaces"),
    API: ("SearchFacesByImage", "SearchFaces", "DeleteFaces", "DeleteCollection"),
}


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


def execution_arns(stage: StageConfig, machine_name: str = "photo-pipeline") -> dict[str, Any]:
    """Every execution of the stage's state machine ``machine_name``."""
    machine = stage.resource_name(machine_name)
    return {
        "Fn::Sub": "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:execution:"
        f"{machine}:*"
    }


def redrive_certificates(stage: StageConfig) -> Statement:
    """RedriveExecution of the certificate state machine's executions only (the catch-up: one
    that ended without recording its certificate runs on from where it stopped)."""
    return _allow(["states:RedriveExecution"], execution_arns(stage, CERTIFICATE.name))


def start_certificates(stage: StageConfig) -> Statement:
    """StartExecution of the certificate state machine only (the door: the API and read-bibs, and
    a declared function with ``resources: {certificates: true}``, the catch-up).

    Step Functions authorizes a start through an alias against the state machine's own ARN
    (docs: "Authorization for versions and aliases"), so the unqualified ARN is the resource.
    """
    machine = stage.resource_name(CERTIFICATE.name)
    return _allow(
        ["states:StartExecution"],
        {
            "Fn::Sub": "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:"
            f"stateMachine:{machine}"
        },
    )


def state_machine_arn(stage: StageConfig) -> dict[str, Any]:
    machine = stage.resource_name("photo-pipeline")
    return {
        "Fn::Sub": "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:stateMachine:"
        f"{machine}"
    }


def stack_collection_prefix(stage: StageConfig) -> str:
    """The prefix of the stack's Rekognition collections (``{service}-{stage}-faces.``)."""
    return collection_prefix(stage.settings, service=stage.service, stage=stage.stage)


def collection_arns(stage: StageConfig) -> dict[str, Any]:
    """Every Rekognition collection of the stack, present and future."""
    return {
        "Fn::Sub": "arn:${AWS::Partition}:rekognition:${AWS::Region}:${AWS::AccountId}:collection/"
        f"{stack_collection_prefix(stage)}*"
    }


def face_index_statements(name: str, stage: StageConfig) -> list[Statement]:
    """Function ``name``'s Rekognition statements (none unless the stack uses Rekognition)."""
    actions = REKOGNITION_ACTIONS.get(name, ())
    if stage.settings.face_index != REKOGNITION or not actions:
        return []
    per_collection = [f"rekognition:{a}" for a in actions if a != "CreateCollection"]
    statements = [_allow(per_collection, collection_arns(stage))]
    if "CreateCollection" in actions:
        tagged = {
            "StringEquals": {f"aws:RequestTag/{PREFIX_TAG}": stack_collection_prefix(stage)},
            "ForAllValues:StringEquals": {"aws:TagKeys": [PREFIX_TAG]},
        }
        statements.append(_allow(["rekognition:CreateCollection"], "*", tagged))
        statements.append(_allow(["rekognition:TagResource"], collection_arns(stage), tagged))
    return statements


def channel_secrets(stage: StageConfig, names: tuple[str, ...]) -> dict[str, dict[str, str]]:
    """The secret setting → its parameter's Ref, of ``names`` the stage has a secret for."""
    configured = dict(stage.channel_secret_arns)
    return {n: {"Ref": CHANNEL_SECRET_PARAMETERS[n]} for n in names if n in configured}


def runner_channel_secrets(stage: StageConfig) -> dict[str, dict[str, str]]:
    """What a function with ``runner_channels`` reads: the channels it sends through and the key
    of the links (the one the API checks)."""
    return {
        **channel_secrets(stage, NOTIFIER_CHANNEL_SECRETS),
        "transform_signing_key": {"Ref": TRANSFORM_SECRET},
    }


def function_statements(name: str, stage: StageConfig) -> list[Statement]:
    """The statements of function ``name``'s role, besides logging, tracing and VPC access."""
    return _own_statements(name, stage) + face_index_statements(name, stage)


def _own_statements(name: str, stage: StageConfig) -> list[Statement]:
    uploads = stage.settings.upload_prefix
    renditions = stage.settings.rendition_prefix
    database = _allow(["secretsmanager:GetSecretValue"], {"Ref": DATABASE_SECRET})
    transform_key = _allow(["secretsmanager:GetSecretValue"], {"Ref": TRANSFORM_SECRET})
    declaration = stage.functions[name].declaration
    if declaration is not None:
        return declared_statements(declaration, stage)
    if name == NOTIFIER:  # the webhook URL, and the history that names the failed state
        return [
            _allow(["secretsmanager:GetSecretValue"], {"Ref": WEBHOOK_SECRET}),
            _allow(["states:GetExecutionHistory"], execution_arns(stage)),
        ]
    if name == MIGRATE:  # the schema only: no object of the bucket
        return [database]
    if name == TRANSFORM:  # reads sources; writes only the large answers the edge redirects to
        return [
            database,
            transform_key,
            _allow(["s3:GetObject"], [objects(uploads), objects(renditions)]),
            _allow(["s3:PutObject"], objects(edge_pattern(renditions).removesuffix("*"))),
            _list_under(uploads, renditions),
        ]
    if name == API:
        admin = (
            [_allow(["secretsmanager:GetSecretValue"], {"Ref": ADMIN_SECRET})]
            if stage.admin_token_secret_arn
            else []
        )
        channels = [
            _allow(["secretsmanager:GetSecretValue"], ref)
            for ref in channel_secrets(stage, API_CHANNEL_SECRETS).values()
        ]
        return [
            database,
            transform_key,  # it signs the transform URLs the edge verifies
            *admin,
            *channels,
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
            start_certificates(stage),  # a result posted or a bib tagged opens the door
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
        # Reads the preview MakeRenditions made (race albums only), and with bib_reader
        # rekognition has DetectText read it (an action on no resource: "*").
        "read-bibs": [
            _allow(["s3:GetObject"], objects(renditions)),
            start_certificates(stage),  # a bib read opens the door
            *(
                [_allow(["rekognition:DetectText"], "*")]
                if stage.settings.bib_reader == "rekognition"
                else []
            ),
        ],
        "mark-failed": [
            _allow(["s3:GetObject", "s3:DeleteObject"], objects(renditions)),
            _list_under(renditions),
        ],
        # Reads the finish photo's original; writes the certificate's files in the race's
        # album folder, nowhere else among the renditions.
        "make-certificate": [
            _allow(["s3:GetObject"], objects(uploads)),
            _allow(["s3:PutObject"], objects(f"{renditions}*/{CERTIFICATE_FOLDER}/")),
        ],
        "mark-certificate-failed": [],
    }
    return [database, *by_function[name]]


def declared_statements(function: DeclaredFunction, stage: StageConfig) -> list[Statement]:
    """Exactly what a declared function's ``resources`` name: nothing is granted by default.

    ``database`` grants the database secret (whether the function may write is up to the database
    user the secret names: IAM cannot tell a SELECT from an UPDATE); ``bucket`` its prefixes only,
    ``read`` as GetObject with listing under the prefix, ``write`` as PutObject and DeleteObject;
    ``runner_channels`` the secrets of the channels the stage names and of the links' key;
    ``certificates`` StartExecution of the certificate state machine alone, and
    RedriveExecution of its executions.
    """
    resources = function.resources
    secrets: list[Any] = []
    if resources.database:
        secrets.append({"Ref": DATABASE_SECRET})
    if resources.slack:
        secrets.append({"Ref": WEBHOOK_SECRET})
    if resources.runner_channels:
        secrets += list(runner_channel_secrets(stage).values())
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
    if resources.certificates:
        statements += [start_certificates(stage), redrive_certificates(stage)]
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
