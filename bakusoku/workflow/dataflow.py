"""How data moves through a state: the base every kind of state builds on.

``DataFlow`` holds the interpreter's collaborators (the execution, the event sink, the clock),
emits history events, and does the input and output processing of both query languages:
JSONPath's InputPath, Parameters (payload templates and intrinsic functions), ResultSelector,
ResultPath, OutputPath and Assign; JSONata's bindings, Arguments-style fields, Output and Assign;
and the context object ``$$``. The state kinds (task_states, flow_states, fanout_states) use it;
the dispatch loop (interpreter.py) ties them together.
"""

from __future__ import annotations

import functools
import random
import re
from collections.abc import Mapping
from typing import Any

from bakusoku.utc import iso_millis
from bakusoku.workflow.callbacks import TaskTokens
from bakusoku.workflow.cancel import CancelScope
from bakusoku.workflow.clock import Clock
from bakusoku.workflow.definition import JSONATA
from bakusoku.workflow.errors import (
    STATES_QUERY_EVALUATION_ERROR,
    STATES_RESULT_PATH_MATCH_FAILURE,
    STATES_RUNTIME,
    StatesError,
)
from bakusoku.workflow.frames import (
    EventSink,
    ExecutionInfo,
    Frame,
    StateRun,
    as_text,
    dumps,
    state_failure,
)
from bakusoku.workflow.inline import CallGuard
from bakusoku.workflow.intrinsics import evaluate_intrinsic, is_intrinsic
from bakusoku.workflow.invoker import TaskInvoker
from bakusoku.workflow.jsonata_eval import QueryError, evaluate_template, is_expression
from bakusoku.workflow.paths import (
    PathNotFoundError,
    ReferencePathError,
    evaluate_parsed,
    parse_path,
    set_reference,
)

_INTEGER_TEXT = re.compile(r"-?[0-9]+")
# The Map counts whose path may give an integer as text ("2"), as LocalStack's Map reads them.
_READ_AS_INTEGER = frozenset({"MaxConcurrency", "ToleratedFailureCount"})


@functools.lru_cache(maxsize=1024)
def dynamic_key_order(keys: tuple[str, ...]) -> tuple[str, ...]:
    """The ``name.$`` keys of a payload template in the order Step Functions outputs them.

    Step Functions keeps them in a Java HashMap by name, so they come out by hash bucket (the
    table doubling from 16 past three quarters full), in template order within a bucket:
    executions recorded on AWS show exactly this order (``$$`` fields, intrinsic results).
    """
    size = 16
    while len(keys) > size * 3 // 4:
        size *= 2

    def bucket(key: str) -> int:
        code = 0  # Java's String.hashCode, over UTF-16 code units
        units = key[:-2].encode("utf-16-be")
        for i in range(0, len(units), 2):
            code = (31 * code + (units[i] << 8 | units[i + 1])) & 0xFFFFFFFF
        return (code ^ (code >> 16)) & (size - 1)

    buckets = [bucket(key) for key in keys]
    return tuple(key for _, _, key in sorted(zip(buckets, range(len(keys)), keys, strict=True)))


def _location(field: str) -> str:
    """The field an EvaluationFailed event blames: the state's own field, without the keys
    inside it (``Output/a`` is at ``Output``; ``Choices[1]/Condition`` stays whole)."""
    parts = field.split("/")
    if parts[0].endswith("]") and len(parts) > 1:  # Choices[i] or Catch[i]: its own field
        return "/".join(parts[:2])
    return parts[0]


def _express_execution(execution: ExecutionInfo) -> dict[str, Any]:
    """An Express execution's ``$$.Execution``: no RedriveCount (Express executions are not
    redriven), keys in the order StartSyncExecution's recorded results show them."""
    return {
        "Id": execution.arn,
        "Input": execution.input,
        "Name": execution.name,
        "RoleArn": execution.role_arn,
        "StartTime": iso_millis(execution.start_time),
    }


class DataFlow:
    """Input and output processing, the context object, and history events of one execution."""

    # Set by the Interpreter (interpreter.py), which every state kind is mixed into.
    definition: Mapping[str, Any]
    execution: ExecutionInfo
    invoker: TaskInvoker
    sink: EventSink
    cancel: CancelScope
    clock: Clock
    time_scale: float
    rng: random.Random
    tokens: TaskTokens
    inline_tasks: bool
    guard: CallGuard | None

    def _emit(
        self,
        frame: Frame,
        event_type: str,
        details: dict[str, Any] | None,
        state: str | None = None,
    ) -> int:
        """Report a history event on ``frame``'s line of history; its id is the line's last."""
        frame.cancel.check()
        event_id = self.sink.emit(event_type, details, previous=frame.track.last, state_name=state)
        frame.track.last = event_id
        return event_id

    # ---- reading paths and templates -----------------------------------------------------------

    def context_object(self, run: StateRun) -> dict[str, Any]:
        """The context object ``$$`` as seen from state visit ``run``.

        Keys in the order executions on AWS show them; ``State.RetryCount`` only in the states
        that can retry (a Pass state's ``$$`` has none, in executions recorded on AWS).
        """
        execution = self.execution
        state: dict[str, Any] = {"Name": run.name, "EnteredTime": iso_millis(run.entered)}
        if run.retries:
            state["RetryCount"] = run.retry_count
        context: dict[str, Any] = {
            "Execution": _express_execution(execution)
            if execution.express
            else {
                "Id": execution.arn,
                "Input": execution.input,
                "StartTime": iso_millis(execution.start_time),
                "Name": execution.name,
                "RoleArn": execution.role_arn,
                "RedriveCount": execution.redrive_count,
            },
            "StateMachine": {
                "Id": execution.state_machine_arn,
                "Name": execution.state_machine_name,
            },
            "State": state,
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

            def argument(path: str) -> Any:
                try:
                    return self.read(path, data, frame, run)
                except PathNotFoundError:
                    # Worded as executions on AWS word it (reported causes of States.Array and
                    # States.Format with an argument that is not in the input).
                    raise state_failure(
                        run,
                        f"The function '{text}' had the following error: The JsonPath argument "
                        f"for the field '{path}' could not be found in the input '{dumps(data)}'",
                    ) from None

            return evaluate_intrinsic(text, argument)
        return self.read(text, data, frame, run)

    def template(
        self, template: Any, data: Any, frame: Frame, run: StateRun, field_name: str
    ) -> Any:
        """Apply a payload template: each ``name.$`` key gets what its path or function gives.

        The keys come out in Step Functions' order: the fixed ones as written, then the
        ``name.$`` ones in the order Java's HashMap keeps their names (``dynamic_key_order``).
        """
        if isinstance(template, dict):
            out: dict[str, Any] = {}
            dynamic: list[str] = []
            for key, value in template.items():
                if key.endswith(".$") and isinstance(value, str):
                    dynamic.append(key)
                else:
                    out[key] = self.template(value, data, frame, run, field_name)
            for key in dynamic_key_order(tuple(dynamic)) if len(dynamic) > 1 else dynamic:
                path = template[key]
                try:
                    out[key[:-2]] = self._expression(path, data, frame, run)
                except PathNotFoundError:
                    raise self._missing_path(run, path, key, data) from None
            return out
        if isinstance(template, list):
            return [self.template(item, data, frame, run, field_name) for item in template]
        return template

    def _read_path(self, path: str, data: Any, frame: Frame, run: StateRun) -> Any:
        """The value of a path field (InputPath, OutputPath, ItemsPath, ...); nothing is an error."""
        try:
            return self.read(path, data, frame, run)
        except PathNotFoundError as exc:
            raise state_failure(run, f"Invalid path '{path}' : {exc}") from None

    @staticmethod
    def _missing_path(run: StateRun, path: str, field_name: str, data: Any) -> StatesError:
        """A path of a payload template (or ErrorPath, CausePath) that found nothing."""
        return state_failure(
            run,
            f"The JSONPath '{path}' specified for the field '{field_name}' could not be found "
            f"in the input '{dumps(data)}'",
        )

    def _input_path(self, state: Mapping[str, Any], raw: Any, frame: Frame, run: StateRun) -> Any:
        path = state.get("InputPath", "$")
        if path is None:
            return {}
        return self._read_path(path, raw, frame, run)

    def _output_path(self, state: Mapping[str, Any], data: Any, frame: Frame, run: StateRun) -> Any:
        path = state.get("OutputPath", "$")
        if path is None:
            return {}
        return self._read_path(path, data, frame, run)

    def _result_path(self, holder: Mapping[str, Any], raw: Any, result: Any, run: StateRun) -> Any:
        path = holder.get("ResultPath", "$")
        if path is None:
            return raw
        try:
            return set_reference(raw, path, result)
        except ReferencePathError:
            # Step Functions' own words, without the state's prefix of its runtime errors.
            raise StatesError(
                STATES_RESULT_PATH_MATCH_FAILURE,
                f"Unable to apply ReferencePath {path} to input {dumps(raw)}",
            ) from None

    def _assign(self, holder: Mapping[str, Any], dollar: Any, frame: Frame, run: StateRun) -> None:
        assign = holder.get("Assign")
        if not assign:
            return
        values = self.template(assign, dollar, frame, run, "Assign")
        # All values are computed before any is assigned, so assignments never see each other.
        frame.variables.local.update(values)
        run.assigned = values

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
        within: str = "",
    ) -> Any:
        """A JSONata state's output (Output, else ``default``), then its Assign.

        Output and Assign both see the variables as they were when the state was entered.
        ``within`` names the part of the state that holds them (``Choices[1]``, ``Catch[0]``):
        their fields are named under it, as ``Choices[1]/Output``.
        """
        prefix = f"{within}/" if within else ""
        output = (
            self._jsonata(holder["Output"], bindings, f"{prefix}Output", run)
            if "Output" in holder
            else default
        )
        if holder.get("Assign"):
            values = self._jsonata(holder["Assign"], bindings, f"{prefix}Assign", run)
            frame.variables.local.update(values)
            run.assigned = values
        return output

    def _jsonata(self, value: Any, bindings: Mapping[str, Any], field: str, run: StateRun) -> Any:
        """Every ``{% %}`` expression in ``value`` (the state's ``field``), evaluated."""
        try:
            return evaluate_template(value, bindings, field)
        except QueryError as exc:
            raise self._query_failure(run, exc.cause, _location(field)) from None

    def _query_failure(
        self, run: StateRun, detail: str, location: str | None, *, previous: int | None = None
    ) -> StatesError:
        """States.QueryEvaluationError of a state, after the EvaluationFailed event it adds.

        Step Functions records a JSONata state's failed evaluation as an ``EvaluationFailed``
        event (the error, the cause, the state and the field, if one is to blame) before the
        state fails or catches it; ``previous`` is its previous event when not the last one.
        """
        failure = state_failure(run, detail, STATES_QUERY_EVALUATION_ERROR)
        if run.track is not None:
            details: dict[str, Any] = {"cause": failure.cause, "error": failure.error}
            if location is not None:
                details["location"] = location
            details["state"] = run.name
            run.track.last = self.sink.emit(
                "EvaluationFailed",
                details,
                previous=run.track.last if previous is None else previous,
                state_name=run.name,
            )
        return failure

    def _value(
        self, state: Mapping[str, Any], name: str, bindings: Mapping[str, Any], run: StateRun
    ) -> Any:
        """A field that may be a JSONata expression, evaluated."""
        return self._jsonata(state[name], bindings, name, run)

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
        path = None
        if name in state:
            value = state[name]
            if is_expression(value):
                value = self._value(state, name, self._bindings(frame, run, data), run)
                error = STATES_QUERY_EVALUATION_ERROR
            else:
                error = STATES_RUNTIME
        elif f"{name}Path" in state:
            path = state[f"{name}Path"]
            value = self._path_integer(name, path, data, frame, run)
            error = STATES_RUNTIME
        else:
            return None
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        integer = isinstance(value, int) and not isinstance(value, bool)
        if integer and value >= minimum:
            return int(value)
        if not integer and path is not None:
            raise state_failure(
                run,
                f'The {name}Path field refers to value "{as_text(value)}" which is not a valid '
                f"integer: {path}",
            )
        if integer and name == "MaxConcurrency":
            detail = f"Expected non-negative integer for MaxConcurrency, got '{value}' instead."
        elif integer and minimum == 0:
            detail = f"{name} cannot be negative."
        else:
            detail = f"{name} must be an integer of at least {minimum}, got {dumps(value)}"
        if error == STATES_QUERY_EVALUATION_ERROR:
            raise self._query_failure(run, detail, name)
        raise state_failure(run, detail, error)

    def _path_integer(self, name: str, path: str, data: Any, frame: Frame, run: StateRun) -> Any:
        """The value a ``...Path`` numeric field reads; a Wait's SecondsPath checked as AWS does.

        A Wait words its SecondsPath failures its own way (executions recorded on AWS, LocalStack's
        snapshot test_wait::test_base_wait_seconds_path): the path and the value after ``==``.
        """
        if name != "Seconds" or parse_path(path).root != "$":
            # A variable that was never assigned is worded as any path reading one.
            value = self._read_path(path, data, frame, run)
            if (
                name in _READ_AS_INTEGER
                and isinstance(value, str)
                and _INTEGER_TEXT.fullmatch(value)
            ):
                return int(value)  # read as an integer, as the "not a valid integer" cause says
            return value
        try:
            value = self.read(path, data, frame, run)
        except PathNotFoundError:
            raise state_failure(
                run, f"The SecondsPath parameter does not reference an input value: {path}"
            ) from None
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise state_failure(
                run,
                "The SecondsPath parameter cannot be parsed as a long value: "
                f"{path} == {as_text(value)}",
            )
        if value < 0:
            raise state_failure(
                run, f"The SecondsPath parameter references a negative value: {path} == {value}"
            )
        return value

    # ---- the output of a state with a result ---------------------------------------------------

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
