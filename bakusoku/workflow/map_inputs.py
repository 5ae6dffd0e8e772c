"""What a Map state iterates over: its items, batches and tolerated failures.

``MapInputs`` reads the items (``ItemsPath`` or JSONata ``Items``), groups them as ``ItemBatcher``
says, and reads ``ToleratedFailurePercentage[Path]``; ``Tolerance`` decides whether the failed
iterations so far fail the Map state. The fan-out itself is in fanout_states.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bakusoku.workflow.dataflow import DataFlow
from bakusoku.workflow.errors import STATES_QUERY_EVALUATION_ERROR, STATES_RUNTIME
from bakusoku.workflow.frames import Frame, StateRun, as_text, dumps, state_failure
from bakusoku.workflow.jsonata_eval import expression_body, is_expression, json_type


class MapInputs(DataFlow):
    """The items, batches and failure tolerance of a Map state."""

    def _map_items(
        self, state: Mapping[str, Any], data: Any, frame: Frame, run: StateRun, jsonata: bool
    ) -> list[Any]:
        if jsonata:
            items = (
                self._value(state, "Items", self._bindings(frame, run, data), run)
                if "Items" in state
                else data
            )
        else:
            items = self._read_path(state.get("ItemsPath", "$"), data, frame, run)
        if isinstance(items, list):
            return items
        if not jsonata:
            raise state_failure(run, f"Map state input must be an array but was: {dumps(items)}")
        # Step Functions gives the EvaluationFailed event of a Map's items the entered event's
        # previous event, and blames the expression that gave something else.
        previous = run.entered_previous_event_id
        if is_expression(state.get("Items")):
            raise self._query_failure(
                run,
                f"The JSONata expression '{expression_body(state['Items'])}' specified for the "
                f"field 'Items' returned an unexpected result type. Expected 'array', but was "
                f"'{json_type(items)}' for value: {dumps(items)}",
                "Items",
                previous=previous,
            )
        raise self._query_failure(
            run,
            f"Map state input must be an array but was: {dumps(items)}",
            None,
            previous=previous,
        )

    def _percentage(
        self, state: Mapping[str, Any], data: Any, frame: Frame, run: StateRun
    ) -> float | None:
        name = "ToleratedFailurePercentage"
        value = state.get(name)
        error = STATES_RUNTIME
        if is_expression(value):
            value = self._value(state, name, self._bindings(frame, run, data), run)
            error = STATES_QUERY_EVALUATION_ERROR
        elif f"{name}Path" in state:
            path = state[f"{name}Path"]
            value = self._read_path(path, data, frame, run)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int | float)
            ):
                raise state_failure(
                    run,
                    f'The {name}Path field refers to value "{as_text(value)}" which is not a '
                    f"valid float: {path}",
                )
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 100:
            if error == STATES_QUERY_EVALUATION_ERROR:
                raise self._query_failure(run, f"{name} must be between 0 and 100.", name)
            raise state_failure(run, f"{name} must be between 0 and 100.", error)
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
                self._jsonata(batch_input, self._bindings(frame, run, data), where, run)
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


@dataclass
class Tolerance:
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
