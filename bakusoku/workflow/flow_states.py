"""States that steer the flow without calling out: Pass, Choice, Wait, Succeed and Fail.

Each takes the state's definition, its raw input and the visit, and returns the state's output
and the next state's name (None at the end); Fail raises the StatesError it describes. Wait
measures from when the state was first entered, so a Wait resumed after a restart waits only for
what remains.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bakusoku.workflow.choice import ChoicePathError, evaluate_rule, parse_timestamp
from bakusoku.workflow.dataflow import DataFlow
from bakusoku.workflow.definition import JSONATA
from bakusoku.workflow.errors import (
    STATES_NO_CHOICE_MATCHED,
    StatesError,
)
from bakusoku.workflow.frames import Frame, StateRun, as_text, dumps, state_failure
from bakusoku.workflow.jsonata_eval import is_expression
from bakusoku.workflow.paths import PathNotFoundError


class FlowStates(DataFlow):
    """Pass, Choice, Wait, Succeed and Fail."""

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

    def _choice(
        self, frame: Frame, state: Mapping[str, Any], raw: Any, run: StateRun
    ) -> tuple[Any, str | None]:
        if self._language(frame, state) == JSONATA:
            bindings = self._bindings(frame, run, raw)
            for index, rule in enumerate(state["Choices"]):
                where = f"Choices[{index}]/Condition"
                holds = self._jsonata(rule["Condition"], bindings, where, run)
                if not isinstance(holds, bool):
                    raise self._query_failure(
                        run, f"The {where} field must give true or false, got {dumps(holds)}", where
                    )
                if holds:
                    within = f"Choices[{index}]"
                    return self._jsonata_exit(rule, frame, run, bindings, raw, within), rule["Next"]
            if "Default" in state:
                return self._jsonata_exit(state, frame, run, bindings, raw), state["Default"]
            raise self._no_choice(run)

        effective = self._input_path(state, raw, frame, run)

        def read(path: str) -> Any:
            return self.read(path, effective, frame, run)

        for rule in state["Choices"]:
            try:
                matched = evaluate_rule(rule, read)
            except ChoicePathError as exc:
                raise state_failure(run, exc.cause) from None
            if matched:
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
            instant = parse_timestamp(value)
            if instant is None:  # only JSONata can give one: the definition's value is checked
                raise self._query_failure(
                    run,
                    "The Timestamp field cannot be parsed as an ISO-8601 extended offset "
                    f"date-time format string: {as_text(value)}",
                    "Timestamp",
                )
            return max(0.0, instant.timestamp() - since)
        if "TimestampPath" in state:
            path = state["TimestampPath"]
            value = self._read_path(path, data, frame, run)
            instant = parse_timestamp(value)
            if instant is None:
                raise state_failure(
                    run,
                    "The TimestampPath parameter does not reference a valid ISO-8601 extended "
                    f"offset date-time format string: {path} == {as_text(value)}",
                )
            return max(0.0, instant.timestamp() - since)
        seconds = self._integer(state, "Seconds", data, frame, run, minimum=0)
        return float(seconds or 0)

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
                    raise self._query_failure(
                        run, f"The {name} field must give a string, got {dumps(value)}", name
                    )
            return str(value)
        path = state.get(f"{name}Path")
        if path is None:
            return ""
        try:
            value = self._expression(path, raw, frame, run)
        except PathNotFoundError:
            raise self._missing_path(run, path, f"{name}Path", raw) from None
        if not isinstance(value, str):
            raise state_failure(
                run, f"The {name}Path field must give a string, got {dumps(value)}: {path}"
            )
        return value
