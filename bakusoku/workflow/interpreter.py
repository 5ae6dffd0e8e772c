"""Runs an ASL state machine over one input: states, input/output processing, Retry and Catch."""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from bakusoku.workflow import jsontext
from bakusoku.workflow import retry as retries
from bakusoku.workflow.callbacks import PendingTask, TaskTokens
from bakusoku.workflow.cancel import ABORT, CancelScope, Interrupted
from bakusoku.workflow.choice import evaluate_rule, parse_timestamp
from bakusoku.workflow.clock import REAL_CLOCK, Clock, iso_ms
from bakusoku.workflow.definition import JSONATA, JSONPATH
from bakusoku.workflow.errors import (
    MAX_PAYLOAD_BYTES,
    STATES_DATA_LIMIT_EXCEEDED,
    STATES_EXCEED_TOLERATED_FAILURE,
    STATES_HEARTBEAT_TIMEOUT,
    STATES_NO_CHOICE_MATCHED,
    STATES_PARAMETER_PATH_FAILURE,
    STATES_QUERY_EVALUATION_ERROR,
    STATES_RESULT_PATH_MATCH_FAILURE,
    STATES_RUNTIME,
    STATES_TASK_FAILED,
    STATES_TIMEOUT,
    StatesError,
    TaskFailedError,
)
from bakusoku.workflow.hub import blocking
from bakusoku.workflow.intrinsics import evaluate_intrinsic, is_intrinsic
from bakusoku.workflow.invoker import TaskInvoker
from bakusoku.workflow.jsonata_eval import evaluate_template, is_expression
from bakusoku.workflow.paths import (
    PathNotFoundError,
    ReferencePathError,
    evaluate_parsed,
    parse_path,
    set_reference,
)
from bakusoku.workflow.tasks import LAMBDA_FUNCTION, classify, function_arn, lambda_invoke_result
from bakusoku.workflow.taskthreads import TASK_THREADS

# Inline Map runs at most this many iterations at once, as in Step Functions.
INLINE_MAP_MAX_CONCURRENCY = 40


@dataclass(frozen=True)
class ExecutionInfo:
    """What the context object (``$$``) says about the execution."""

    arn: str
    name: str
    input: Any
    start_time: float
    state_machine_arn: str
    state_machine_name: str
    region: str
    account: str
    role_arn: str = ""
    redrive_count: int = 0


class EventSink(Protocol):
    """Where the interpreter reports history events and top-level progress."""

    def emit(
        self,
        event_type: str,
        details: dict[str, Any] | None,
        *,
        previous: int,
        state_name: str | None = None,
    ) -> int: ...

    def checkpoint(
        self,
        state_name: str,
        state_input: Any,
        variables: dict[str, Any],
        entered: float | None = None,
        done_children: dict[int, Any] | None = None,
    ) -> None: ...

    def child_done(self, index: int, output: Any) -> None: ...

    def flush(self) -> object: ...


@dataclass
class Track:
    """The id of the last event on one line of history (the execution, a branch, an iteration)."""

    last: int


class Variables:
    """Workflow variables of one scope; nested scopes read outer ones but assign only locally."""

    def __init__(
        self, local: dict[str, Any] | None = None, parent: Variables | None = None
    ) -> None:
        self.local = local if local is not None else {}
        self.parent = parent

    def lookup(self, name: str) -> Any:
        scope: Variables | None = self
        while scope is not None:
            if name in scope.local:
                return scope.local[name]
            scope = scope.parent
        raise PathNotFoundError(f"variable ${name} is not defined in this scope")

    def child(self) -> Variables:
        return Variables({}, self)

    def all(self) -> dict[str, Any]:
        merged = self.parent.all() if self.parent is not None else {}
        merged.update(self.local)
        return merged


@dataclass
class Frame:
    """Where a machine (the top level, a branch, an iteration) runs."""

    machine: Mapping[str, Any]
    language: str
    variables: Variables
    cancel: CancelScope
    track: Track
    top: bool


@dataclass
class StateRun:
    """One state's visit: what the context object's State section and Map.Item say."""

    name: str
    entered: float
    retry_count: int = 0
    first_entered: float | None = None  # when a resumed state was first entered, before a restart
    # Outputs of a resumed top-level Parallel's branches that had already succeeded, by index.
    done_children: dict[int, Any] | None = None
    map_item: tuple[int, Any] | None = None
    task_token: str | None = None


# Retry jitter's source when none is given: seeding a generator per execution costs more than it.
_JITTER = random.Random()


def dumps(value: Any) -> str:
    """JSON text of a value as history events carry it."""
    return jsontext.dumps(value)


def check_size(text: str, what: str) -> None:
    """Raise States.DataLimitExceeded when JSON ``text`` is over the 256 KiB payload quota."""
    if len(text) * 4 > MAX_PAYLOAD_BYTES and len(text.encode()) > MAX_PAYLOAD_BYTES:
        raise StatesError(
            STATES_DATA_LIMIT_EXCEEDED,
            f"{what} is {len(text.encode())} bytes, over the {MAX_PAYLOAD_BYTES}-byte quota "
            "Step Functions allows; pass a reference (an object key) instead of the data",
        )


def _plain(value: Any, what: str) -> tuple[Any, str]:
    """A deep copy that is plain JSON, and its JSON text; anything else fails the task."""
    try:
        return jsontext.copy(value)
    except (TypeError, ValueError) as exc:
        raise StatesError(STATES_TASK_FAILED, f"{what} is not JSON: {exc}") from None


def _task_error(error: BaseException) -> TaskFailedError:
    """What an exception out of an invoker means to the task: its failure, as Lambda names it."""
    if isinstance(error, TaskFailedError):
        return error
    if isinstance(error, StatesError):
        return TaskFailedError(error.error, error.cause)
    return TaskFailedError(type(error).__name__, str(error))


class Interpreter:
    """Interprets one execution's definition; thread-safe for its own Parallel and Map threads.

    ``time_scale`` multiplies every duration the engine waits for (Wait states, retry intervals,
    task timeouts): 1.0 in production, small in tests.
    ``inline_tasks`` calls the invoker in the execution's own thread when nothing could need to
    interrupt the call: the task has no TimeoutSeconds and runs at the top level (a sibling's
    failure aborts a Parallel branch or Map iteration). Only for a caller whose execution nothing
    stops from outside (``run_definition`` of a machine without TimeoutSeconds), or that ends an
    execution interrupted during such a call itself (the engine, see inline.py); otherwise each
    call runs in a helper thread so that a stop or an abort never waits on the task.
    """

    def __init__(
        self,
        definition: Mapping[str, Any],
        execution: ExecutionInfo,
        invoker: TaskInvoker,
        sink: EventSink,
        cancel: CancelScope,
        *,
        time_scale: float = 1.0,
        rng: random.Random | None = None,
        tokens: TaskTokens | None = None,
        clock: Clock | None = None,
        inline_tasks: bool = False,
    ) -> None:
        self.definition = definition
        self.inline_tasks = inline_tasks
        self.clock = clock or REAL_CLOCK
        self.execution = execution
        self.invoker = invoker
        self.sink = sink
        self.cancel = cancel
        self.time_scale = time_scale
        self.rng = rng or _JITTER
        self.tokens = tokens or TaskTokens()
        self.language = definition.get("QueryLanguage", JSONPATH)
        self.track = Track(0)
        self._resumed_entered: float | None = None
        self._resumed_children: dict[int, Any] | None = None

    # ---- machines ------------------------------------------------------------------------------

    def run(
        self,
        state_input: Any,
        *,
        previous_event_id: int,
        start_at: str | None = None,
        variables: dict[str, Any] | None = None,
        entered_at: float | None = None,
        done_children: Mapping[str, Any] | None = None,
    ) -> Any:
        """Run from ``start_at`` (default StartAt) to the end; return the output.

        ``entered_at`` is when a resumed ``start_at`` state was first entered (a Wait state
        waits only for what remains); ``done_children`` are the outputs of the branches of a
        resumed Parallel ``start_at`` that had succeeded, by index (they do not run again).
        Raises StatesError when the execution fails and Interrupted when it is stopped.
        """
        self._resumed_entered = entered_at
        self._resumed_children = (
            {int(index): output for index, output in done_children.items()}
            if done_children
            else None
        )
        self.track = Track(previous_event_id)
        frame = Frame(
            machine=self.definition,
            language=self.language,
            variables=Variables(dict(variables or {})),
            cancel=self.cancel,
            track=self.track,
            top=True,
        )
        return self._run_machine(frame, state_input, start_at)

    def _run_machine(self, frame: Frame, data: Any, start_at: str | None = None) -> Any:
        name: str | None = start_at or frame.machine["StartAt"]
        states = frame.machine["States"]
        text: str | None = None  # the JSON of ``data`` when the last state's exit wrote it
        while name is not None:
            frame.cancel.check()
            state = states[name]
            first_entered = None
            done_children = None
            if frame.top:
                first_entered, self._resumed_entered = self._resumed_entered, None
                done_children, self._resumed_children = self._resumed_children, None
                self.sink.checkpoint(
                    name, data, frame.variables.local, first_entered, done_children
                )
            data, name, text = self._run_state(
                frame, name, state, data, first_entered, done_children, text
            )
        return data

    def _emit(
        self,
        frame: Frame,
        event_type: str,
        details: dict[str, Any] | None,
        state: str | None = None,
    ) -> int:
        frame.cancel.check()
        event_id = self.sink.emit(event_type, details, previous=frame.track.last, state_name=state)
        frame.track.last = event_id
        return event_id

    def _run_state(
        self,
        frame: Frame,
        name: str,
        state: Mapping[str, Any],
        raw: Any,
        first_entered: float | None = None,
        done_children: dict[int, Any] | None = None,
        raw_text: str | None = None,
    ) -> tuple[Any, str | None, str]:
        """Run one state; returns its output, the next state's name and the output's JSON."""
        kind = state["Type"]
        self._emit(
            frame,
            f"{kind}StateEntered",
            {
                "name": name,
                "input": raw_text if raw_text is not None else dumps(raw),
                "inputDetails": {"truncated": False},
            },
            name,
        )
        # Taken after the entered event is stamped, so that a Wait measured from here never ends
        # before its event's timestamp plus the wait.
        run = StateRun(
            name=name,
            entered=self.clock.now(),
            first_entered=first_entered,
            done_children=done_children,
        )
        handler = self._handlers[kind]
        output, next_name = handler(self, frame, state, raw, run)
        text = dumps(output)
        check_size(text, f"The output of state '{name}'")
        self._emit(
            frame,
            f"{kind}StateExited",
            {"name": name, "output": text, "outputDetails": {"truncated": False}},
            name,
        )
        return output, next_name, text

    # ---- reading paths and templates -----------------------------------------------------------

    def context_object(self, run: StateRun) -> dict[str, Any]:
        """The context object ``$$`` as seen from state visit ``run``."""
        execution = self.execution
        context: dict[str, Any] = {
            "Execution": {
                "Id": execution.arn,
                "Input": execution.input,
                "Name": execution.name,
                "RoleArn": execution.role_arn,
                "StartTime": iso_ms(execution.start_time),
                "RedriveCount": execution.redrive_count,
            },
            "State": {
                "EnteredTime": iso_ms(run.entered),
                "Name": run.name,
                "RetryCount": run.retry_count,
            },
            "StateMachine": {
                "Id": execution.state_machine_arn,
                "Name": execution.state_machine_name,
            },
        }
        if run.task_token is not None:
            context["Task"] = {"Token": run.task_token}
        if run.map_item is not None:
            context["Map"] = {"Item": {"Index": run.map_item[0], "Value": run.map_item[1]}}
        return context

    def read(self, path: str, data: Any, frame: Frame, run: StateRun) -> Any:
        """The value of ``path`` against ``data`` (``$``), the context (``$$``) or a variable."""
        parsed = parse_path(path)
        if parsed.root == "$":
            base = data
        elif parsed.root == "$$":
            base = self.context_object(run)
        else:
            base = frame.variables.lookup(parsed.root[1:])
        return evaluate_parsed(parsed, base)

    def _expression(self, text: str, data: Any, frame: Frame, run: StateRun) -> Any:
        if is_intrinsic(text):
            return evaluate_intrinsic(text, lambda p: self.read(p, data, frame, run))
        return self.read(text, data, frame, run)

    def template(
        self, template: Any, data: Any, frame: Frame, run: StateRun, field_name: str
    ) -> Any:
        """Apply a payload template: each ``name.$`` key gets what its path or function gives."""
        if isinstance(template, dict):
            out: dict[str, Any] = {}
            for key, value in template.items():
                if key.endswith(".$") and isinstance(value, str):
                    try:
                        out[key[:-2]] = self._expression(value, data, frame, run)
                    except PathNotFoundError:
                        raise StatesError(
                            STATES_PARAMETER_PATH_FAILURE,
                            f"The JSONPath '{value}' specified for the field '{key}' in "
                            f"{field_name} could not be found in the input '{dumps(data)}'",
                        ) from None
                else:
                    out[key] = self.template(value, data, frame, run, field_name)
            return out
        if isinstance(template, list):
            return [self.template(item, data, frame, run, field_name) for item in template]
        return template

    def _input_path(self, state: Mapping[str, Any], raw: Any, frame: Frame, run: StateRun) -> Any:
        path = state.get("InputPath", "$")
        if path is None:
            return {}
        try:
            return self.read(path, raw, frame, run)
        except PathNotFoundError as exc:
            raise StatesError(
                STATES_RUNTIME,
                f"An error occurred while executing the state '{run.name}'. Invalid path '{path}' "
                f"in InputPath: {exc}. The input was '{dumps(raw)}'",
            ) from None

    def _output_path(self, state: Mapping[str, Any], data: Any, frame: Frame, run: StateRun) -> Any:
        path = state.get("OutputPath", "$")
        if path is None:
            return {}
        try:
            return self.read(path, data, frame, run)
        except PathNotFoundError as exc:
            raise StatesError(
                STATES_RUNTIME,
                f"An error occurred while executing the state '{run.name}'. Invalid path '{path}' "
                f"in OutputPath: {exc}. The output was '{dumps(data)}'",
            ) from None

    def _result_path(self, holder: Mapping[str, Any], raw: Any, result: Any, run: StateRun) -> Any:
        path = holder.get("ResultPath", "$")
        if path is None:
            return raw
        try:
            return set_reference(raw, path, result)
        except ReferencePathError as exc:
            raise StatesError(
                STATES_RESULT_PATH_MATCH_FAILURE,
                f"An error occurred while executing the state '{run.name}': {exc}. "
                f"The input was '{dumps(raw)}'",
            ) from None

    def _assign(self, holder: Mapping[str, Any], dollar: Any, frame: Frame, run: StateRun) -> None:
        assign = holder.get("Assign")
        if not assign:
            return
        values = self.template(assign, dollar, frame, run, "Assign")
        # All values are computed before any is assigned, so assignments never see each other.
        frame.variables.local.update(values)

    # ---- JSONata -------------------------------------------------------------------------------

    @staticmethod
    def _language(frame: Frame, state: Mapping[str, Any]) -> str:
        return str(state.get("QueryLanguage", frame.language))

    def _bindings(
        self, frame: Frame, run: StateRun, state_input: Any, **extra: Any
    ) -> dict[str, Any]:
        """JSONata bindings: the workflow variables and ``$states`` (input, context, ...)."""
        states = {"input": state_input, "context": self.context_object(run), **extra}
        return {**frame.variables.all(), "states": states}

    def _jsonata_exit(
        self,
        holder: Mapping[str, Any],
        frame: Frame,
        run: StateRun,
        bindings: Mapping[str, Any],
        default: Any,
    ) -> Any:
        """A JSONata state's output (Output, else ``default``), then its Assign.

        Output and Assign both see the variables as they were when the state was entered.
        """
        where = f"state '{run.name}'"
        output = (
            evaluate_template(holder["Output"], bindings, f"{where} Output")
            if "Output" in holder
            else default
        )
        if holder.get("Assign"):
            values = evaluate_template(holder["Assign"], bindings, f"{where} Assign")
            frame.variables.local.update(values)
        return output

    def _value(
        self, state: Mapping[str, Any], name: str, bindings: Mapping[str, Any], run: StateRun
    ) -> Any:
        """A field that may be a JSONata expression, evaluated."""
        return evaluate_template(state[name], bindings, f"state '{run.name}' {name}")

    def _integer(
        self,
        state: Mapping[str, Any],
        name: str,
        data: Any,
        frame: Frame,
        run: StateRun,
        *,
        minimum: int,
    ) -> int | None:
        """A numeric field given as a number, a ``...Path`` (JSONPath) or JSONata; None if absent."""
        if name in state:
            value = state[name]
            if is_expression(value):
                value = self._value(state, name, self._bindings(frame, run, data), run)
                error = STATES_QUERY_EVALUATION_ERROR
            else:
                error = STATES_RUNTIME
        elif f"{name}Path" in state:
            path = state[f"{name}Path"]
            try:
                value = self.read(path, data, frame, run)
            except PathNotFoundError as exc:
                raise StatesError(STATES_RUNTIME, f"{name}Path '{path}': {exc}") from None
            error = STATES_RUNTIME
        else:
            return None
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise StatesError(
                error,
                f"{name} of state '{run.name}' must be an integer of at least {minimum}, "
                f"got {dumps(value)}",
            )
        return value

    # ---- Retry and Catch -----------------------------------------------------------------------

    def _with_retry(
        self,
        frame: Frame,
        state: Mapping[str, Any],
        raw: Any,
        run: StateRun,
        attempt: Callable[[], tuple[Any, str | None]],
    ) -> tuple[Any, str | None]:
        retriers = state.get("Retry", [])
        done = [0] * len(retriers)
        while True:
            try:
                return attempt()
            except StatesError as failure:
                index = retries.first_match(retriers, failure.error)
                if index is not None and done[index] < retries.max_attempts(retriers[index]):
                    delay = retries.retry_delay(retriers[index], done[index], self.rng)
                    done[index] += 1
                    run.retry_count += 1
                    self.sink.flush()
                    self.clock.sleep(frame.cancel, delay * self.time_scale)
                    continue
                catchers = state.get("Catch", [])
                index = retries.first_match(catchers, failure.error)
                if index is None:
                    raise
                catcher = catchers[index]
                error_output = {"Error": failure.error, "Cause": failure.cause}
                if self._language(frame, state) == JSONATA:
                    bindings = self._bindings(frame, run, raw, errorOutput=error_output)
                    output = self._jsonata_exit(catcher, frame, run, bindings, error_output)
                    return output, catcher["Next"]
                self._assign(catcher, error_output, frame, run)
                return self._result_path(catcher, raw, error_output, run), catcher["Next"]

    # ---- states --------------------------------------------------------------------------------

    def _pass(
        self, frame: Frame, state: Mapping[str, Any], raw: Any, run: StateRun
    ) -> tuple[Any, str | None]:
        if self._language(frame, state) == JSONATA:
            bindings = self._bindings(frame, run, raw)
            return self._jsonata_exit(state, frame, run, bindings, raw), state.get("Next")
        effective = self._input_path(state, raw, frame, run)
        if "Result" in state:
            result = state["Result"]
        elif "Parameters" in state:
            result = self.template(state["Parameters"], effective, frame, run, "Parameters")
        else:
            result = effective
        self._assign(state, result, frame, run)
        output = self._result_path(state, raw, result, run)
        return self._output_path(state, output, frame, run), state.get("Next")

    def _task(
        self, frame: Frame, state: Mapping[str, Any], raw: Any, run: StateRun
    ) -> tuple[Any, str | None]:
        def attempt() -> tuple[Any, str | None]:
            if classify(state["Resource"]).wait_for_task_token:
                # The token exists before Parameters or Arguments, which pass it on.
                run.task_token = str(uuid.uuid4())
            if self._language(frame, state) == JSONATA:
                bindings = self._bindings(frame, run, raw)
                payload = (
                    self._value(state, "Arguments", bindings, run) if "Arguments" in state else raw
                )
                timeout = self._integer(state, "TimeoutSeconds", raw, frame, run, minimum=1)
                heartbeat = self._integer(state, "HeartbeatSeconds", raw, frame, run, minimum=1)
                result = self._invoke(frame, state, payload, timeout, run, heartbeat)
                bindings = self._bindings(frame, run, raw, result=result)
                return self._jsonata_exit(state, frame, run, bindings, result), state.get("Next")
            effective = self._input_path(state, raw, frame, run)
            if "Parameters" in state:
                payload = self.template(state["Parameters"], effective, frame, run, "Parameters")
            else:
                payload = effective
            timeout = self._integer(state, "TimeoutSeconds", effective, frame, run, minimum=1)
            heartbeat = self._integer(state, "HeartbeatSeconds", effective, frame, run, minimum=1)
            result = self._invoke(frame, state, payload, timeout, run, heartbeat)
            return self._finish(frame, state, raw, result, run)

        return self._with_retry(frame, state, raw, run, attempt)

    def _invoke(
        self,
        frame: Frame,
        state: Mapping[str, Any],
        payload: Any,
        timeout: float | None,
        run: StateRun,
        heartbeat: float | None = None,
    ) -> Any:
        resource = classify(state["Resource"])
        payload, payload_text = _plain(payload, "the task input")
        check_size(payload_text, f"The input of task '{run.name}'")
        scaled = timeout * self.time_scale if timeout is not None else None
        if resource.kind == LAMBDA_FUNCTION:
            scheduled: dict[str, Any] = {
                "resource": resource.arn,
                "input": payload_text,
                "inputDetails": {"truncated": False},
            }
            if timeout is not None:
                scheduled["timeoutInSeconds"] = int(timeout)
            self._emit(frame, "LambdaFunctionScheduled", scheduled, run.name)
            self._emit(frame, "LambdaFunctionStarted", None, run.name)
            try:
                result, result_text = self._call(frame, resource.arn, payload, scaled, run)
            except _TaskTimedOut as exc:
                cause = str(exc)
                self._emit(
                    frame,
                    "LambdaFunctionTimedOut",
                    {"error": STATES_TIMEOUT, "cause": cause},
                    run.name,
                )
                raise StatesError(STATES_TIMEOUT, cause) from None
            except TaskFailedError as exc:
                self._emit(
                    frame,
                    "LambdaFunctionFailed",
                    {"error": exc.error, "cause": exc.cause},
                    run.name,
                )
                raise StatesError(exc.error, exc.cause) from None
            self._emit(
                frame,
                "LambdaFunctionSucceeded",
                {"output": result_text, "outputDetails": {"truncated": False}},
                run.name,
            )
            return result

        base = {"resourceType": resource.resource_type, "resource": resource.resource}
        scheduled = {**base, "region": self.execution.region, "parameters": payload_text}
        if timeout is not None:
            scheduled["timeoutInSeconds"] = int(timeout)
        self._emit(frame, "TaskScheduled", scheduled, run.name)
        self._emit(frame, "TaskStarted", dict(base), run.name)
        if resource.is_lambda_invoke:
            if not isinstance(payload, dict) or "FunctionName" not in payload:
                raise StatesError(STATES_RUNTIME, "lambda:invoke needs Parameters.FunctionName")
            target = function_arn(
                str(payload["FunctionName"]), self.execution.region, self.execution.account
            )
            body = payload.get("Payload", {})
        else:
            target, body = resource.arn, payload
        pending = self.tokens.open(run.task_token) if run.task_token else None
        deadline = time.monotonic() + scaled if scaled is not None else None
        try:
            result, _text = self._call(frame, target, body, scaled, run)
            if resource.is_lambda_invoke:
                result = lambda_invoke_result(result)
            if pending is not None:
                self._emit(
                    frame,
                    "TaskSubmitted",
                    {**base, "output": dumps(result), "outputDetails": {"truncated": False}},
                    run.name,
                )
                scaled_heartbeat = heartbeat * self.time_scale if heartbeat is not None else None
                result = self._await_token(frame, pending, deadline, scaled_heartbeat, run)
        except _TaskTimedOut as exc:
            cause = str(exc)
            self._emit(
                frame, "TaskTimedOut", {**base, "error": exc.error, "cause": cause}, run.name
            )
            raise StatesError(exc.error, cause) from None
        except TaskFailedError as exc:
            self._emit(
                frame, "TaskFailed", {**base, "error": exc.error, "cause": exc.cause}, run.name
            )
            raise StatesError(exc.error, exc.cause) from None
        finally:
            if pending is not None:
                self.tokens.close(pending.token)
        self._emit(
            frame,
            "TaskSucceeded",
            {**base, "output": dumps(result), "outputDetails": {"truncated": False}},
            run.name,
        )
        return result

    def _await_token(
        self,
        frame: Frame,
        pending: PendingTask,
        deadline: float | None,
        heartbeat: float | None,
        run: StateRun,
    ) -> Any:
        """Wait for SendTaskSuccess or SendTaskFailure on the task's token."""
        self.sink.flush()
        while True:
            now = time.monotonic()
            waits = []
            if deadline is not None:
                waits.append(deadline - now)
            if heartbeat is not None:
                waits.append(pending.last_heartbeat + heartbeat - now)
            timeout = max(0.0, min(waits)) if waits else None
            if frame.cancel.wait_for(pending.answered, timeout):
                break
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                raise _TaskTimedOut(f"The task '{run.name}' was not answered in time")
            if heartbeat is not None and now >= pending.last_heartbeat + heartbeat:
                raise _TaskTimedOut(
                    f"The task '{run.name}' sent no heartbeat in time", STATES_HEARTBEAT_TIMEOUT
                )
        if pending.failed:
            raise TaskFailedError(pending.error or "", pending.cause or "")
        return pending.output

    def _call(
        self, frame: Frame, target: str, payload: Any, timeout: float | None, run: StateRun
    ) -> tuple[Any, str]:
        """Invoke in a helper thread so that a timeout or an engine stop never waits on the task."""
        self.sink.flush()
        if self.inline_tasks and timeout is None and frame.top:
            try:
                result = self.invoker.invoke(
                    target,
                    payload,
                    timeout_seconds=None,
                    execution_name=self.execution.name,
                    state_name=run.name,
                )
            except (KeyboardInterrupt, Interrupted):
                raise  # Interrupted: refused by a stopping engine before the call began
            except BaseException as exc:
                raise _task_error(exc) from None
            return self._task_result(result, run)
        box: dict[str, Any] = {}
        finished = threading.Event()
        execution_name = self.execution.name

        def call() -> None:
            threading.current_thread().name = f"task-{execution_name}-{run.name}"
            try:
                box["result"] = self.invoker.invoke(
                    target,
                    payload,
                    timeout_seconds=timeout,
                    execution_name=execution_name,
                    state_name=run.name,
                )
            except BaseException as exc:
                box["error"] = exc
            finally:
                finished.set()

        TASK_THREADS.run(call)
        if not frame.cancel.wait_for(finished, timeout) or not finished.is_set():
            raise _TaskTimedOut(f"The task '{run.name}' did not finish within {timeout} seconds")
        if "error" in box:
            raise _task_error(box["error"])
        return self._task_result(box.get("result"), run)

    @staticmethod
    def _task_result(value: Any, run: StateRun) -> tuple[Any, str]:
        """The task's result as plain JSON, and its JSON text."""
        result, text = _plain(value, "the task result")
        check_size(text, f"The result of task '{run.name}'")
        return result, text

    def _choice(
        self, frame: Frame, state: Mapping[str, Any], raw: Any, run: StateRun
    ) -> tuple[Any, str | None]:
        if self._language(frame, state) == JSONATA:
            bindings = self._bindings(frame, run, raw)
            for index, rule in enumerate(state["Choices"]):
                where = f"state '{run.name}' Choices[{index}].Condition"
                holds = evaluate_template(rule["Condition"], bindings, where)
                if not isinstance(holds, bool):
                    raise StatesError(
                        STATES_QUERY_EVALUATION_ERROR,
                        f"{where} must give true or false, got {dumps(holds)}",
                    )
                if holds:
                    return self._jsonata_exit(rule, frame, run, bindings, raw), rule["Next"]
            if "Default" in state:
                return self._jsonata_exit(state, frame, run, bindings, raw), state["Default"]
            raise self._no_choice(run)

        effective = self._input_path(state, raw, frame, run)

        def read(path: str) -> Any:
            return self.read(path, effective, frame, run)

        for rule in state["Choices"]:
            if evaluate_rule(rule, read):
                self._assign(rule, effective, frame, run)
                return self._output_path(state, effective, frame, run), rule["Next"]
        if "Default" in state:
            self._assign(state, effective, frame, run)
            return self._output_path(state, effective, frame, run), state["Default"]
        raise self._no_choice(run)

    @staticmethod
    def _no_choice(run: StateRun) -> StatesError:
        return StatesError(
            STATES_NO_CHOICE_MATCHED,
            f"No Choice rule of state '{run.name}' matched the input and it has no Default",
        )

    def _wait(
        self, frame: Frame, state: Mapping[str, Any], raw: Any, run: StateRun
    ) -> tuple[Any, str | None]:
        jsonata = self._language(frame, state) == JSONATA
        effective = raw if jsonata else self._input_path(state, raw, frame, run)
        # Waits are measured from when the state was first entered, so a resumed Wait only
        # waits for what remains.
        since = run.first_entered or run.entered
        seconds = self._wait_seconds(state, effective, frame, run, since)
        self.sink.flush()
        self.clock.sleep(frame.cancel, since + seconds * self.time_scale - self.clock.now())
        if jsonata:
            bindings = self._bindings(frame, run, raw)
            return self._jsonata_exit(state, frame, run, bindings, raw), state.get("Next")
        self._assign(state, effective, frame, run)
        return self._output_path(state, effective, frame, run), state.get("Next")

    def _wait_seconds(
        self, state: Mapping[str, Any], data: Any, frame: Frame, run: StateRun, since: float
    ) -> float:
        if "Timestamp" in state:
            value = state["Timestamp"]
            if is_expression(value):
                value = self._value(state, "Timestamp", self._bindings(frame, run, data), run)
            return self._until(value, "Timestamp", since)
        if "TimestampPath" in state:
            path = state["TimestampPath"]
            try:
                value = self.read(path, data, frame, run)
            except PathNotFoundError as exc:
                raise StatesError(STATES_RUNTIME, f"TimestampPath '{path}': {exc}") from None
            return self._until(value, "TimestampPath", since)
        seconds = self._integer(state, "Seconds", data, frame, run, minimum=0)
        return float(seconds or 0)

    @staticmethod
    def _until(value: Any, field_name: str, since: float) -> float:
        instant = parse_timestamp(value)
        if instant is None:
            raise StatesError(
                STATES_RUNTIME, f"{field_name} value {dumps(value)} is not an RFC 3339 timestamp"
            )
        return max(0.0, instant.timestamp() - since)

    def _succeed(
        self, frame: Frame, state: Mapping[str, Any], raw: Any, run: StateRun
    ) -> tuple[Any, str | None]:
        if self._language(frame, state) == JSONATA:
            bindings = self._bindings(frame, run, raw)
            return self._jsonata_exit(state, frame, run, bindings, raw), None
        effective = self._input_path(state, raw, frame, run)
        return self._output_path(state, effective, frame, run), None

    def _fail(
        self, frame: Frame, state: Mapping[str, Any], raw: Any, run: StateRun
    ) -> tuple[Any, str | None]:
        error = self._fail_field(state, "Error", raw, frame, run)
        cause = self._fail_field(state, "Cause", raw, frame, run)
        raise StatesError(error, cause)

    def _fail_field(
        self, state: Mapping[str, Any], name: str, raw: Any, frame: Frame, run: StateRun
    ) -> str:
        if name in state:
            value = state[name]
            if is_expression(value):
                value = self._value(state, name, self._bindings(frame, run, raw), run)
                if not isinstance(value, str):
                    raise StatesError(
                        STATES_QUERY_EVALUATION_ERROR,
                        f"{name} of state '{run.name}' must give a string, got {dumps(value)}",
                    )
            return str(value)
        path = state.get(f"{name}Path")
        if path is None:
            return ""
        try:
            value = self._expression(path, raw, frame, run)
        except PathNotFoundError as exc:
            raise StatesError(STATES_RUNTIME, f"{name}Path '{path}': {exc}") from None
        if not isinstance(value, str):
            raise StatesError(
                STATES_RUNTIME, f"{name}Path '{path}' must give a string, got {dumps(value)}"
            )
        return value

    # ---- Parallel and Map ----------------------------------------------------------------------

    def _parallel(
        self, frame: Frame, state: Mapping[str, Any], raw: Any, run: StateRun
    ) -> tuple[Any, str | None]:
        jsonata = self._language(frame, state) == JSONATA

        def attempt() -> tuple[Any, str | None]:
            if jsonata:
                bindings = self._bindings(frame, run, raw)
                branch_input = (
                    self._value(state, "Arguments", bindings, run) if "Arguments" in state else raw
                )
            else:
                effective = self._input_path(state, raw, frame, run)
                branch_input = (
                    self.template(state["Parameters"], effective, frame, run, "Parameters")
                    if "Parameters" in state
                    else effective
                )
            started = self._emit(frame, "ParallelStateStarted", None, run.name)
            jobs = [
                _Job(index, branch, branch_input, Track(started))
                for index, branch in enumerate(state["Branches"])
            ]
            # Branches that succeeded before a restart or redrive are not run again; later
            # retries of the state run every branch, as Step Functions does.
            done, run.done_children = run.done_children or {}, None
            try:
                results = self._run_children(
                    frame, jobs, len(jobs), run, None, done=done, record=frame.top
                )
            except StatesError:
                self._emit(frame, "ParallelStateFailed", None, run.name)
                raise
            self._emit(frame, "ParallelStateSucceeded", None, run.name)
            return self._finish(frame, state, raw, results, run)

        return self._with_retry(frame, state, raw, run, attempt)

    def _finish(
        self, frame: Frame, state: Mapping[str, Any], raw: Any, result: Any, run: StateRun
    ) -> tuple[Any, str | None]:
        """Output and variables of a Task, Parallel or Map state from its result."""
        if self._language(frame, state) == JSONATA:
            bindings = self._bindings(frame, run, raw, result=result)
            return self._jsonata_exit(state, frame, run, bindings, result), state.get("Next")
        # Assign sees the result as the task gave it, before ResultSelector (as Step Functions).
        self._assign(state, result, frame, run)
        if "ResultSelector" in state:
            result = self.template(state["ResultSelector"], result, frame, run, "ResultSelector")
        output = self._result_path(state, raw, result, run)
        return self._output_path(state, output, frame, run), state.get("Next")

    def _map(
        self, frame: Frame, state: Mapping[str, Any], raw: Any, run: StateRun
    ) -> tuple[Any, str | None]:
        processor = state.get("ItemProcessor") or state["Iterator"]
        jsonata = self._language(frame, state) == JSONATA

        def attempt() -> tuple[Any, str | None]:
            effective = raw if jsonata else self._input_path(state, raw, frame, run)
            items = self._map_items(state, effective, frame, run, jsonata)
            selector = state.get("ItemSelector", state.get("Parameters"))
            inputs: list[Any] = []
            for index, item in enumerate(items):
                if selector is None:
                    inputs.append(item)
                    continue
                item_run = StateRun(run.name, run.entered, run.retry_count, map_item=(index, item))
                if jsonata:
                    bindings = self._bindings(frame, item_run, raw)
                    where = f"state '{run.name}' ItemSelector"
                    inputs.append(evaluate_template(selector, bindings, where))
                else:
                    inputs.append(
                        self.template(selector, effective, frame, item_run, "ItemSelector")
                    )
            inputs = self._batch(state, inputs, effective, frame, run, jsonata)
            started = self._emit(frame, "MapStateStarted", {"length": len(inputs)}, run.name)
            limit = self._integer(state, "MaxConcurrency", effective, frame, run, minimum=0)
            if not limit or limit > INLINE_MAP_MAX_CONCURRENCY:
                limit = INLINE_MAP_MAX_CONCURRENCY
            tolerance = _Tolerance(
                len(inputs),
                self._integer(state, "ToleratedFailureCount", effective, frame, run, minimum=0),
                self._percentage(state, effective, frame, run),
            )
            jobs = [_Job(i, processor, value, Track(started)) for i, value in enumerate(inputs)]
            # Iterations that succeeded before a restart or redrive are not run again.
            done, run.done_children = run.done_children or {}, None
            try:
                results = self._run_children(
                    frame, jobs, limit, run, tolerance, done=done, record=frame.top
                )
            except StatesError:
                self._emit(frame, "MapStateFailed", None, run.name)
                raise
            self._emit(frame, "MapStateSucceeded", None, run.name)
            return self._finish(frame, state, raw, results, run)

        return self._with_retry(frame, state, raw, run, attempt)

    def _map_items(
        self, state: Mapping[str, Any], data: Any, frame: Frame, run: StateRun, jsonata: bool
    ) -> list[Any]:
        if jsonata:
            field_name = "Items"
            items = (
                self._value(state, "Items", self._bindings(frame, run, data), run)
                if "Items" in state
                else data
            )
        else:
            field_name = f"ItemsPath '{state.get('ItemsPath', '$')}'"
            try:
                items = self.read(state.get("ItemsPath", "$"), data, frame, run)
            except PathNotFoundError as exc:
                raise StatesError(STATES_RUNTIME, f"{field_name}: {exc}") from None
        if not isinstance(items, list):
            raise StatesError(
                STATES_QUERY_EVALUATION_ERROR if jsonata else STATES_RUNTIME,
                f"{field_name} of state '{run.name}' must give an array, got {dumps(items)}",
            )
        return items

    def _percentage(
        self, state: Mapping[str, Any], data: Any, frame: Frame, run: StateRun
    ) -> float | None:
        name = "ToleratedFailurePercentage"
        value = state.get(name)
        if is_expression(value):
            value = self._value(state, name, self._bindings(frame, run, data), run)
        elif f"{name}Path" in state:
            try:
                value = self.read(state[f"{name}Path"], data, frame, run)
            except PathNotFoundError as exc:
                raise StatesError(STATES_RUNTIME, f"{name}Path: {exc}") from None
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 100:
            raise StatesError(
                STATES_RUNTIME, f"{name} of state '{run.name}' must be 0-100, got {dumps(value)}"
            )
        return float(value)

    def _batch(
        self,
        state: Mapping[str, Any],
        inputs: list[Any],
        data: Any,
        frame: Frame,
        run: StateRun,
        jsonata: bool,
    ) -> list[Any]:
        batcher = state.get("ItemBatcher")
        if batcher is None:
            return inputs
        max_items = self._integer(batcher, "MaxItemsPerBatch", data, frame, run, minimum=1)
        max_bytes = self._integer(batcher, "MaxInputBytesPerBatch", data, frame, run, minimum=1)
        batch_input = batcher.get("BatchInput")
        if batch_input is not None:
            where = "ItemBatcher.BatchInput"
            batch_input = (
                evaluate_template(batch_input, self._bindings(frame, run, data), where)
                if jsonata
                else self.template(batch_input, data, frame, run, where)
            )
        batches: list[dict[str, Any]] = []
        current: list[Any] = []
        size = 0
        for item in inputs:
            item_size = len(dumps(item).encode())
            full = (max_items and len(current) >= max_items) or (
                max_bytes and current and size + item_size > max_bytes
            )
            if full:
                batches.append(self._one_batch(current, batch_input))
                current, size = [], 0
            current.append(item)
            size += item_size
        if current:
            batches.append(self._one_batch(current, batch_input))
        return batches

    @staticmethod
    def _one_batch(items: list[Any], batch_input: Any) -> dict[str, Any]:
        batch: dict[str, Any] = {"Items": items}
        if batch_input is not None:
            batch["BatchInput"] = batch_input
        return batch

    def _run_children(
        self,
        frame: Frame,
        jobs: list[_Job],
        limit: int,
        run: StateRun,
        tolerance: _Tolerance | None,
        *,
        done: Mapping[int, Any] | None = None,
        record: bool = False,
    ) -> list[Any]:
        """Run branches (tolerance None) or Map iterations on up to ``limit`` threads.

        ``done`` gives outputs of children that need not run again; with ``record``, each
        child's success is reported to the sink so that a resumed run can skip it.
        """
        scope = frame.cancel.child()
        results: list[Any] = [None] * len(jobs)
        for index, output in (done or {}).items():
            if 0 <= index < len(results):
                results[index] = output
        jobs_to_run = [job for job in jobs if job.index not in (done or {})]
        lock = threading.Lock()
        failures: list[StatesError] = []
        next_job = [0]
        is_map = tolerance is not None
        start_offset = self.clock.offset()
        end_offsets: list[float] = [start_offset]

        def run_job(job: _Job) -> None:
            child = Frame(
                machine=job.machine,
                language=job.machine.get("QueryLanguage", frame.language),
                variables=frame.variables.child(),
                cancel=scope.child(),
                track=job.track,
                top=False,
            )
            try:
                if is_map:
                    self._emit(child, "MapIterationStarted", {"name": run.name, "index": job.index})
                results[job.index] = self._run_machine(child, job.data)
                if record:
                    self.sink.child_done(job.index, results[job.index])
                if is_map:
                    self._emit(
                        child, "MapIterationSucceeded", {"name": run.name, "index": job.index}
                    )
            except Interrupted:
                if is_map and scope.reason == ABORT and not frame.cancel.cancelled:
                    self._emit_quietly(
                        child, "MapIterationAborted", {"name": run.name, "index": job.index}
                    )
            except Exception as exc:
                failure = (
                    exc if isinstance(exc, StatesError) else StatesError(STATES_RUNTIME, repr(exc))
                )
                if is_map:
                    self._emit_quietly(
                        child, "MapIterationFailed", {"name": run.name, "index": job.index}
                    )
                with lock:
                    failures.append(failure)
                    fatal = tolerance is None or tolerance.exceeded(len(failures))
                    if not fatal:
                        results[job.index] = {"Error": failure.error, "Cause": failure.cause}
                if fatal:
                    scope.cancel(ABORT)
            finally:
                child.cancel.close()

        def worker() -> None:
            while not scope.cancelled:
                with lock:
                    if next_job[0] >= len(jobs_to_run):
                        return
                    job = jobs_to_run[next_job[0]]
                    next_job[0] += 1
                # Each branch or iteration starts when its state started.
                self.clock.set_offset(start_offset)
                run_job(job)
                with lock:
                    end_offsets.append(self.clock.offset())

        threads = [
            threading.Thread(
                target=worker, name=f"{self.execution.name}-{run.name}-{i}", daemon=True
            )
            for i in range(min(limit, len(jobs_to_run)))
        ]
        for thread in threads:
            thread.start()

        def join() -> None:
            for thread in threads:
                thread.join()

        blocking(join)
        scope.close()
        self.clock.set_offset(max(end_offsets))
        # The state's next event follows the last event of its branches or iterations.
        frame.track.last = max([frame.track.last, *(job.track.last for job in jobs)])
        frame.cancel.check()
        if failures and (tolerance is None or tolerance.exceeded(len(failures))):
            if tolerance is not None and tolerance.configured:
                raise StatesError(
                    STATES_EXCEED_TOLERATED_FAILURE,
                    f"The Map state '{run.name}' had {len(failures)} failed iterations of "
                    f"{len(jobs_to_run)}, more than it tolerates",
                )
            raise failures[0]
        return results

    def _emit_quietly(self, frame: Frame, event_type: str, details: dict[str, Any]) -> None:
        # The iteration's own scope is cancelled when it is aborted; report on the parent's behalf.
        if self.cancel.cancelled:
            return
        event_id = self.sink.emit(event_type, details, previous=frame.track.last)
        frame.track.last = event_id

    _handlers: dict[
        str,
        Callable[[Interpreter, Frame, Mapping[str, Any], Any, StateRun], tuple[Any, str | None]],
    ] = {
        "Pass": _pass,
        "Task": _task,
        "Choice": _choice,
        "Wait": _wait,
        "Succeed": _succeed,
        "Fail": _fail,
        "Parallel": _parallel,
        "Map": _map,
    }


@dataclass
class _Job:
    index: int
    machine: Mapping[str, Any]
    data: Any
    track: Track


@dataclass
class _Tolerance:
    """A Map's ToleratedFailureCount and ToleratedFailurePercentage (none: no failure allowed)."""

    total: int
    count: int | None
    percentage: float | None

    @property
    def configured(self) -> bool:
        return self.count is not None or self.percentage is not None

    def exceeded(self, failures: int) -> bool:
        if not self.configured:
            return failures > 0
        if self.count is not None and failures > self.count:
            return True
        return (
            self.percentage is not None
            and self.total > 0
            and failures * 100.0 / self.total > self.percentage
        )


class _TaskTimedOut(Exception):
    """Internal signal, turned into States.Timeout or States.HeartbeatTimeout."""

    def __init__(self, message: str, error: str = STATES_TIMEOUT) -> None:
        super().__init__(message)
        self.error = error


__all__ = ["JSONATA", "EventSink", "ExecutionInfo", "Interpreter", "StateRun", "Variables", "dumps"]
