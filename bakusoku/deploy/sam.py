"""The AWS SAM template of one service and stage, built from the function table and the ASL file.

Besides the pipeline, the API and the alert notifier, the stack holds the migration function and
its custom resource ``DatabaseSchema``: CloudFormation calls it when the stack is created and on
every deploy (``bakusoku deploy`` gives the ``DeployId`` parameter a new value each time; a new
migration head or database changes it too), and it applies the shipped Alembic migrations
(``upgrade head``, idempotent) before the functions that use the database are updated.
"""

from __future__ import annotations

from typing import Any

from bakusoku.config import SECRET_VARIABLES, Settings, env_name, settings_to_environment
from bakusoku.db.migrate import head_revision
from bakusoku.deploy.buckets import private_bucket_properties
from bakusoku.deploy.canary import (
    ALIAS,
    DEPLOYMENT_CONFIG,
    alias_id,
    deployment_config_resource,
    function_deployment_type,
    state_machine_deployment,
    version_ref,
)
from bakusoku.deploy.chaos import (
    chaos_parameters,
    chaos_resources,
    extension_properties,
    stop_alarms,
)
from bakusoku.deploy.edge import (
    INLINE_MAX_BYTES,
    bucket_read_statement,
    distribution_url,
    edge_resources,
    function_url_config,
)
from bakusoku.deploy.monitoring import function_alarms, monitored, state_machine_alarms
from bakusoku.deploy.policies import (
    ADMIN_SECRET,
    API_CHANNEL_SECRETS,
    BUCKET,
    CHANNEL_SECRET_PARAMETERS,
    DATABASE_SECRET,
    REKOGNITION_ACTIONS,
    STATE_MACHINE,
    TRANSFORM_SECRET,
    WEBHOOK_SECRET,
    channel_secrets,
    function_statements,
    objects,
    runner_channel_secrets,
    stack_collection_prefix,
    state_machine_log_statement,
)
from bakusoku.deploy.race_capacity import race_capacity_resources
from bakusoku.deploy.stages import API, NOTIFIER, StageConfig
from bakusoku.deploy.vpc import (
    endpoint_resources,
    proxy_connect_statement,
    proxy_environment,
    proxy_resources,
    vpc_parameters,
)
from bakusoku.events.eventbridge import EXECUTION_STATUS_CHANGE, STATES_SOURCE
from bakusoku.faces.rekognition import REKOGNITION
from bakusoku.ops.messages import ALERTED_STATUSES
from bakusoku.pipeline.declared import DeclaredFunction
from bakusoku.pipeline.functions import (
    ALL_FUNCTIONS,
    CERTIFICATE,
    FUNCTIONS,
    MIGRATE,
    PHOTO_PIPELINE,
    TRANSFORM,
    state_machines,
)
from bakusoku.pipeline.machines import StateMachine
from bakusoku.workflow.definition import load_definition

CODE_DIR = "code"  # the bundle, beside the template
TRIGGER_DLQ = "TriggerDeadLetterQueue"
ALERT_DLQ = "AlertDeadLetterQueue"
NOTIFIER_DLQ = "NotifierFailureQueue"  # the notifier's on-failure destination
# EventBridge's own retries of a rule's target before its dead-letter queue: its defaults.
RULE_RETRY_POLICY = {"MaximumRetryAttempts": 185, "MaximumEventAgeInSeconds": 86400}
_NEEDED_BY_MIGRATIONS = {"AWS::EC2::VPCEndpoint", "AWS::RDS::DBProxyTargetGroup"}
HTTP_API = "PhotoApi"
# The web app's pages, served by the HTTP API, upload from its origin straight to the bucket. The
# exact origin (https://${PhotoApi}.execute-api...) would make a cycle: the bucket would depend on
# the API, whose routes depend on the API function, whose environment and role name the bucket.
# S3 authorizes every request by its signature, never by origin, so admitting the region's
# execute-api origins lets no page do more than the presigned URLs it was given allow.
API_ORIGIN = {"Fn::Sub": "https://*.execute-api.${AWS::Region}.${AWS::URLSuffix}"}
# What the web app sends to the API from another origin (``cors_origins``): its key and JSON.
API_CORS_METHODS = ["GET", "POST", "DELETE", "OPTIONS"]
API_CORS_HEADERS = ["authorization", "content-type", "last-event-id"]
DATABASE_SCHEMA = "DatabaseSchema"  # the custom resource that runs the migrations
DEPLOY_ID = "DeployId"  # a parameter new on every deploy, so the migrations run on every deploy
_LOCAL_ONLY = {
    env_name(name)
    for name in (
        "data_dir",
        "host",
        "port",
        "store_port",
        "workers",
        "max_running_executions",
        "race_plans_dir",
        "async_retry_seconds",
        "database_url",
        "access_key_id",
        "secret_access_key",
        "public_api_url",
        "public_store_url",
        "lambda_architecture",
    )
}
_SECRET_ARN_PATTERN = r"^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+$"


def logical_id(function: str) -> str:
    """``store-photo`` → ``StorePhotoFunction`` (the ASL placeholder without ``Arn``)."""
    return "".join(part.capitalize() for part in function.split("-")) + "Function"


def handlers(stage: StageConfig | None = None) -> dict[str, str]:
    """Every function of the stack and its handler, from the function table (pipeline first),
    with the functions ``stage``'s configuration declares last."""
    table = stage.functions.values() if stage is not None else ALL_FUNCTIONS
    return {f.name: f.handler for f in table}


def object_prefix_pattern(prefix: str) -> dict[str, Any]:
    """S3 "Object Created" events of the stack's bucket under ``prefix``."""
    return {
        "source": ["aws.s3"],
        "detail-type": ["Object Created"],
        "detail": {"bucket": {"name": [{"Ref": BUCKET}]}, "object": {"key": [{"prefix": prefix}]}},
    }


def declared_events(function: DeclaredFunction, stage: StageConfig) -> dict[str, Any]:
    """A declared function's event sources as SAM events: the same ones ``bakusoku up`` fires."""
    events: dict[str, Any] = {}
    for n, schedule in enumerate(function.schedules, start=1):
        events[f"Schedule{n}"] = {
            "Type": "Schedule",
            "Properties": {
                "Schedule": schedule.expression,
                "Name": stage.resource_name(f"{function.name}-schedule-{n}"),
            },
        }
    for n, route in enumerate(function.routes, start=1):
        events[f"Http{n}"] = {
            "Type": "HttpApi",
            "Properties": {"ApiId": {"Ref": HTTP_API}, "Method": route.method, "Path": route.path},
        }
    for n, objects_under in enumerate(function.object_prefixes, start=1):
        events[f"Objects{n}"] = {
            "Type": "EventBridgeRule",
            "Properties": {
                "RuleName": stage.resource_name(f"{function.name}-objects-{n}"),
                "Pattern": object_prefix_pattern(objects_under.prefix),
            },
        }
    for event in events.values():
        if event["Type"] != "HttpApi":
            _rule_dead_letter(event, dead_letter_queue_id(function.name))
    return events


def asynchronous_rules(source: DeclaredFunction | StateMachine) -> list[str]:
    """The names of the rules that invoke a declared function asynchronously, or start a
    declared state machine (its schedules and object prefixes)."""
    return [
        *(f"{source.name}-schedule-{n}" for n in range(1, len(source.schedules) + 1)),
        *(f"{source.name}-objects-{n}" for n in range(1, len(source.object_prefixes) + 1)),
    ]


def machine_dead_letter_queue_id(machine: StateMachine) -> str:
    """``nightly-export`` → ``NightlyExportStateMachineDeadLetterQueue``: the events of its rules
    that started no run."""
    return f"{machine.logical_id}DeadLetterQueue"


def _rule_dead_letter(event: dict[str, Any], queue: str) -> None:
    """A rule's target: EventBridge retries (``RULE_RETRY_POLICY``), then puts the event in
    ``queue``."""
    event["Properties"]["DeadLetterConfig"] = {"Arn": {"Fn::GetAtt": [queue, "Arn"]}}
    event["Properties"]["RetryPolicy"] = dict(RULE_RETRY_POLICY)


def dead_letter_queue_id(function: str) -> str:
    """``slow-queries`` → ``SlowQueriesFunctionDeadLetterQueue``."""
    return f"{logical_id(function)}DeadLetterQueue"


def async_invoke_config(queue: str) -> dict[str, Any]:
    """Lambda's asynchronous invocation: two retries, then the event goes to ``queue``."""
    return {
        "MaximumRetryAttempts": 2,
        "MaximumEventAgeInSeconds": 21600,
        "DestinationConfig": {
            "OnFailure": {"Type": "SQS", "Destination": {"Fn::GetAtt": [queue, "Arn"]}}
        },
    }


def dead_letter_queue_name(source: str) -> str:
    """The queue of a declared function's or state machine's failed events, before the stage's
    prefix: ``slow-queries`` → ``slow-queries-dlq`` (``enphoto-prod-slow-queries-dlq`` deployed)."""
    return f"{source}-dlq"


def declared_dead_letter_resources(stage: StageConfig) -> dict[str, Any]:
    """One queue per declared function invoked asynchronously and per declared state machine with
    events, each with its alarm and the policy that lets only its own rules put undeliverable
    events in it (Lambda's on-failure destination is allowed by the function's role, which SAM
    extends for the destination)."""
    resources: dict[str, Any] = {}
    for function in stage.functions.values():
        declaration = function.declaration
        if declaration is not None and asynchronous_rules(declaration):
            resources |= _rule_dead_letter_queue(
                stage,
                dead_letter_queue_id(function.name),
                declaration,
                f"Events {function.name} failed",
            )
    for machine in state_machines(stage.settings):
        # The photo pipeline's upload rule has the trigger's queue.
        if not machine.started_by_uploads and asynchronous_rules(machine):
            resources |= _rule_dead_letter_queue(
                stage,
                machine_dead_letter_queue_id(machine),
                machine,
                f"Events that started no run of {machine.name}",
            )
    return resources


def _rule_dead_letter_queue(
    stage: StageConfig, queue: str, source: DeclaredFunction | StateMachine, what: str
) -> dict[str, Any]:
    """``queue``, the policy that lets ``source``'s rules send to it, and its alarm."""
    rules = [_rule_arn(stage, rule) for rule in asynchronous_rules(source)]
    return {
        queue: queue_resource(stage, dead_letter_queue_name(source.name)),
        f"{queue}Policy": _queue_policy(queue, rules),
        f"{queue}Alarm": queue_alarm_resource(stage, queue, what),
    }


def asl_definition(machine: StateMachine = PHOTO_PIPELINE) -> dict[str, Any]:
    """``machine``'s ASL file, parsed and validated, with its ``${...}`` placeholders kept."""
    return load_definition(machine.definition_text(), machine.kept_placeholders())


def definition_substitutions(machine: StateMachine = PHOTO_PIPELINE) -> dict[str, Any]:
    """DefinitionSubstitutions: each placeholder → the version of its function published on this
    deploy (``!Ref StorePhotoFunction.Version``, a version-qualified ARN). Each state machine
    version so names exact function versions, and an execution in flight finishes on the code it
    started with; SAM keeps every published version (``DeletionPolicy: Retain``), so an old
    execution's versions outlive the deploy that replaces them."""
    return {p: {"Ref": version_ref(logical_id(f))} for p, f in machine.tasks}


def called_by_alias(stage: StageConfig) -> frozenset[str]:
    """The functions something invokes through their ``live`` alias: the HTTP API's, the
    transform (its URL), the notifier (its rule and the alarm topic) and each declared function
    with events of its own (its routes, schedules and object prefixes)."""
    direct = {API, TRANSFORM, NOTIFIER}
    for function in stage.functions.values():
        if function.declaration is not None and declared_events(function.declaration, stage):
            direct.add(function.name)
    return frozenset(direct)


def pinned_functions(stage: StageConfig) -> frozenset[str]:
    """The functions only state machine Tasks call, each by the exact version a state machine
    version names: their release is the state machine's (its alias's canary), and their race-day
    provisioned concurrency is on that version (``deploy.race_capacity``)."""
    tasks = {f for machine in state_machines(stage.settings) for f in machine.function_names}
    return frozenset(tasks - called_by_alias(stage))


def log_group_id(machine: StateMachine) -> str:
    """The logical id of ``machine``'s execution log group (``PhotoPipelineLogGroup``)."""
    return f"{machine.logical_id}LogGroup"


def object_created_pattern(stage: StageConfig) -> dict[str, Any]:
    """S3 "Object Created" events of the stack's bucket, under the upload prefix."""
    return {
        "source": ["aws.s3"],
        "detail-type": ["Object Created"],
        "detail": {
            "bucket": {"name": [{"Ref": BUCKET}]},
            "object": {"key": [{"prefix": stage.settings.upload_prefix}]},
        },
    }


def failed_execution_pattern() -> dict[str, Any]:
    """Status changes of the stack's state machine into a status that is alerted."""
    return {
        "source": [STATES_SOURCE],
        "detail-type": [EXECUTION_STATUS_CHANGE],
        "detail": {
            "status": list(ALERTED_STATUSES),
            "stateMachineArn": [{"Ref": STATE_MACHINE}],
        },
    }


def function_environment(name: str, stage: StageConfig) -> dict[str, Any]:
    """The ``BAKUSOKU_*`` settings a function reads, as ``bakusoku up`` passes them to workers."""
    settings = stage.settings
    if name == NOTIFIER:  # what the alert message names and how it finds the photo
        return {
            env_name("slack_webhook_secret_arn"): {"Ref": WEBHOOK_SECRET},
            env_name("region"): {"Ref": "AWS::Region"},
            env_name("service_name"): stage.service,
            env_name("stage"): stage.stage,
            env_name("upload_prefix"): settings.upload_prefix,
        }
    # Every setting the file changes reaches the functions, as `bakusoku up` hands it to workers;
    # what only the local deployment uses (ports, paths, local credentials) does not, nor does a
    # secret (on AWS the webhook and the admin token are read from Secrets Manager).
    defaults = settings_to_environment(Settings())
    env: dict[str, Any] = {
        name: value
        for name, value in settings_to_environment(settings).items()
        if name not in _LOCAL_ONLY | SECRET_VARIABLES and value != defaults.get(name)
    }
    env |= {
        env_name("object_store"): "s3",
        env_name("bucket"): {"Ref": BUCKET},
        env_name("region"): {"Ref": "AWS::Region"},
        env_name("data_dir"): "/tmp/bakusoku",
        env_name("database_secret_arn"): {"Ref": DATABASE_SECRET},
        # Each execution environment has its own /tmp: a connection gate there bounds nothing
        # (bakusoku/db/gate.py); reserved concurrency or an RDS Proxy bounds the connections.
        env_name("db_max_connections"): "0",
        env_name("upload_prefix"): settings.upload_prefix,
        env_name("rendition_prefix"): settings.rendition_prefix,
        env_name("max_upload_bytes"): str(settings.max_upload_bytes),
        env_name("presign_expiry_seconds"): str(settings.presign_expiry_seconds),
        env_name("rendition_url_expiry_seconds"): str(settings.rendition_url_expiry_seconds),
    }
    if settings.face_index == "embedded":
        # The Lambda bundle carries no dlib and no MTCNN (docs/faces.md): on AWS faces are indexed
        # by Rekognition or not at all, never reported unindexed photo after photo.
        env[env_name("face_index")] = "off"
    if name in ("read-bibs", API):
        # Nor the text engine (onnxruntime, OpenCV, the models: docs/races.md): on AWS bibs are
        # read by Rekognition DetectText (bib_reader: rekognition) or left to staff.
        reader = settings.bib_reader
        env[env_name("bib_reader")] = "off" if reader == "embedded" else reader
        env[env_name("bib_min_confidence")] = str(settings.bib_min_confidence)
        # Both queue runner notifications; a failure to is counted per stage (races.notifications).
        env[env_name("stage")] = stage.stage
    declaration = stage.functions[name].declaration
    if declaration is not None:
        env |= dict(declaration.environment)
        if declaration.resources.slack:
            env[env_name("slack_webhook_secret_arn")] = {"Ref": WEBHOOK_SECRET}
        if declaration.resources.runner_channels:
            env |= _secret_arns(runner_channel_secrets(stage))
        if declaration.resources.certificates:  # the catch-up starts what the door missed
            env[env_name("certificate_state_machine_arn")] = {
                "Ref": alias_id(CERTIFICATE.logical_id)
            }
        if not declaration.resources.database:  # no database secret it could not read anyway
            env.pop(env_name("database_secret_arn"))
    if settings.face_index == REKOGNITION and name in REKOGNITION_ACTIONS:
        # The collections the role is scoped to, whatever the function's own service_name says.
        env[env_name("face_collection_prefix")] = stack_collection_prefix(stage)
    if name in (API, TRANSFORM):  # one signs transform URLs, the other verifies them
        env[env_name("transform_signing_key_secret_arn")] = {"Ref": TRANSFORM_SECRET}
    if name in ("read-bibs", API):  # the certificate door: StartExecution on its alias
        env[env_name("certificate_state_machine_arn")] = {"Ref": alias_id(CERTIFICATE.logical_id)}
    if name == API:
        env[env_name("state_machine_arn")] = {"Ref": STATE_MACHINE}
        env |= _secret_arns(channel_secrets(stage, API_CHANNEL_SECRETS))
        env[env_name("transform_url")] = distribution_url()
        if stage.admin_token_secret_arn:
            env[env_name("admin_token_secret_arn")] = {"Ref": ADMIN_SECRET}
    if name == TRANSFORM:
        env[env_name("transform_inline_max_bytes")] = str(INLINE_MAX_BYTES)
        # Each execution environment's /tmp is its own and short-lived; the edge is the cache.
        env[env_name("transform_cache_mb")] = "0"
    return env


def _secret_arns(refs: dict[str, Any]) -> dict[str, Any]:
    """``BAKUSOKU_{NAME}_SECRET_ARN`` of each secret setting: the function reads the value."""
    return {env_name(f"{name}_secret_arn"): ref for name, ref in refs.items()}


def database_schema() -> dict[str, Any]:
    """The custom resource whose every create or change runs the migration function.

    CloudFormation calls a custom resource only when its properties change: the deploy's
    ``DeployId`` does on every ``bakusoku deploy``, the migration head with a release that ships
    a migration, the database secret when the stack points at another database.
    """
    return {
        "Type": "Custom::DatabaseSchema",
        "Properties": {
            "ServiceToken": {"Fn::GetAtt": [logical_id(MIGRATE), "Arn"]},
            "MigrationHead": head_revision(),
            "DatabaseSecretArn": {"Ref": DATABASE_SECRET},
            "DeployId": {"Ref": DEPLOY_ID},
        },
    }


def _parameters(stage: StageConfig) -> dict[str, Any]:
    params: dict[str, Any] = {
        DATABASE_SECRET: {
            "Type": "String",
            "Default": stage.database_secret_arn,
            "AllowedPattern": _SECRET_ARN_PATTERN,
            "Description": "Secrets Manager secret with the database URL (or an RDS secret).",
        },
        WEBHOOK_SECRET: {
            "Type": "String",
            "Default": stage.slack_webhook_secret_arn,
            "AllowedPattern": _SECRET_ARN_PATTERN,
            "Description": "Secrets Manager secret with the Slack webhook URL for alerts.",
        },
    }
    params[TRANSFORM_SECRET] = {
        "Type": "String",
        "Default": stage.transform_signing_key_secret_arn,
        "AllowedPattern": _SECRET_ARN_PATTERN,
        "Description": "Secrets Manager secret with the HMAC key of transform URLs (32+ chars).",
    }
    params[DEPLOY_ID] = {
        "Type": "String",
        "Default": "packaged",
        "Description": "New on every deploy (bakusoku deploy sets it) so the migrations run.",
    }
    for name, arn in stage.channel_secret_arns:
        params[CHANNEL_SECRET_PARAMETERS[name]] = {
            "Type": "String",
            "Default": arn,
            "AllowedPattern": _SECRET_ARN_PATTERN,
            "Description": f"Secrets Manager secret with {name} (runner notifications).",
        }
    if stage.admin_token_secret_arn:
        params[ADMIN_SECRET] = {
            "Type": "String",
            "Default": stage.admin_token_secret_arn,
            "AllowedPattern": _SECRET_ARN_PATTERN,
            "Description": "Secrets Manager secret with the API's admin token.",
        }
    params |= vpc_parameters(stage)
    params |= chaos_parameters(stage)
    return params


def bucket_resource(stage: StageConfig) -> dict[str, Any]:
    settings = stage.settings
    return {
        "Type": "AWS::S3::Bucket",
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Properties": {
            **private_bucket_properties(),
            "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
            "NotificationConfiguration": {"EventBridgeConfiguration": {"EventBridgeEnabled": True}},
            "CorsConfiguration": {
                "CorsRules": [
                    {
                        "AllowedMethods": ["PUT", "POST", "GET", "HEAD"],
                        "AllowedOrigins": [API_ORIGIN, *stage.cors_origins],
                        "AllowedHeaders": ["*"],
                        "ExposedHeaders": ["ETag"],
                        "MaxAge": 3000,
                    }
                ]
            },
            "LifecycleConfiguration": {
                "Rules": [
                    {
                        "Id": "abort-incomplete-uploads",
                        "Status": "Enabled",
                        "Prefix": settings.upload_prefix,
                        "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
                    }
                ]
            },
            "Tags": _tags(stage),
        },
    }


def bucket_policy_resource(stage: StageConfig) -> dict[str, Any]:
    return {
        "Type": "AWS::S3::BucketPolicy",
        "Properties": {
            "Bucket": {"Ref": BUCKET},
            "PolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "DenyInsecureTransport",
                        "Effect": "Deny",
                        "Principal": "*",
                        "Action": "s3:*",
                        "Resource": [{"Fn::GetAtt": [BUCKET, "Arn"]}, objects("")],
                        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                    },
                    bucket_read_statement(stage),
                ],
            },
        },
    }


def _function(
    name: str, handler: str, stage: StageConfig, pinned: frozenset[str]
) -> dict[str, Any]:
    tuning = stage.functions[name]
    props: dict[str, Any] = {
        "FunctionName": stage.resource_name(name),
        "CodeUri": CODE_DIR,
        "Handler": handler,
        "Runtime": stage.runtime,
        "Architectures": [stage.architecture],
        "MemorySize": tuning.memory_mb,
        "Timeout": tuning.timeout_seconds,
        "Tracing": "Active",
        "Environment": {"Variables": function_environment(name, stage)},
        "Policies": [
            {"Version": "2012-10-17", "Statement": _statements(name, stage)},
        ],
        "Tags": dict(_tags_map(stage), function=name),
        # Each deploy publishes a version and moves the alias to it; the HTTP API, the rules and
        # the alarm topic call the alias, the state machines' Tasks the version, never $LATEST.
        "AutoPublishAlias": ALIAS,
        # A change of settings alone (memory, environment) publishes a version too, else pinned
        # Tasks would keep the old settings. SAM hashes the properties as written: a changed
        # template parameter value alone publishes nothing (docs/upgrades.md).
        "AutoPublishAliasAllProperties": True,
    }
    if stage.canary is not None and name != MIGRATE and name not in pinned:
        # CloudFormation calls the migration function itself, once per deploy: nothing to shift.
        # Nothing calls a pinned function's alias: the state machine alias's canary shifts it.
        props["DeploymentPreference"] = {
            "Type": function_deployment_type(stage.canary),
            "Alarms": [{"Ref": alarm} for alarm in function_alarms(logical_id(name))],
        }
    if name != NOTIFIER:  # through the stack's RDS Proxy, if it has one
        props["Environment"]["Variables"] |= proxy_environment(stage)
    extension = extension_properties(name, stage)  # AWS FIS's extension (stage chaos: true)
    if extension:
        props["Layers"] = extension["Layers"]
        props["Environment"]["Variables"] |= extension["Variables"]
        props["Policies"][0]["Statement"].extend(extension["Statements"])
    if tuning.reserved_concurrency is not None:
        props["ReservedConcurrentExecutions"] = tuning.reserved_concurrency
    if stage.vpc is not None and name != NOTIFIER:
        props["VpcConfig"] = {
            "SubnetIds": {"Ref": "SubnetIds"},
            "SecurityGroupIds": {"Ref": "SecurityGroupIds"},
        }
    if name == API:
        props["Events"] = {"Http": {"Type": "HttpApi", "Properties": {"ApiId": {"Ref": HTTP_API}}}}
    declaration = stage.functions[name].declaration
    if declaration is not None:
        props["Events"] = declared_events(declaration, stage)
        if asynchronous_rules(declaration):
            props["EventInvokeConfig"] = async_invoke_config(dead_letter_queue_id(name))
        if declaration.description:
            props["Description"] = declaration.description
    if name == TRANSFORM:  # the origin of the stack's CloudFront distribution (deploy.edge)
        props["FunctionUrlConfig"] = function_url_config()
    function: dict[str, Any] = {"Type": "AWS::Serverless::Function", "Properties": props}
    if name not in (NOTIFIER, MIGRATE):  # new code meets the schema it was written for
        function["DependsOn"] = [DATABASE_SCHEMA]
    if name == NOTIFIER:
        # Invoked asynchronously by its rule: an alert that still fails after Lambda's two
        # retries goes to a queue (with an alarm) instead of being dropped.
        props["EventInvokeConfig"] = async_invoke_config(NOTIFIER_DLQ)
        props["Events"] = {
            "ExecutionFailed": {
                "Type": "EventBridgeRule",
                "Properties": {
                    "RuleName": stage.resource_name("execution-failed"),
                    "Pattern": failed_execution_pattern(),
                    "DeadLetterConfig": {"Arn": {"Fn::GetAtt": [ALERT_DLQ, "Arn"]}},
                    "RetryPolicy": {"MaximumRetryAttempts": 10, "MaximumEventAgeInSeconds": 3600},
                },
            }
        }
    return function


def _statements(name: str, stage: StageConfig) -> list[dict[str, Any]]:
    statements = function_statements(name, stage)
    connect = proxy_connect_statement(stage)
    if connect is not None and name != NOTIFIER:
        statements.append(connect)
    return statements


def queue_alarm_resource(stage: StageConfig, queue: str, what: str) -> dict[str, Any]:
    """An alarm as soon as ``queue`` holds a message: something was not delivered."""
    return {
        "Type": "AWS::CloudWatch::Alarm",
        "Properties": {
            "AlarmName": stage.resource_name(f"{queue}-not-empty"),
            "AlarmDescription": f"{what} of {stage.stack_name} wait in {queue}: read and redrive them",
            "Namespace": "AWS/SQS",
            "MetricName": "ApproximateNumberOfMessagesVisible",
            "Dimensions": [{"Name": "QueueName", "Value": {"Fn::GetAtt": [queue, "QueueName"]}}],
            "Statistic": "Maximum",
            "Period": 300,
            "EvaluationPeriods": 1,
            "Threshold": 0,
            "ComparisonOperator": "GreaterThanThreshold",
            "TreatMissingData": "notBreaching",
        },
    }


def log_group_resource(name: str, stage: StageConfig) -> dict[str, Any]:
    return {
        "Type": "AWS::Logs::LogGroup",
        "Properties": {"LogGroupName": name, "RetentionInDays": stage.log_retention_days},
    }


def queue_resource(stage: StageConfig, name: str) -> dict[str, Any]:
    return {
        "Type": "AWS::SQS::Queue",
        "Properties": {
            "QueueName": stage.resource_name(name),
            "MessageRetentionPeriod": 1209600,  # 14 days, the SQS maximum
            "SqsManagedSseEnabled": True,
        },
    }


def _queue_policy(queue: str, rule_source: dict[str, Any] | list[dict[str, Any]]) -> dict[str, Any]:
    """Lets EventBridge put undeliverable events of the stack's rules into ``queue``."""
    return {
        "Type": "AWS::SQS::QueuePolicy",
        "Properties": {
            "Queues": [{"Ref": queue}],
            "PolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "events.amazonaws.com"},
                        "Action": "sqs:SendMessage",
                        "Resource": {"Fn::GetAtt": [queue, "Arn"]},
                        "Condition": {"ArnEquals": {"aws:SourceArn": rule_source}},
                    }
                ],
            },
        },
    }


def _rule_arn(stage: StageConfig, rule: str) -> dict[str, Any]:
    return {
        "Fn::Sub": "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:rule/"
        f"{stage.resource_name(rule)}"
    }


def _state_machine(stage: StageConfig, machine: StateMachine) -> dict[str, Any]:
    # SAM's LambdaInvokePolicy allows function:NAME*, which covers NAME:7, the version a Task
    # calls (tests/aws proves it).
    invoke = [
        {"LambdaInvokePolicy": {"FunctionName": {"Ref": logical_id(f)}}}
        for f in machine.function_names
    ]
    alarms = [
        *state_machine_alarms(machine.logical_id),
        *(alarm for f in machine.function_names for alarm in function_alarms(logical_id(f))),
    ]
    deployment = (
        {"DeploymentPreference": state_machine_deployment(stage.canary, alarms)}
        if stage.canary is not None
        else {}  # SAM's default: the alias moves to the new version at once
    )
    return {
        "Type": "AWS::Serverless::StateMachine",
        "Properties": {
            "Name": stage.resource_name(machine.name),
            "Type": "STANDARD",
            "Definition": asl_definition(machine),
            "DefinitionSubstitutions": definition_substitutions(machine),
            # Each deploy publishes a state machine version behind the alias, which the rules
            # start: an execution runs to its end on the version (definition) it started on.
            "AutoPublishAlias": ALIAS,
            "UseAliasAsEventTarget": True,
            **deployment,
            "Policies": [
                *invoke,
                {"Version": "2012-10-17", "Statement": [state_machine_log_statement()]},
            ],
            "Tracing": {"Enabled": True},
            "Logging": {
                "Level": "ERROR",
                "IncludeExecutionData": True,
                "Destinations": [
                    {
                        "CloudWatchLogsLogGroup": {
                            "LogGroupArn": {"Fn::GetAtt": [log_group_id(machine), "Arn"]}
                        }
                    }
                ],
            },
            "Events": _state_machine_events(stage, machine),
            "Tags": _tags_map(stage),
        },
    }


def _state_machine_events(stage: StageConfig, machine: StateMachine) -> dict[str, Any]:
    """What starts ``machine``: for the photo pipeline, every upload; for a declared one, its
    schedules and object prefixes (the rules start its ``live`` alias)."""
    events: dict[str, Any] = {}
    if machine.started_by_uploads:
        events["ObjectCreated"] = {
            "Type": "EventBridgeRule",
            "Properties": {
                "RuleName": stage.resource_name("object-created"),
                "Pattern": object_created_pattern(stage),
                "DeadLetterConfig": {"Arn": {"Fn::GetAtt": [TRIGGER_DLQ, "Arn"]}},
                "RetryPolicy": {
                    "MaximumRetryAttempts": 185,
                    "MaximumEventAgeInSeconds": 86400,
                },
            },
        }
    for n, schedule in enumerate(machine.schedules, start=1):  # as a function's (declared_events)
        events[f"Schedule{n}"] = {
            "Type": "Schedule",
            "Properties": {
                "Schedule": schedule.expression,
                "Name": stage.resource_name(f"{machine.name}-schedule-{n}"),
            },
        }
    for n, objects_under in enumerate(machine.object_prefixes, start=1):
        events[f"Objects{n}"] = {
            "Type": "EventBridgeRule",
            "Properties": {
                "RuleName": stage.resource_name(f"{machine.name}-objects-{n}"),
                "Pattern": object_prefix_pattern(objects_under.prefix),
            },
        }
    for name, event in events.items():
        if name != "ObjectCreated":  # a start refused (throttled, no permission) is kept
            _rule_dead_letter(event, machine_dead_letter_queue_id(machine))
    return events


def state_machine_outputs(machine: StateMachine) -> dict[str, Any]:
    """The stack outputs naming ``machine`` and its alias (the photo pipeline's keep their
    first names, ``StateMachineArn`` and ``StateMachineAliasArn``)."""
    # Another machine's: its logical id and Arn / AliasArn (NightlyExportStateMachineAliasArn).
    key = "StateMachine" if machine == PHOTO_PIPELINE else machine.logical_id
    what = machine.description.rstrip(".") or f"The state machine {machine.name}"
    starts = "uploads" if machine.started_by_uploads else "its events"
    return {
        f"{key}Arn": {
            "Description": f"{what}.",
            "Value": {"Ref": machine.logical_id},
        },
        f"{key}AliasArn": {
            "Description": f"{what}'s '{ALIAS}' alias, which {starts} start.",
            "Value": {"Ref": alias_id(machine.logical_id)},
        },
    }


def _http_api(stage: StageConfig) -> dict[str, Any]:
    return {
        "Type": "AWS::Serverless::HttpApi",
        "Properties": {
            "CorsConfiguration": {
                "AllowOrigins": list(stage.cors_origins),
                "AllowMethods": API_CORS_METHODS,
                "AllowHeaders": API_CORS_HEADERS,
                "MaxAge": 600,
            },
            "Tags": _tags_map(stage),
        },
    }


def _tags_map(stage: StageConfig) -> dict[str, str]:
    return {"service": stage.service, "stage": stage.stage, "app": "bakusoku"}


def _tags(stage: StageConfig) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in _tags_map(stage).items()]


def build_template(stage: StageConfig) -> dict[str, Any]:
    """The complete SAM template (a plain dict with long-form intrinsics) for ``stage``."""
    resources: dict[str, Any] = {
        BUCKET: bucket_resource(stage),
        "PhotoBucketPolicy": bucket_policy_resource(stage),
    }
    pinned = pinned_functions(stage)
    for name, handler in handlers(stage).items():
        resources[logical_id(name)] = _function(name, handler, stage, pinned)
        resources[f"{logical_id(name)}LogGroup"] = log_group_resource(
            f"/aws/lambda/{stage.resource_name(name)}", stage
        )
    resources[DATABASE_SCHEMA] = database_schema()
    network = {**endpoint_resources(stage), **proxy_resources(stage)}
    if network:  # the migrations run in the VPC: they need the endpoints and the proxy first
        resources[DATABASE_SCHEMA]["DependsOn"] = sorted(
            k for k, v in network.items() if v["Type"] in _NEEDED_BY_MIGRATIONS
        )
    resources |= network
    resources[HTTP_API] = _http_api(stage)
    if stage.canary is not None and stage.canary.predefined is None:
        resources[DEPLOYMENT_CONFIG] = deployment_config_resource(stage.canary)
    transform = logical_id(TRANSFORM)  # its URL invokes the published version, as callers do
    resources |= edge_resources(stage, transform, alias_id(transform))
    machines = state_machines(stage.settings)
    for machine in machines:
        resources[machine.logical_id] = _state_machine(stage, machine)
        resources[log_group_id(machine)] = log_group_resource(
            f"/aws/vendedlogs/states/{stage.resource_name(machine.name)}", stage
        )
    resources[TRIGGER_DLQ] = queue_resource(stage, "trigger-dlq")
    resources[f"{TRIGGER_DLQ}Policy"] = _queue_policy(
        TRIGGER_DLQ, _rule_arn(stage, "object-created")
    )
    resources[ALERT_DLQ] = queue_resource(stage, "alert-dlq")
    resources[f"{ALERT_DLQ}Policy"] = _queue_policy(ALERT_DLQ, _rule_arn(stage, "execution-failed"))
    resources[NOTIFIER_DLQ] = queue_resource(stage, "notifier-failures")
    resources[f"{TRIGGER_DLQ}Alarm"] = queue_alarm_resource(
        stage, TRIGGER_DLQ, "Uploads that started no run"
    )
    resources[f"{ALERT_DLQ}Alarm"] = queue_alarm_resource(
        stage, ALERT_DLQ, "Alerts never delivered"
    )
    resources[f"{NOTIFIER_DLQ}Alarm"] = queue_alarm_resource(
        stage, NOTIFIER_DLQ, "Alerts the notifier failed"
    )
    resources |= declared_dead_letter_resources(stage)
    resources |= race_capacity_resources(  # warm functions before each race (race prepare)
        stage.race_plans,
        function_ids={name: logical_id(name) for name in stage.functions},
        resource_names={name: stage.resource_name(name) for name in stage.functions},
        pinned=pinned,
    )
    # Last, so that every alarm of the template, whoever adds it, goes to the alarm topic.
    resources = monitored(stage, resources, notifier=logical_id(NOTIFIER))
    resources |= chaos_resources(  # the experiments stop on the alarms just added
        stage,
        resources,
        function_ids={f.name: logical_id(f.name) for f in FUNCTIONS},
        alarms=stop_alarms(resources, STATE_MACHINE, TRIGGER_DLQ),
    )
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Transform": "AWS::Serverless-2016-10-31",
        "Description": (
            f"bakusoku {stage.service} ({stage.stage}): presigned photo uploads to S3, the photo "
            "pipeline in Step Functions, the HTTP API and failure alerts."
        ),
        "Parameters": _parameters(stage),
        "Resources": resources,
        "Outputs": {
            "ApiUrl": {
                "Description": "Base URL of the HTTP API.",
                "Value": {
                    "Fn::Sub": f"https://${{{HTTP_API}}}.execute-api.${{AWS::Region}}.${{AWS::URLSuffix}}/"
                },
            },
            "TransformUrl": {
                "Description": "The CloudFront distribution that serves signed /img URLs.",
                "Value": distribution_url(),
            },
            "BucketName": {"Description": "Uploads and renditions.", "Value": {"Ref": BUCKET}},
            **{k: v for m in machines for k, v in state_machine_outputs(m).items()},
            "TriggerDeadLetterQueueUrl": {
                "Description": "Object-created events that could not start an execution.",
                "Value": {"Ref": TRIGGER_DLQ},
            },
            "NotifierFailureQueueUrl": {
                "Description": "Failure alerts the notifier could not send after its retries.",
                "Value": {"Ref": NOTIFIER_DLQ},
            },
        },
    }
