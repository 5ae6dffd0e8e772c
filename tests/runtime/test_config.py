"""FunctionConfig and FunctionRuntime settings are validated the way Lambda validates them."""

from __future__ import annotations

from typing import Any

import pytest

from bakusoku.runtime import FunctionConfig, FunctionConfigError, FunctionRuntime


def test_defaults_are_the_photo_pipelines() -> None:
    config = FunctionConfig("trim", "app.trim.handler")

    assert (config.timeout_seconds, config.memory_mb, config.reserved_concurrency) == (
        10,
        2048,
        None,
    )
    assert dict(config.environment) == {}


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"name": "bad name"}, "function name 'bad name' is invalid"),
        ({"handler": "handler"}, "must be 'module.function'"),
        ({"timeout_seconds": 0}, "timeout_seconds=0 must be above 0"),
        ({"timeout_seconds": 901}, "at most 900"),
        ({"memory_mb": 64}, "memory_mb=64 must be between 128 and 10240"),
        ({"reserved_concurrency": -1}, "must be 0 or more"),
        ({"environment": {"AWS_REGION": "x"}}, "AWS_REGION is reserved by Lambda"),
        ({"environment": {"1BAD": "x"}}, "environment key '1BAD' is invalid"),
        ({"environment": {"PORT": 5432}}, "Lambda environment values are strings"),
    ],
)
def test_invalid_settings_are_refused(settings: dict[str, Any], message: str) -> None:
    values: dict[str, Any] = {"name": "trim", "handler": "app.trim.handler", **settings}

    with pytest.raises(FunctionConfigError, match=message) as caught:
        FunctionConfig(**values)

    assert caught.value.code == "runtime.config_invalid"


def test_environment_is_copied_and_read_only() -> None:
    env = {"STAGE": "dev"}
    config = FunctionConfig("trim", "app.trim.handler", environment=env)
    env["STAGE"] = "prod"

    assert config.environment["STAGE"] == "dev"
    with pytest.raises(TypeError):
        config.environment["STAGE"] = "prod"  # type: ignore[index]


def test_runtime_settings_are_validated() -> None:
    trim = FunctionConfig("trim", "app.trim.handler")
    with pytest.raises(FunctionConfigError, match="configured twice"):
        FunctionRuntime([trim, trim], max_environments=2)
    with pytest.raises(FunctionConfigError, match="max_environments=0"):
        FunctionRuntime([trim], max_environments=0)
