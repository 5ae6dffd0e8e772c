"""Typed errors of the workflow engine, and the ASL error names it raises inside executions."""

from __future__ import annotations

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
# Terminal errors that States.ALL and States.TaskFailed do not match (only their own name does).
NOT_WILDCARD_MATCHED = frozenset({STATES_DATA_LIMIT_EXCEEDED})

# Step Functions' payload quota: 256 KiB of UTF-8 JSON for inputs, results and outputs.
MAX_PAYLOAD_BYTES = 262144


class WorkflowError(BakusokuError):
    """Base of every error the workflow engine raises."""

    code = "workflow.error"


class DefinitionError(WorkflowError):
    """The state machine definition is not valid ASL; the message names the state and the field."""

    code = "workflow.invalid_definition"


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


class StatesError(WorkflowError):
    """A failure inside an execution, named as ASL names errors, with its cause.

    Retry and Catch match on ``error``; an unhandled one fails the execution with ``error`` and
    ``cause``.
    """

    code = "workflow.states_error"

    def __init__(self, error: str, cause: str) -> None:
        super().__init__(f"{error}: {cause}" if cause else error)
        self.error = error
        self.cause = cause


class TaskFailedError(StatesError):
    """Raised by a task invoker: the error name and cause string, as Lambda reports them."""

    code = "workflow.task_failed"
