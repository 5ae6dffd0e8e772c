"""The Amazon States Language engine: parse, validate, execute and persist executions.

A state machine that runs here runs unchanged on AWS Step Functions (Standard workflows). The
engine knows nothing about photos; its public API is small:

``run_definition(definition, input, *, functions=None, context=None, skip_waits=False) -> RunResult``
    Validate a definition (a dict as parsed from ASL JSON, or the JSON/YAML text) and run it to
    its end in this process, without a database. ``functions`` maps Lambda function names to
    Python functions (``FunctionInvoker``): a Task reaches one through
    ``arn:aws:lambda:REGION:ACCOUNT:function:NAME[:ALIAS]``, through ``lambda:invoke``'s
    ``FunctionName`` (name, partial ARN or ARN), or through the local shorthand
    ``"Resource": "local:NAME"``. The result has ``status`` (``SUCCEEDED``, ``FAILED``,
    ``TIMED_OUT``, ``ABORTED``), ``output`` (parsed JSON), ``error``, ``cause`` and ``history``
    (``HistoryEvent``s as GetExecutionHistory lists them). ``skip_waits=True`` fast-forwards the
    clock over Wait states and retry intervals.

``validate_definition(definition)`` / ``diagnose(definition)``
    ValidateStateMachineDefinition: ``DefinitionError.diagnostics`` (or the list ``diagnose``
    returns) holds every problem, each with a ``code``, a ``message`` and the ``location`` of the
    offending field as a JSON pointer (``/States/Check/Next``).

``WorkflowEngine(db, invoker, ...)``
    Durable Standard-workflow executions on the database: ``register_state_machine``,
    ``start_execution`` (idempotent by name), ``describe_execution``, ``get_execution_history``,
    ``list_executions``, ``stop_execution``, ``redrive_execution``, ``send_task_*``; executions
    survive a crash of the process and resume on the next ``start()``. Tasks run through a
    ``TaskInvoker``, which gets each call as a ``TaskRequest`` (``FunctionInvoker`` for Python
    functions in this process).

Errors are typed: ``WorkflowError`` and its subclasses; inside an execution, failures are
``StatesError(error, cause)`` named as ASL names them (``States.TaskFailed``, ...).
"""

from bakusoku.workflow.definition import diagnose, load_definition, validate_definition
from bakusoku.workflow.engine import ExecutionDescription, ExecutionRef, WorkflowEngine
from bakusoku.workflow.errors import (
    DefinitionError,
    Diagnostic,
    StatesError,
    TaskFailedError,
    WorkflowError,
)
from bakusoku.workflow.history import HistoryEvent
from bakusoku.workflow.invoker import FunctionInvoker, TaskCall, TaskInvoker, TaskRequest
from bakusoku.workflow.runner import RunResult, run_definition

__all__ = [
    "DefinitionError",
    "Diagnostic",
    "ExecutionDescription",
    "ExecutionRef",
    "FunctionInvoker",
    "HistoryEvent",
    "RunResult",
    "StatesError",
    "TaskCall",
    "TaskFailedError",
    "TaskInvoker",
    "TaskRequest",
    "WorkflowEngine",
    "WorkflowError",
    "diagnose",
    "load_definition",
    "run_definition",
    "validate_definition",
]
