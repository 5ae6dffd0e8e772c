"""Typed errors of the workflow engine, and the ASL error names it raises inside executions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bakusoku.errors import BakusokuError

# Predefined ASL error names (States Language spec, "Errors").
STATES_ALL = "States.ALL"
STATES_TASK_FAILED = "States.TaskFailed"
STATES_TIMEOUT = "States.Timeout"
STATES_HEARTBEAT_TIMEOUT = "States.HeartbeatTimeout"
STATES_RUNTIME = "States.Runtime"
STATES_BRANCH_FAILED = "States.BranchFailed"
STATES_NO_CHOICE_MATCHED = "States.NoChoiceMatched"
STATES_RESULT_PATH_MATCH_FAILURE = "States.ResultPathMatchFailure"
STATES_PARAMETER_PATH_FAILURE = "States.ParameterPathFailure"
STATES_INTRINSIC_FAILURE = "States.IntrinsicFailure"
STATES_EXCEED_TOLERATED_FAILURE = "States.ExceedToleratedFailureThreshold"
STATES_QUERY_EVALUATION_ERROR = "States.QueryEvaluationError"
STATES_DATA_LIMIT_EXCEEDED = "States.DataLimitExceeded"

# Errors that Retry and Catch never see: they fail the execution outright.
UNCATCHABLE_ERRORS = frozenset({STATES_RUNTIME})

# Step Functions' payload quota: 256 KiB of UTF-8 JSON for inputs, results and outputs.
MAX_PAYLOAD_BYTES = 262144


class WorkflowError(BakusokuError):
    """Base of every error the workflow engine raises."""

    code = "workflow.error"


@dataclass(frozen=True)
class Diagnostic:
    """One problem of a definition, as ValidateStateMachineDefinition reports it.

    ``location`` is a JSON pointer to the offending field (``/States/Check/Next``); ``code`` is
    one of the API's diagnostic codes (``SCHEMA_VALIDATION_FAILED``, ``MISSING_TRANSITION_TARGET``,
    ``UNREACHABLE_STATE``, ``INVALID_RESOURCE``, ...).
    """

    code: str
    message: str
    location: str = ""
    severity: str = "ERROR"

    def to_aws(self) -> dict[str, str]:
        """The diagnostic as the ValidateStateMachineDefinition response shows it."""
        shown = {"severity": self.severity, "code": self.code, "message": self.message}
        if self.location:
            shown["location"] = self.location
        return shown


class DefinitionError(WorkflowError):
    """The state machine definition is not valid ASL.

    ``diagnostics`` lists every problem found, each with the path of the offending field; the
    message joins them, one a line.
    """

    code = "workflow.invalid_definition"

    def __init__(self, message: str, *, diagnostics: Sequence[Diagnostic] = ()) -> None:
        super().__init__(message)
        self.diagnostics: list[Diagnostic] = list(diagnostics) or [
            Diagnostic("SCHEMA_VALIDATION_FAILED", message)
        ]

    @classmethod
    def from_diagnostics(cls, diagnostics: Sequence[Diagnostic]) -> DefinitionError:
        """One error carrying every diagnostic; its message lists them all."""
        count = len(diagnostics)
        lines = [f"{d.message} (at {d.location})" if d.location else d.message for d in diagnostics]
        head = (
            "the definition has 1 problem" if count == 1 else f"the definition has {count} problems"
        )
        return cls(head + ":\n" + "\n".join(f"- {line}" for line in lines), diagnostics=diagnostics)


class InvalidNameError(WorkflowError):
    """An execution or state machine name breaks the Step Functions naming rules."""

    code = "workflow.invalid_name"


class ExecutionAlreadyExistsError(WorkflowError):
    """An execution with this name exists with a different input (or is closed)."""

    code = "workflow.execution_exists"


class ExecutionDoesNotExistError(WorkflowError):
    """No execution has this name."""

    code = "workflow.execution_not_found"


class StateMachineDoesNotExistError(WorkflowError):
    """No state machine is registered under this name or ARN."""

    code = "workflow.state_machine_not_found"


class ExecutionNotRedrivableError(WorkflowError):
    """The execution cannot be redriven (it is running or succeeded, or its failure is final)."""

    code = "workflow.not_redrivable"


class EngineStoppedError(WorkflowError):
    """The engine is stopping or stopped and cannot take this request."""

    code = "workflow.engine_stopped"


class InvalidToken(WorkflowError):
    """A ListExecutions ``next_token`` that is malformed, expired or from other filters."""

    code = "workflow.invalid_token"


class ValidationError(WorkflowError):
    """A request parameter out of its allowed range (Step Functions' ValidationException)."""

    code = "workflow.validation"


class StatesError(WorkflowError):
    """A failure inside an execution, named as ASL names errors, with its cause.

    Retry and Catch match on ``error``; an unhandled one fails the execution with ``error`` and
    ``cause``.
    """

    code = "workflow.states_error"

    def __init__(self, error: str, cause: str, also: tuple[str, ...] = ()) -> None:
        super().__init__(f"{error}: {cause}" if cause else error)
        self.error = error
        self.cause = cause
        # Further names a Retry or Catch matches it by (a missed heartbeat: its own name).
        self.also = also


class TaskFailedError(StatesError):
    """Raised by a task invoker: the error name and cause string, as Lambda reports them."""

    code = "workflow.task_failed"
