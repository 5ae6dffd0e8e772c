"""``run_definition``: validate and run one state machine definition to its end, in process.

For tests and tools: no database, Lambda functions are Python callables (``FunctionInvoker``),
and with ``skip_waits`` Wait states and retry intervals pass at once on a fast-forwarded clock.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bakusoku import arns
from bakusoku.utc import to_datetime
from bakusoku.workflow.callbacks import TaskTokens
from bakusoku.workflow.cancel import ABORT, TIMEOUT, CancelScope, Interrupted
from bakusoku.workflow.clock import REAL_CLOCK, Clock, FastForwardClock
from bakusoku.workflow.definition import load_definition
from bakusoku.workflow.errors import (
    MAX_PAYLOAD_BYTES,
    STATES_DATA_LIMIT_EXCEEDED,
    STATES_RUNTIME,
    STATES_TIMEOUT,
    StatesError,
)
from bakusoku.workflow.frames import Checkpoint, ExecutionInfo, dumps
from bakusoku.workflow.history import HistoryEvent
from bakusoku.workflow.interpreter import Interpreter
from bakusoku.workflow.invoker import ACCOUNT, REGION, FunctionInvoker, TaskCall

SUCCEEDED = "SUCCEEDED"
FAILED = "FAILED"
TIMED_OUT = "TIMED_OUT"
ABORTED = "ABORTED"

STANDARD = "STANDARD"
EXPRESS = "EXPRESS"

LambdaHandler = Callable[..., Any]


_LOADED: OrderedDict[str, dict[str, Any]] = OrderedDict()
_LOADED_LIMIT = 64
_LOADED_LOCK = threading.Lock()


def _load(
    definition: str | Mapping[str, Any], substitutions: Mapping[str, str] | None
) -> dict[str, Any]:
    """``load_definition``, remembering the last few valid definitions.

    A tool or test that runs one definition many times validates it once; the interpreter only
    reads the definition, so the validated dict is shared between runs.
    """
    try:
        key = json.dumps([definition, substitutions or {}], sort_keys=True)
    except (TypeError, ValueError):
        return load_definition(definition, substitutions)  # reports what is not JSON
    with _LOADED_LOCK:
        machine = _LOADED.get(key)
        if machine is not None:
            _LOADED.move_to_end(key)
            return machine
    machine = load_definition(definition, substitutions)
    with _LOADED_LOCK:
        _LOADED[key] = machine
        while len(_LOADED) > _LOADED_LIMIT:
            _LOADED.popitem(last=False)
    return machine


class MemoryHistory:
    """The EventSink of an in-process run: events in a list, timestamps from the run's clock."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.events: list[HistoryEvent] = []
        self._lock = threading.Lock()

    def emit(
        self,
        event_type: str,
        details: dict[str, Any] | None,
        *,
        previous: int,
        state_name: str | None = None,
    ) -> int:
        with self._lock:
            event_id = len(self.events) + 1
            self.events.append(
                HistoryEvent(
                    id=event_id,
                    previous_event_id=previous,
                    type=event_type,
                    timestamp=to_datetime(self.clock.now()),
                    details=details,
                    state_name=state_name,
                )
            )
            return event_id

    def checkpoint(self, point: Checkpoint) -> None:
        return None  # a run in process is not resumed

    def child_done(self, index: int, output: Any) -> None:
        return None

    def flush(self) -> object:
        return True


@dataclass(frozen=True)
class RunResult:
    """How a ``run_definition`` execution ended.

    ``status`` is ``SUCCEEDED``, ``FAILED``, ``TIMED_OUT`` or ``ABORTED``; ``output`` is the
    parsed JSON output (None unless it succeeded); ``history`` is what GetExecutionHistory would
    list (``event.to_aws()`` gives the API shape).
    """

    status: str
    output: Any
    error: str | None
    cause: str | None
    history: list[HistoryEvent] = field(repr=False)
    name: str = ""
    start_date: datetime | None = None
    stop_date: datetime | None = None

    @property
    def succeeded(self) -> bool:
        return self.status == SUCCEEDED

    def events(self, *types: str) -> list[HistoryEvent]:
        """The history events of the given types (all of them when none is given)."""
        return [event for event in self.history if not types or event.type in types]


def run_definition(
    definition: str | Mapping[str, Any],
    input: Any = None,
    *,
    functions: Mapping[str, LambdaHandler] | None = None,
    skip_waits: bool = False,
    name: str | None = None,
    state_machine_name: str = "local",
    substitutions: Mapping[str, str] | None = None,
    context: Callable[[TaskCall], Any] | None = None,
    region: str = REGION,
    account: str = ACCOUNT,
    machine_type: str = STANDARD,
) -> RunResult:
    """Validate ``definition`` and run it on ``input`` to its end, in this process.

    ``functions`` maps Lambda function names (or ARNs) to Python functions; a Task finds its
    function from ``arn:aws:lambda:REGION:ACCOUNT:function:NAME[:ALIAS]``, from ``lambda:invoke``'s
    ``FunctionName`` (a name, a partial or a full ARN) or from the local shorthand
    ``"Resource": "local:NAME"``. A function of two arguments gets ``context(call)`` as its
    second (the ``TaskCall`` itself without ``context``; ``LambdaContext.for_call`` of
    ``bakusoku.runtime`` gives Lambda handlers their context). With ``skip_waits`` the clock is fast-forwarded over Wait states
    and retry intervals, so they take no time and the history's timestamps stay consistent.
    An invalid definition raises DefinitionError listing every problem; everything that happens
    inside the execution ends up in the result, as it would in Step Functions.
    ``machine_type`` ``EXPRESS`` runs it as StartSyncExecution runs an Express workflow: its
    execution ARN is ``express:MACHINE:NAME:RUN_ID`` and its context object has no RedriveCount.
    """
    if machine_type not in (STANDARD, EXPRESS):
        raise ValueError(f"machine_type must be {STANDARD} or {EXPRESS}, not {machine_type!r}")
    machine = _load(definition, substitutions)
    execution_name = name or str(uuid.uuid4())
    state_input = {} if input is None else json.loads(json.dumps(input))
    scope = CancelScope()
    started = time.time()
    limit = machine.get("TimeoutSeconds")
    clock: Clock
    timer: threading.Timer | None = None
    if skip_waits:
        clock = FastForwardClock(
            started + limit if limit is not None else None, lambda: scope.cancel(TIMEOUT)
        )
    else:
        clock = REAL_CLOCK
    if limit is not None:
        timer = threading.Timer(float(limit), scope.cancel, args=(TIMEOUT,))
        timer.daemon = True
        timer.start()
    history = MemoryHistory(clock)
    express = machine_type == EXPRESS
    info = ExecutionInfo(
        arn=arns.express_execution_arn(
            region, account, state_machine_name, execution_name, str(uuid.uuid4())
        )
        if express
        else arns.execution_arn(region, account, state_machine_name, execution_name),
        name=execution_name,
        input=state_input,
        start_time=started,
        state_machine_arn=arns.state_machine_arn(region, account, state_machine_name),
        state_machine_name=state_machine_name,
        region=region,
        account=account,
        role_arn=arns.iam_role_arn(account, "bakusoku-local"),
        express=express,
    )
    invoker = FunctionInvoker(functions, context=context, region=region, account=account)
    # Nothing stops an in-process run from outside: only the execution timeout needs tasks to
    # run in helper threads, so that it ends the run while a task is still busy.
    interpreter = Interpreter(
        machine,
        info,
        invoker,
        history,
        scope,
        tokens=TaskTokens(),
        clock=clock,
        inline_tasks=limit is None,
    )
    input_text = dumps(state_input)
    history.emit(
        "ExecutionStarted",
        {"input": input_text, "inputDetails": {"truncated": False}, "roleArn": info.role_arn},
        previous=0,
    )
    status, output, error, cause = SUCCEEDED, None, None, None
    try:
        if len(input_text.encode()) > MAX_PAYLOAD_BYTES:
            raise StatesError(
                STATES_DATA_LIMIT_EXCEEDED,
                f"The execution input is {len(input_text.encode())} bytes, over the "
                f"{MAX_PAYLOAD_BYTES}-byte quota",
            )
        output = interpreter.run(state_input, previous_event_id=1)
    except StatesError as failure:
        status, error, cause = FAILED, failure.error, failure.cause or None
    except Interrupted as interrupted:
        status = TIMED_OUT if interrupted.reason == TIMEOUT else ABORTED
    except Exception as exc:  # a fault of the engine itself: reported, as the engine does
        status, error = FAILED, STATES_RUNTIME
        cause = f"Internal engine error: {type(exc).__name__}: {exc}"
    finally:
        if timer is not None:
            timer.cancel()
        scope.cancel(ABORT)  # stop anything still waiting (a timed-out task's thread)
    last = interpreter.track.last or 1
    if status == SUCCEEDED:
        history.emit(
            "ExecutionSucceeded",
            {"output": dumps(output), "outputDetails": {"truncated": False}},
            previous=last,
        )
    else:
        details = {k: v for k, v in (("error", error), ("cause", cause)) if v}
        if status == TIMED_OUT:
            # Only the event names the error: DescribeExecution of a timed-out execution has
            # no error and no cause (executions recorded on AWS).
            details = {"error": STATES_TIMEOUT}
        event_type = {
            FAILED: "ExecutionFailed",
            TIMED_OUT: "ExecutionTimedOut",
            ABORTED: "ExecutionAborted",
        }[status]
        history.emit(event_type, details, previous=last)
    return RunResult(
        status=status,
        output=output if status == SUCCEEDED else None,
        # A Fail state without Error or Cause: DescribeExecution has neither (recorded on AWS).
        error=error or None,
        cause=cause or None,
        history=list(history.events),
        name=execution_name,
        start_date=to_datetime(started),
        stop_date=to_datetime(clock.now()),
    )


__all__ = [
    "ABORTED",
    "EXPRESS",
    "FAILED",
    "STANDARD",
    "SUCCEEDED",
    "TIMED_OUT",
    "RunResult",
    "run_definition",
]
