"""Map, Parallel and Wait states run in the interpreter (no database)."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from bakusoku.workflow.errors import StatesError

from .conftest import MemorySink, fn_arn, run_definition


def map_state(**fields: Any) -> dict[str, Any]:
    processor = fields.pop(
        "processor",
        {"StartAt": "Item", "States": {"Item": {"Type": "Pass", "End": True}}},
    )
    return {
        "StartAt": "M",
        "States": {"M": {"Type": "Map", "ItemProcessor": processor, **fields, "End": True}},
    }


def test_map_with_item_selector_and_context() -> None:
    # The developer guide's ItemSelector example.
    definition = map_state(
        ItemsPath="$.detail.shipped",
        ItemSelector={
            "parcel.$": "$$.Map.Item.Value",
            "index.$": "$$.Map.Item.Index",
            "courier.$": "$.delivery-partner",
        },
        ResultPath="$.detail.shipped",
    )
    state_input = {
        "delivery-partner": "UQS",
        "detail": {
            "shipped": [{"prod": "R31", "dest-code": 9511}, {"prod": "S39", "dest-code": 9511}]
        },
    }
    output = run_definition(definition, state_input)
    assert output["detail"]["shipped"] == [
        {"parcel": {"prod": "R31", "dest-code": 9511}, "index": 0, "courier": "UQS"},
        {"parcel": {"prod": "S39", "dest-code": 9511}, "index": 1, "courier": "UQS"},
    ]


def test_legacy_iterator_and_parameters() -> None:
    definition = {
        "StartAt": "M",
        "States": {
            "M": {
                "Type": "Map",
                "Iterator": {
                    "StartAt": "Double",
                    "States": {"Double": {"Type": "Task", "Resource": fn_arn("d"), "End": True}},
                },
                "Parameters": {"n.$": "$$.Map.Item.Value"},
                "End": True,
            }
        },
    }
    sink = MemorySink()
    output = run_definition(definition, [1, 2, 3], {fn_arn("d"): lambda e: e["n"] * 2}, sink=sink)
    assert output == [2, 4, 6]
    assert sink.types[:2] == ["MapStateEntered", "MapStateStarted"]
    assert sink.events[1].details == {"length": 3}
    assert sink.types.count("MapIterationStarted") == 3
    assert sink.types.count("MapIterationSucceeded") == 3
    assert sink.types[-2:] == ["MapStateSucceeded", "MapStateExited"]


def test_map_max_concurrency_is_respected() -> None:
    lock = threading.Lock()
    active = [0]
    peak = [0]

    def work(event: Any) -> Any:
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        time.sleep(0.01)
        with lock:
            active[0] -= 1
        return event

    processor = {
        "StartAt": "W",
        "States": {"W": {"Type": "Task", "Resource": fn_arn("w"), "End": True}},
    }
    definition = map_state(processor=processor, MaxConcurrency=2)
    assert run_definition(definition, list(range(8)), {fn_arn("w"): work}) == list(range(8))
    assert peak[0] <= 2


def test_map_iteration_failure_fails_the_map() -> None:
    def work(event: Any) -> Any:
        if event == 3:
            raise ValueError("three")
        return event

    processor = {
        "StartAt": "W",
        "States": {"W": {"Type": "Task", "Resource": fn_arn("w"), "End": True}},
    }
    sink = MemorySink()
    with pytest.raises(StatesError) as failure:
        run_definition(map_state(processor=processor), [1, 2, 3], {fn_arn("w"): work}, sink=sink)
    assert failure.value.error == "ValueError"
    assert "MapIterationFailed" in sink.types
    assert "MapStateFailed" in sink.types


def test_map_tolerated_failures() -> None:
    def work(event: Any) -> Any:
        if event % 2:
            raise ValueError("odd")
        return event

    processor = {
        "StartAt": "W",
        "States": {"W": {"Type": "Task", "Resource": fn_arn("w"), "End": True}},
    }
    fns = {fn_arn("w"): work}
    output = run_definition(
        map_state(processor=processor, ToleratedFailurePercentage=50), [0, 1, 2, 3], fns
    )
    assert output[0] == 0 and output[1]["Error"] == "ValueError"
    with pytest.raises(StatesError) as failure:
        run_definition(map_state(processor=processor, ToleratedFailureCount=1), [0, 1, 2, 3], fns)
    assert failure.value.error == "States.ExceedToleratedFailureThreshold"


def test_map_item_batcher() -> None:
    definition = map_state(
        ItemBatcher={"MaxItemsPerBatch": 2, "BatchInput": {"job.$": "$.job"}},
        ItemsPath="$.items",
    )
    output = run_definition(definition, {"job": "j1", "items": [1, 2, 3]})
    assert output == [
        {"Items": [1, 2], "BatchInput": {"job": "j1"}},
        {"Items": [3], "BatchInput": {"job": "j1"}},
    ]


def test_map_items_must_be_an_array() -> None:
    with pytest.raises(StatesError) as failure:
        run_definition(map_state(ItemsPath="$.x"), {"x": 5})
    assert failure.value.error == "States.Runtime"


def test_parallel_parameters_and_result_selector() -> None:
    definition = {
        "StartAt": "P",
        "States": {
            "P": {
                "Type": "Parallel",
                "Parameters": {"v.$": "$.value"},
                "Branches": [
                    {
                        "StartAt": "A",
                        "States": {"A": {"Type": "Pass", "InputPath": "$.v", "End": True}},
                    },
                    {"StartAt": "B", "States": {"B": {"Type": "Pass", "Result": "b", "End": True}}},
                ],
                "ResultSelector": {"first.$": "$[0]", "second.$": "$[1]"},
                "ResultPath": "$.out",
                "End": True,
            }
        },
    }
    assert run_definition(definition, {"value": 3}) == {
        "value": 3,
        "out": {"first": 3, "second": "b"},
    }


def test_parallel_branch_fail_state_is_catchable_and_retried() -> None:
    definition = {
        "StartAt": "P",
        "States": {
            "P": {
                "Type": "Parallel",
                "Branches": [
                    {
                        "StartAt": "F",
                        "States": {"F": {"Type": "Fail", "Error": "Custom", "Cause": "c"}},
                    }
                ],
                "Retry": [{"ErrorEquals": ["Custom"], "MaxAttempts": 1}],
                "Catch": [{"ErrorEquals": ["Custom"], "Next": "Caught"}],
                "End": True,
            },
            "Caught": {"Type": "Pass", "End": True},
        },
    }
    sink = MemorySink()
    assert run_definition(definition, {}, sink=sink) == {"Error": "Custom", "Cause": "c"}
    assert sink.types.count("ParallelStateStarted") == 2
    assert sink.types.count("ParallelStateFailed") == 2


def test_a_retried_map_records_map_state_failed_only_for_the_failure_that_stays() -> None:
    # Recorded on AWS: each retry starts again with MapStateStarted (no new entered event); the
    # attempts that are retried record no MapStateFailed, the last one does.
    iteration = {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "E", "Cause": "c"}}}
    definition = {
        "StartAt": "M",
        "States": {
            "M": {
                "Type": "Map",
                "ItemProcessor": iteration,
                "Retry": [{"ErrorEquals": ["E"], "MaxAttempts": 2}],
                "Catch": [{"ErrorEquals": ["E"], "Next": "Caught"}],
                "End": True,
            },
            "Caught": {"Type": "Pass", "End": True},
        },
    }
    sink = MemorySink()
    assert run_definition(definition, [1], sink=sink) == {"Error": "E", "Cause": "c"}
    map_events = [t for t in sink.types if t.startswith("Map") and not t.startswith("MapIter")]
    assert map_events == [
        "MapStateEntered",
        "MapStateStarted",
        "MapStateStarted",
        "MapStateStarted",
        "MapStateFailed",
        "MapStateExited",
    ]


@pytest.mark.parametrize(
    ("fields", "state_input"),
    [
        ({"Seconds": 5}, {}),
        ({"SecondsPath": "$.s"}, {"s": 5}),
        ({"Timestamp": "2016-03-14T01:59:00Z"}, {}),
        ({"TimestampPath": "$.t"}, {"t": "2016-03-14T01:59:00Z"}),
    ],
)
def test_wait_forms(fields: dict[str, Any], state_input: Any) -> None:
    definition = {"StartAt": "W", "States": {"W": {"Type": "Wait", **fields, "End": True}}}
    sink = MemorySink()
    assert run_definition(definition, state_input, sink=sink) == state_input
    assert sink.types == ["WaitStateEntered", "WaitStateExited"]


def test_wait_seconds_path_must_be_a_number() -> None:
    definition = {
        "StartAt": "W",
        "States": {"W": {"Type": "Wait", "SecondsPath": "$.s", "End": True}},
    }
    with pytest.raises(StatesError) as failure:
        run_definition(definition, {"s": "soon"})
    assert failure.value.error == "States.Runtime"


def test_fail_state_with_intrinsic_cause() -> None:
    definition = {
        "StartAt": "F",
        "States": {
            "F": {
                "Type": "Fail",
                "ErrorPath": "$.code",
                "CausePath": "States.Format('photo {} failed', $.id)",
            }
        },
    }
    with pytest.raises(StatesError) as failure:
        run_definition(definition, {"code": "image.corrupt", "id": "p1"})
    assert (failure.value.error, failure.value.cause) == ("image.corrupt", "photo p1 failed")
