"""State-leak detector: replay an event in a warm and a fresh environment and compare results.

A test tool for handlers, not part of bakusoku: tests use it to show that module-level state
surviving a warm invocation (as it does on Lambda) is caught and named.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from bakusoku.errors import BakusokuError
from bakusoku.runtime.config import FunctionConfig
from bakusoku.runtime.errors import RuntimeErrorBase
from bakusoku.runtime.function_runtime import FunctionRuntime

Normaliser = Callable[[Any], Any]


class StateLeakError(BakusokuError):
    """A function returned something else in a reused environment than in a fresh one.

    Module-level state (a global list, a cache keyed by request data, a counter) survived from an
    earlier invocation, as it does on Lambda. Keep per-request state inside the handler.
    """

    code = "runtime.state_leak"


@dataclass(frozen=True)
class LeakReport:
    """What ``detect_state_leak`` saw: the fresh result, and each replay's in the warm environment."""

    function_name: str
    fresh: Any
    warm: tuple[Any, ...]
    reused_environment: bool

    @property
    def leaked(self) -> bool:
        return any(result != self.fresh for result in self.warm)

    def describe(self) -> str:
        if not self.leaked:
            return (
                f"function {self.function_name!r}: {len(self.warm)} replay(s) in a warm "
                "environment gave the same result as a fresh environment"
            )
        index, differing = next((i, r) for i, r in enumerate(self.warm) if r != self.fresh)
        return (
            f"function {self.function_name!r} leaks state between invocations: replay "
            f"{index + 1} of the same event in a warm environment returned {_short(differing)} "
            f"but a fresh environment returned {_short(self.fresh)}; module-level state from an "
            "earlier invocation changed the result (Lambda reuses environments the same way). "
            "Keep per-request state inside the handler, or reset it at the start of each call."
        )


def detect_state_leak(
    config: FunctionConfig,
    event: Any,
    *,
    replays: int = 1,
    ignore_keys: Iterable[str] = (),
    normalise: Normaliser | None = None,
    environment: Mapping[str, str] | None = None,
    region: str = "us-east-1",
) -> LeakReport:
    """Invoke ``event`` once in a fresh environment, then 1 + ``replays`` times in one warm one.

    Results are compared after dropping ``ignore_keys`` from dict results (request ids, pids,
    timestamps) and applying ``normalise``; an error result compares as its type and message.
    Real worker processes run the handler, exactly as ``FunctionRuntime`` always does.
    """
    if replays < 1:
        raise ValueError("replays must be 1 or more")
    ignored = frozenset(ignore_keys)

    def outcome(runtime: FunctionRuntime) -> Any:
        try:
            result = runtime.invoke(config.name, event)
        except RuntimeErrorBase as exc:
            return {"error": exc.error_type, "message": exc.error_message}
        if isinstance(result, dict):
            result = {k: v for k, v in result.items() if k not in ignored}
        return normalise(result) if normalise is not None else result

    options: dict[str, Any] = {"max_environments": 1, "region": region, "environment": environment}
    with FunctionRuntime([config], **options) as runtime:
        fresh = outcome(runtime)
    with FunctionRuntime([config], **options) as runtime:
        outcome(runtime)  # the earlier invocation whose state may linger
        warm = tuple(outcome(runtime) for _ in range(replays))
        reused = runtime.metrics().functions[config.name].cold_starts == 1
    return LeakReport(config.name, fresh, warm, reused)


def assert_no_state_leak(config: FunctionConfig, event: Any, **options: Any) -> LeakReport:
    """``detect_state_leak``, raising StateLeakError (naming the function) when state leaked."""
    report = detect_state_leak(config, event, **options)
    if report.leaked:
        raise StateLeakError(report.describe())
    return report


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 200 else text[:197] + "..."
