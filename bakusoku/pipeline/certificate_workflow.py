"""The certificate state machine as every backend starts it, and the door built for a process.

:func:`certificate_door` is what the API and the handlers that record bibs call: the door of
``races.certificate_door`` with the starter this process has:

- ``bakusoku up``'s own process (the API): its workflow engine's ``start_execution``
  (:class:`EngineStarter`);
- a worker of ``bakusoku up`` (read-bibs): the same ``start_execution`` on an engine that is not
  running, which writes the execution into the database the running engine shares, then a
  datagram to that engine (``workflow_wake_port``) so it takes the execution at once rather than
  at its next look (:class:`SharedDatabaseStarter`);
- AWS: Step Functions' ``StartExecution`` on the state machine's alias ARN, which the template
  puts in the function's environment (``certificate_state_machine_arn``) with a policy allowing
  that call only (:class:`StepFunctionsStarter`).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from typing import Any

import botocore.session
import sqlalchemy as sa
from botocore.exceptions import ClientError

from bakusoku import arns
from bakusoku.config import ConfigError, Settings
from bakusoku.pipeline.adapters import adapters
from bakusoku.pipeline.functions import CERTIFICATE
from bakusoku.races.certificate_door import CertificateDoor, ExecutionStarter
from bakusoku.races.certificate_records import Certificates
from bakusoku.races.repository import PhotoBibs, RaceRepository
from bakusoku.runtime.wakeup import WakeupSender
from bakusoku.workflow.engine import WorkflowEngine
from bakusoku.workflow.errors import (
    ExecutionAlreadyExistsError,
    ExecutionDoesNotExistError,
    ExecutionNotRedrivableError,
)
from bakusoku.workflow.invoker import FunctionInvoker

CERTIFICATE_STATE_MACHINE = CERTIFICATE.name
LOCAL_ACCOUNT = "000000000000"  # the embedded function runtime's account


class EngineStarter:
    """Starts certificate executions on a workflow engine (the embedded deployment's)."""

    def __init__(
        self,
        engine: WorkflowEngine,
        state_machine_arn: str,
        after: Callable[[], None] | None = None,
    ) -> None:
        self._engine = engine
        self._arn = state_machine_arn
        self._after = after

    def start(self, name: str, input: Mapping[str, Any]) -> bool:
        try:
            self._engine.start_execution(self._arn, dict(input), name=name)
        except ExecutionAlreadyExistsError:
            return False  # made already: StartExecution refuses an ended execution's name
        if self._after is not None:
            self._after()
        return True

    def redrive(self, name: str) -> bool:
        try:
            self._engine.redrive_execution(name)
        except (ExecutionNotRedrivableError, ExecutionDoesNotExistError):
            return False  # running, succeeded, or never started
        if self._after is not None:
            self._after()
        return True


class StepFunctionsStarter:
    """Starts certificate executions with Step Functions' ``StartExecution``."""

    def __init__(self, state_machine_arn: str, region: str, client: Any = None) -> None:
        self._arn = state_machine_arn
        self._client = client or botocore.session.get_session().create_client(
            "stepfunctions", region_name=region
        )

    def start(self, name: str, input: Mapping[str, Any]) -> bool:
        try:
            self._client.start_execution(
                stateMachineArn=self._arn, name=name, input=json.dumps(dict(input))
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ExecutionAlreadyExists":
                return False
            raise
        return True

    def redrive(self, name: str) -> bool:
        # The execution belongs to the state machine, not to the alias it was started through.
        execution = arns.execution_arn_of(self._arn, name)
        try:
            self._client.redrive_execution(executionArn=execution)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            if code in ("ExecutionNotRedrivable", "ExecutionDoesNotExist"):
                return False
            raise
        return True


def local_certificate_machine(engine: WorkflowEngine, region: str) -> str:
    """Register the certificate state machine of the table on ``engine`` with the embedded
    runtime's function ARNs, as ``bakusoku up`` registers it; returns its ARN."""
    substitutions = CERTIFICATE.substitutions(
        {f: arns.function_arn(region, LOCAL_ACCOUNT, f) for f in CERTIFICATE.function_names}
    )
    return engine.register_state_machine(
        CERTIFICATE.name, CERTIFICATE.definition_text(), substitutions
    )


def process_starter(settings: Settings, db: sa.Engine) -> ExecutionStarter:
    """The starter of a process without a running engine: Step Functions on AWS, else the
    database the running engine shares (this engine never runs: it only writes the execution
    for that one, and the datagram wakes that one)."""
    if settings.certificate_state_machine_arn:
        return StepFunctionsStarter(settings.certificate_state_machine_arn, settings.region)
    if settings.object_store == "s3":
        # On AWS no engine shares the database: a start written there would never run.
        raise ConfigError(
            "setting 'certificate_state_machine_arn' is empty on a deployment that stores in S3:"
            " package and deploy the stack again (the template sets it for the API and read-bibs)"
        )
    engine = WorkflowEngine(db, FunctionInvoker({}), region=settings.region)
    arn = local_certificate_machine(engine, settings.region)
    wake = WakeupSender(settings.workflow_wake_port) if settings.workflow_wake_port else None
    return EngineStarter(engine, arn, wake)


def certificate_door(
    settings: Settings, db: sa.Engine, starter: ExecutionStarter
) -> CertificateDoor:
    """The door on ``db`` with ``starter`` and the race day's bib confidence."""
    return CertificateDoor(
        RaceRepository(db),
        PhotoBibs(db),
        Certificates(db),
        starter,
        settings.bib_min_confidence,
        stage=settings.stage,
    )


@functools.cache
def handler_door() -> CertificateDoor:
    """The door of a handler's execution environment (built once while it is warm)."""
    env = adapters()
    return certificate_door(env.settings, env.db, process_starter(env.settings, env.db))
