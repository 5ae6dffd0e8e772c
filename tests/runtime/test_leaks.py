"""The state-leak detector catches module state that survives between warm invocations."""

from __future__ import annotations

import pytest

from bakusoku.runtime import FunctionConfig
from tests.runtime.conftest import RuntimeFactory
from tests.runtime.leaks import StateLeakError, assert_no_state_leak, detect_state_leak

LEAKY = "tests.runtime.handlers.leaky"
EVENT = {"key": "IMG_0001"}


def test_module_level_list_grows_across_warm_invocations(make_runtime: RuntimeFactory) -> None:
    runtime = make_runtime(FunctionConfig(name="thumbs", handler=f"{LEAKY}.buggy"))

    first = runtime.invoke("thumbs", EVENT)
    second = runtime.invoke("thumbs", {"key": "IMG_0002"})

    # The second photo's result carries the first photo's rendition: the bug, reproduced.
    assert first["renditions"] == ["IMG_0001.thumb.jpg"]
    assert second["renditions"] == ["IMG_0001.thumb.jpg", "IMG_0002.thumb.jpg"]
    assert runtime.metrics().functions["thumbs"].cold_starts == 1


def test_detector_catches_the_leak_and_names_the_function() -> None:
    config = FunctionConfig(name="thumbs", handler=f"{LEAKY}.buggy")

    report = detect_state_leak(config, EVENT, ignore_keys=["request"])

    assert report.leaked
    assert report.reused_environment
    assert report.fresh == {"renditions": ["IMG_0001.thumb.jpg"]}
    assert report.warm == ({"renditions": ["IMG_0001.thumb.jpg", "IMG_0001.thumb.jpg"]},)
    with pytest.raises(StateLeakError, match="function 'thumbs' leaks state") as caught:
        assert_no_state_leak(config, EVENT, ignore_keys=["request"])
    assert caught.value.code == "runtime.state_leak"
    assert "module-level state" in str(caught.value)


def test_detector_passes_a_handler_without_module_state() -> None:
    config = FunctionConfig(name="thumbs", handler=f"{LEAKY}.fixed")

    report = assert_no_state_leak(config, EVENT, ignore_keys=["request"], replays=2)

    assert not report.leaked
    assert len(report.warm) == 2
    assert "same result" in report.describe()


def test_unignored_request_ids_differ_by_design() -> None:
    # Every invocation has its own aws_request_id: results that echo it must ignore it.
    config = FunctionConfig(name="thumbs", handler=f"{LEAKY}.fixed")

    assert detect_state_leak(config, EVENT).leaked
