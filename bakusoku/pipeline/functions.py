"""The function table: every Lambda-style function of bakusoku, its handler and its size.

One description drives both backends: the embedded runtime (``bakusoku up``) runs the pipeline's
functions with these sizes, and the AWS templates create every function of the stack with them.
The configuration file's ``functions`` table and a stage's ``functions`` / ``reserved_concurrency``
change them for both alike (``sized_functions``). The same table may declare functions of the
deployment's own (``pipeline.declared``): they join the table here, after bakusoku's functions,
and every backend takes them from it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources

from bakusoku.config import CHANNEL_SECRETS, ConfigError, Settings, env_name, function_overrides
from bakusoku.pipeline.declared import DeclaredFunction, declared_functions
from bakusoku.pipeline.declared_machines import declared_machines, unused_functions
from bakusoku.pipeline.machines import StateMachine, TaskState, placeholder_of
from bakusoku.runtime import FunctionConfig


@dataclass(frozen=True)
class LambdaFunction:
    """One function: its name, handler, size and (pipeline tasks) the ASL placeholder naming it."""

    name: str
    handler: str
    placeholder: str = ""  # empty: not called by the state machine
    timeout_seconds: int = 30
    memory_mb: int = 2048
    reserved_concurrency: int | None = None  # None: shares the account's unreserved concurrency
    declaration: DeclaredFunction | None = None  # a function the configuration file declares


STATE_MACHINE_NAME = "photo-pipeline"
API = "api"
NOTIFIER = "notifier"
MIGRATE = "migrate"
TRANSFORM = "transform"

# The photo pipeline's tasks, in the order the state machine reaches them.
FUNCTIONS: tuple[LambdaFunction, ...] = (
    LambdaFunction(
        "store-photo", "bakusoku.pipeline.handlers.store_photo.handler", "StorePhotoFunctionArn"
    ),
    LambdaFunction(
        "make-renditions",
        "bakusoku.pipeline.handlers.make_renditions.handler",
        "MakeRenditionsFunctionArn",
    ),
    LambdaFunction(
        "mark-ready", "bakusoku.pipeline.handlers.mark_ready.handler", "MarkReadyFunctionArn"
    ),
    LambdaFunction(
        "index-faces", "bakusoku.pipeline.handlers.index_faces.handler", "IndexFacesFunctionArn"
    ),
    LambdaFunction(
        "read-bibs", "bakusoku.pipeline.handlers.read_bibs.handler", "ReadBibsFunctionArn"
    ),
    LambdaFunction(
        "mark-failed", "bakusoku.pipeline.handlers.mark_failed.handler", "MarkFailedFunctionArn"
    ),
)
# The finisher certificate workflow's tasks (``certificate.asl.yaml``): composing two print sizes
# and a PDF from a decode at 2L size takes about a second on one core.
CERTIFICATE_FUNCTIONS: tuple[LambdaFunction, ...] = (
    LambdaFunction(
        "make-certificate",
        "bakusoku.pipeline.handlers.make_certificate.handler",
        "MakeCertificateFunctionArn",
        timeout_seconds=60,
        memory_mb=1024,
    ),
    LambdaFunction(
        "mark-certificate-failed",
        "bakusoku.pipeline.handlers.mark_certificate_failed.handler",
        "MarkCertificateFailedFunctionArn",
        memory_mb=256,
    ),
)
# The stack's other functions on AWS (``bakusoku up`` serves the API and sends alerts in process,
# and applies the migrations itself): the HTTP API, the alert notifier, the schema migrations,
# and the on-the-fly transforms behind the stack's CloudFront distribution (a decode of up to
# 100 MP and a 16 MP output: sized like make-renditions).
STACK_FUNCTIONS: tuple[LambdaFunction, ...] = (
    LambdaFunction(API, "bakusoku.aws.api.handler", timeout_seconds=10, memory_mb=1024),
    LambdaFunction(TRANSFORM, "bakusoku.aws.transform.handler", timeout_seconds=30),
    LambdaFunction(NOTIFIER, "bakusoku.aws.notifier.handler", timeout_seconds=10, memory_mb=256),
    LambdaFunction(MIGRATE, "bakusoku.aws.migrate.handler", timeout_seconds=300, memory_mb=512),
)
ALL_FUNCTIONS: tuple[LambdaFunction, ...] = (*FUNCTIONS, *CERTIFICATE_FUNCTIONS, *STACK_FUNCTIONS)
FUNCTION_NAMES: tuple[str, ...] = tuple(f.name for f in ALL_FUNCTIONS)


def declared(settings: Settings) -> tuple[LambdaFunction, ...]:
    """The functions the configuration file declares, as entries of the table (file order)."""
    return tuple(
        LambdaFunction(
            d.name,
            d.handler,
            timeout_seconds=d.timeout_seconds,
            memory_mb=d.memory_mb,
            reserved_concurrency=d.reserved_concurrency,
            declaration=d,
        )
        for d in declared_functions(settings, FUNCTION_NAMES)
    )


def sized_functions(
    settings: Settings,
    *,
    service: str | None = None,
    stage: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> dict[str, LambdaFunction]:
    """Every function, the declared ones last, with the configuration's sizes for ``service`` and
    ``stage``.

    Without them, the deployment's own ``service_name`` and ``stage`` apply when the file
    describes that stage (else the file's top-level ``functions`` only), as ``bakusoku up`` uses.
    """
    table = (*ALL_FUNCTIONS, *declared(settings))
    overrides = function_overrides(
        settings, [f.name for f in table], service=service, stage=stage, environ=environ
    )
    sized = {}
    for function in table:
        change = overrides[function.name]
        sized[function.name] = dataclasses.replace(
            function,
            memory_mb=change.memory_mb or function.memory_mb,
            timeout_seconds=change.timeout_seconds or function.timeout_seconds,
            reserved_concurrency=(
                function.reserved_concurrency
                if change.reserved_concurrency is None
                else change.reserved_concurrency
            ),
        )
    return sized


def runtime_functions(settings: Settings, environment: Mapping[str, str]) -> list[FunctionConfig]:
    """The built-in state machines' and the declared functions as the embedded runtime runs them,
    sized as on AWS. A declared function gets its own ``environment``, and the Slack webhook or
    the runner channels' secrets only when its ``resources`` name them (no other worker ever sees
    them)."""
    sized = sized_functions(settings)
    tasks = {name for machine in BUILT_IN_MACHINES for name in machine.function_names}
    configs = []
    for f in (f for f in sized.values() if f.name in tasks or f.declaration):
        own = dict(environment)
        if f.declaration is not None:
            own |= f.declaration.environment
            if f.declaration.resources.slack:
                own[env_name("slack_webhook_url")] = settings.slack_webhook_url
            if f.declaration.resources.runner_channels:
                for name in (*CHANNEL_SECRETS, "transform_signing_key"):
                    own[env_name(name)] = getattr(settings, name)
        configs.append(
            FunctionConfig(
                name=f.name,
                handler=f.handler,
                timeout_seconds=sized[f.name].timeout_seconds,
                memory_mb=sized[f.name].memory_mb,
                reserved_concurrency=sized[f.name].reserved_concurrency,
                environment=own,
            )
        )
    return configs


def placeholders(functions: tuple[LambdaFunction, ...]) -> tuple[tuple[str, str], ...]:
    """The ASL placeholders of ``functions`` (those a state machine calls) and their names."""
    return tuple((f.placeholder, f.name) for f in functions if f.placeholder)


# The built-in state machines, the photo pipeline first. A new one is one entry: its ASL file in
# this package and the functions of the table its placeholders name.
PHOTO_PIPELINE = StateMachine(
    STATE_MACHINE_NAME,
    resources.files("bakusoku.pipeline") / "photo_pipeline.asl.yaml",
    placeholders(FUNCTIONS),
    started_by_uploads=True,
    description="The photo pipeline",
)
# Started by the certificate door (races.certificate_door) when a bib's finish result and a
# confident photo of it both exist: the API and read-bibs start it.
CERTIFICATE = StateMachine(
    "certificate",
    resources.files("bakusoku.pipeline") / "certificate.asl.yaml",
    placeholders(CERTIFICATE_FUNCTIONS),
    description="Finisher certificates",
)
BUILT_IN_MACHINES: tuple[StateMachine, ...] = (PHOTO_PIPELINE, CERTIFICATE)


def state_machines(settings: Settings) -> tuple[StateMachine, ...]:
    """Every state machine of the deployment ``settings`` describe, the built-in ones first and
    then the configuration file's own (``pipeline.declared_machines``)."""
    functions = [f.declaration for f in declared(settings) if f.declaration is not None]
    taken = {*FUNCTION_NAMES, *(f.name for f in functions), *(m.name for m in BUILT_IN_MACHINES)}
    own = declared_machines(settings, [f.name for f in functions], taken)
    idle = unused_functions([f.name for f in functions if not f.events], own)
    if idle:
        raise ConfigError(
            f"functions.{idle[0]} has no events and no state machine's Task calls it: give it "
            f"events, or name it as ${{{placeholder_of(idle[0])}}} in a state machine's ASL file"
        )
    return (*BUILT_IN_MACHINES, *own)


def definition_text() -> str:
    """The ASL definition of the photo pipeline, exactly as shipped in the package."""
    return PHOTO_PIPELINE.definition_text()


def substitutions(function_arn: dict[str, str]) -> dict[str, str]:
    """The photo pipeline's DefinitionSubstitutions: each placeholder → its function's ARN."""
    return PHOTO_PIPELINE.substitutions(function_arn)


def task_states() -> tuple[TaskState, ...]:
    """The photo pipeline's Task states, those in Parallel branches and Map iterations too."""
    return PHOTO_PIPELINE.task_states()
