"""Fixtures for runtime tests: a FunctionRuntime that is always closed, and process checks."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from bakusoku.runtime import FunctionConfig, FunctionRuntime

SAMPLE = "tests.runtime.handlers.sample"

RuntimeFactory = Callable[..., FunctionRuntime]


def fn(name: str, handler: str | None = None, **settings: Any) -> FunctionConfig:
    """A FunctionConfig whose handler defaults to the sample module's function of the same name."""
    return FunctionConfig(name=name, handler=handler or f"{SAMPLE}.{name}", **settings)


def process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.01)


@pytest.fixture
def make_runtime() -> Iterator[RuntimeFactory]:
    created: list[FunctionRuntime] = []

    def factory(*functions: FunctionConfig, **options: Any) -> FunctionRuntime:
        options.setdefault("max_environments", 4)
        runtime = FunctionRuntime(functions, **options)
        created.append(runtime)
        return runtime

    yield factory
    for runtime in created:
        runtime.close()
