"""Task states: calling the invoker, task timeouts and heartbeats, Retry and Catch.

``RetryingStates`` retries a state's attempt as its Retry says and turns a failure into output as
its Catch says (Task, Parallel and Map use it). ``TaskStates`` runs a Task: its payload, the
history events of a Lambda function or a service integration, ``lambda:invoke``'s result shape,
``.waitForTaskToken`` callbacks with HeartbeatSeconds, and the call itself. A call runs in a
helper thread so that its TimeoutSeconds, a StopExecution or an engine stop never waits on it,
except a top-level call without a timeout when the caller allows ``inline_tasks`` (see inline.py).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from bakusoku.workflow import jsontext
from bakusoku.workflow import retry as retries
from bakusoku.workflow.callbacks import PendingTask
from bakusoku.workflow.cancel import Interrupted
from bakusoku.workflow.dataflow import DataFlow
from bakusoku.workflow.definition import JSONATA
from bakusoku.workflow.errors import (
    STATES_DATA_LIMIT_EXCEEDED,
    STATES_HEARTBEAT_TIMEOUT,
    STATES_RUNTIME,
    STATES_TASK_FAILED,
    STATES_TIMEOUT,
    StatesError,
    TaskFailedError,
)
from bakusoku.workflow.frames import (
    Frame,
    StateRun,
    check_size,
    dumps,
    result_too_large,
    too_large,
)
from bakusoku.workflow.invoker import TaskRequest
from bakusoku.workflow.tasks import (
    LAMBDA_FUNCTION,
    Resource,
    classify,
    executed_version,
    function_arn,
    lambda_invoke_result,
    optimised_lambda_cause,
)
from bakusoku.workflow.taskthreads import TASK_THREADS


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


class RetryingStates(DataFlow):
    """Retry and Catch around one attempt of a Task, Parallel or Map state."""

    def _with_retry(
        self,
        frame: Frame,
        state: Mapping[str, Any],
        raw: Any,
        run: StateRun,
        attempt: Callable[[], tuple[Any, str | None]],
        failed: Callable[[StatesError], None] | None = None,
    ) -> tuple[Any, str | None]:
        """Run ``attempt`` with the state's Retry and Catch.

        ``failed`` is told of a failure that is not retried, before a catcher handles it or it
        fails the state (a Map records MapStateFailed only then, as recorded on AWS).
        """
        retriers = state.get("Retry", [])
        done = [0] * len(retriers)
        while True:
            try:
                return attempt()
            except StatesError as failure:
                index = retries.first_match(retriers, failure.error, failure.also)
                if index is not None and done[index] < retries.max_attempts(retriers[index]):
                    delay = retries.retry_delay(retriers[index], done[index], self.rng)
                    done[index] += 1
                    run.retry_count += 1
                    self.sink.flush()
                    self.clock.sleep(frame.cancel, delay * self.time_scale)
                    continue
                if failed is not None:
                    failed(failure)
                catchers = state.get("Catch", [])
                index = retries.first_match(catchers, failure.error, failure.also)
                if index is None:
                    raise
                catcher = catchers[index]
                error_output = {"Error": failure.error, "Cause": failure.cause}
                if self._language(frame, state) == JSONATA:
                    bindings = self._bindings(frame, run, raw, errorOutput=error_output)
                    output = self._jsonata_exit(
                        catcher, frame, run, bindings, error_output, f"Catch[{index}]"
                    )
                    return output, catcher["Next"]
                self._assign(catcher, error_output, frame, run)
                return self._result_path(catcher, raw, error_output, run), catcher["Next"]


class TaskStates(RetryingStates):
    """The Task state."""

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
                result = self._call_task(frame, state, payload, timeout, run, heartbeat)
                bindings = self._bindings(frame, run, raw, result=result)
                return self._jsonata_exit(state, frame, run, bindings, result), state.get("Next")
            effective = self._input_path(state, raw, frame, run)
            if "Parameters" in state:
                payload = self.template(state["Parameters"], effective, frame, run, "Parameters")
            else:
                payload = effective
            timeout = self._integer(state, "TimeoutSeconds", effective, frame, run, minimum=1)
            heartbeat = self._integer(state, "HeartbeatSeconds", effective, frame, run, minimum=1)
            result = self._call_task(frame, state, payload, timeout, run, heartbeat)
            return self._finish(frame, state, raw, result, run)

        return self._with_retry(frame, state, raw, run, attempt)

    def _call_task(
        self,
        frame: Frame,
        state: Mapping[str, Any],
        payload: Any,
        timeout: float | None,
        run: StateRun,
        heartbeat: float | None = None,
    ) -> Any:
        """Call the state's resource and record the call's history events; return its result.

        A Lambda function ARN gives LambdaFunction* events; an integration gives Task* events,
        ``lambda:invoke``'s result shape, and for ``.waitForTaskToken`` the callback's answer.
        """
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
                result, result_text = self._call_invoker(
                    frame, resource.arn, payload, scaled, run, owner=resource.arn
                )
            except _TaskTimedOut:
                # Step Functions gives a timed-out task no cause (executions recorded on AWS);
                # a Catch sees "Cause": "".
                self._emit(frame, "LambdaFunctionTimedOut", {"error": STATES_TIMEOUT}, run.name)
                raise StatesError(STATES_TIMEOUT, "") from None
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
            function_name = str(payload["FunctionName"])
            target = function_arn(function_name, self.execution.region, self.execution.account)
            body = payload.get("Payload", {})
        else:
            target, body, function_name = resource.arn, payload, resource.arn
        pending = self.tokens.open(run.task_token) if run.task_token else None
        deadline = time.monotonic() + scaled if scaled is not None else None
        try:
            result = self._call_integration(
                frame, resource, target, function_name, body, scaled, run
            )
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
            # A missed heartbeat is reported as States.Timeout too (executions recorded on
            # AWS), and Retry and Catch still know it as States.HeartbeatTimeout.
            self._emit(frame, "TaskTimedOut", {**base, "error": STATES_TIMEOUT}, run.name)
            also = (exc.error,) if exc.error != STATES_TIMEOUT else ()
            raise StatesError(STATES_TIMEOUT, "", also) from None
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

    def _call_integration(
        self,
        frame: Frame,
        resource: Resource,
        target: str,
        function_name: str,
        body: Any,
        timeout: float | None,
        run: StateRun,
    ) -> Any:
        """Call an integration's target; ``lambda:invoke`` answers as Lambda's Invoke response.

        A function's failure through ``lambda:invoke`` carries its error document as the
        optimised integration writes it again.
        """
        try:
            result, _text = self._call_invoker(
                frame, target, body, timeout, run, owner=resource.resource_type
            )
        except TaskFailedError as exc:
            if not resource.is_lambda_invoke:
                raise
            raise TaskFailedError(exc.error, optimised_lambda_cause(exc.cause)) from None
        if resource.is_lambda_invoke:
            return lambda_invoke_result(result, version=executed_version(function_name))
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

    def _call_invoker(
        self,
        frame: Frame,
        target: str,
        payload: Any,
        timeout: float | None,
        run: StateRun,
        *,
        owner: str,
    ) -> tuple[Any, str]:
        """Call the invoker in a helper thread so that a timeout or a stop never waits on the task.

        ``owner`` names the task in the cause of a result over the payload quota.

        A top-level call without a timeout runs in the execution's own thread when the caller
        allows ``inline_tasks`` (nothing inside the execution could need to interrupt it).
        """
        self.sink.flush()
        if self.inline_tasks and timeout is None and frame.top:

            def call_inline() -> Any:
                return self.invoker.invoke(
                    TaskRequest(target, payload, self.execution.name, run.name)
                )

            try:
                # The engine's guard lets a StopExecution or timeout during the call end the
                # execution from the interrupting thread (see inline.py).
                result = call_inline() if self.guard is None else self.guard.call(call_inline)
            except (KeyboardInterrupt, Interrupted):
                raise  # Interrupted: refused by a stopping engine before the call began
            except BaseException as exc:
                raise _task_error(exc) from None
            return self._task_result(result, owner)
        box: dict[str, Any] = {}
        finished = threading.Event()
        execution_name = self.execution.name

        def call() -> None:
            threading.current_thread().name = f"task-{execution_name}-{run.name}"
            try:
                box["result"] = self.invoker.invoke(
                    TaskRequest(target, payload, execution_name, run.name, timeout)
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
        return self._task_result(box.get("result"), owner)

    @staticmethod
    def _task_result(value: Any, owner: str) -> tuple[Any, str]:
        """The task's result as plain JSON, and its JSON text.

        An invoker may give Lambda's response payload as it came (bytes of JSON text): the
        result is the JSON value it holds (``b'"HelloWorld"'`` is the string HelloWorld). A
        result over the payload quota fails the task (its Failed event records it).
        """
        if isinstance(value, bytes | bytearray):
            try:
                value = jsontext.loads(value)
            except ValueError as exc:
                raise StatesError(
                    STATES_TASK_FAILED, f"the task result is not JSON: {exc}"
                ) from None
        result, text = _plain(value, "the task result")
        if too_large(text):
            raise TaskFailedError(STATES_DATA_LIMIT_EXCEEDED, result_too_large(owner))
        return result, text


class _TaskTimedOut(Exception):
    """Internal signal, turned into States.Timeout or States.HeartbeatTimeout."""

    def __init__(self, message: str, error: str = STATES_TIMEOUT) -> None:
        super().__init__(message)
        self.error = error
