"""Declared functions: what the configuration may say, and what each mistake is told."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from bakusoku.config import ConfigError, Settings, load_settings
from bakusoku.pipeline.declared import (
    BucketGrant,
    HttpEvent,
    ObjectEvent,
    Resources,
    ScheduleEvent,
    declared_functions,
)
from bakusoku.pipeline.functions import FUNCTION_NAMES, runtime_functions, sized_functions

EXAMPLE = Path(__file__).resolve().parents[2] / "bakusoku.example.yml"


def _settings(tmp_path: Path, functions: dict[str, Any], **more: Any) -> Settings:
    path = tmp_path / "bakusoku.yml"
    path.write_text(yaml.safe_dump({"functions": functions, **more}))
    return load_settings(config_file=path, environ={})


def _one(**block: Any) -> dict[str, Any]:
    return {"report": {"handler": "reports.nightly.handler", **block}}


def test_a_full_declaration_is_read(tmp_path: Path) -> None:
    settings = _settings(
        tmp_path,
        _one(
            events=[
                {"schedule": "rate(1 hour)"},
                {"http": "POST /v1/reports/{name+}"},
                {"object": {"prefix": "imports/"}},
            ],
            memory_mb=512,
            timeout_seconds=60,
            reserved_concurrency=1,
            environment={"TOP": "5"},
            resources={
                "database": "read",
                "slack": True,
                "secrets": ["arn:aws:secretsmanager:eu-west-1:123456789012:secret:x-AbCd"],
                "bucket": [{"prefix": "reports/", "access": "write"}],
            },
        ),
    )
    (function,) = declared_functions(settings, FUNCTION_NAMES)
    assert function.events == (
        ScheduleEvent("rate(1 hour)"),
        HttpEvent("POST", "/v1/reports/{name+}"),
        ObjectEvent("imports/"),
    )
    assert function.resources == Resources(
        database="read",
        buckets=(BucketGrant("reports/", "write"),),
        secrets=("arn:aws:secretsmanager:eu-west-1:123456789012:secret:x-AbCd",),
        slack=True,
    )
    # It joins the function table, sized as declared, and runs with its own environment.
    sized = sized_functions(settings)
    assert (sized["report"].memory_mb, sized["report"].timeout_seconds) == (512, 60)
    assert sized["report"].reserved_concurrency == 1
    (config,) = [c for c in runtime_functions(settings, {}) if c.name == "report"]
    assert config.environment["TOP"] == "5"
    assert "BAKUSOKU_SLACK_WEBHOOK_URL" in config.environment  # resources.slack, and only here
    assert all(
        "BAKUSOKU_SLACK_WEBHOOK_URL" not in c.environment
        for c in runtime_functions(settings, {})
        if c.name != "report"
    )


def test_the_example_declares_the_slow_query_report() -> None:
    settings = load_settings(config_file=EXAMPLE, environ={})
    (function,) = declared_functions(settings, FUNCTION_NAMES)
    assert function.handler == "bakusoku.ops.slow_queries.handler"
    assert function.events == (ScheduleEvent("rate(1 hour)"),)
    assert function.resources == Resources(database="read", slack=True)


def test_a_stage_may_resize_and_reserve_a_declared_function(tmp_path: Path) -> None:
    secret = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCd"
    services = {
        "svc": {
            "defaults": {"database_secret_arn": secret, "slack_webhook_secret_arn": secret},
            "stages": {
                "prod": {
                    "reserved_concurrency": {"default": 9},
                    "functions": {"report": {"memory_mb": 1024}},
                },
                "big": {"reserved_concurrency": {"report": 4}},
            },
        }
    }
    settings = _settings(
        tmp_path,
        _one(events=[{"schedule": "rate(5 minutes)"}], reserved_concurrency=1),
        services=services,
    )
    prod = sized_functions(settings, service="svc", stage="prod", environ={})
    assert prod["report"].memory_mb == 1024
    assert prod["report"].reserved_concurrency == 1  # its own, not the stage's default
    assert prod["store-photo"].reserved_concurrency == 9
    big = sized_functions(settings, service="svc", stage="big", environ={})
    assert big["report"].reserved_concurrency == 4  # the stage names it: the stage wins


@pytest.mark.parametrize(
    ("block", "message"),
    [
        ({"handler": "x.handler", "events": [{"schedule": "rate(1 hour)"}], "memroy_mb": 1},
         r"unknown keys \['memroy_mb'\]"),
        ({"handler": "handler", "events": [{"schedule": "rate(1 hour)"}]},
         "must be 'package.module.function'"),
        ({"handler": "x.handler", "events": "rate(1 hour)"}, "events must be a list"),
        ({"handler": "x.handler", "events": [{"schedule": "rate(1 hours)"}]},
         "singular unit for 1"),
        ({"handler": "x.handler", "events": [{"schedule": "cron(0 3 * * *)"}]},
         "six fields"),
        ({"handler": "x.handler", "events": [{"schedule": "every hour"}]},
         "neither rate"),
        ({"handler": "x.handler", "events": [{"queue": "q"}]}, "unknown source 'queue'"),
        ({"handler": "x.handler", "events": [{"http": "FETCH /x"}]}, "'METHOD /path'"),
        ({"handler": "x.handler", "events": [{"http": "GET /{rest+}/x"}]}, "only last"),
        ({"handler": "x.handler", "events": [{"object": {"prefix": "uploads/new/"}}]},
         "overlaps the photo pipeline's upload_prefix"),
        ({"handler": "x.handler", "events": [{"object": {"prefix": "imports"}}]},
         "ending in '/'"),
        ({"handler": "x.handler", "events": [{"schedule": "rate(1 hour)"}],
          "resources": {"database": "admin"}}, "database must be read or write"),
        ({"handler": "x.handler", "events": [{"schedule": "rate(1 hour)"}],
          "resources": {"bucket": [{"prefix": "", "access": "read"}]}},
         "never granted"),
        ({"handler": "x.handler", "events": [{"schedule": "rate(1 hour)"}],
          "resources": {"network": True}}, r"unknown keys \['network'\]"),
        ({"handler": "x.handler", "events": [{"schedule": "rate(1 hour)"}],
          "resources": {"secrets": ["my-secret"]}}, "Secrets Manager ARNs"),
        ({"handler": "x.handler", "events": [{"object": {"prefix": "in/"}}],
          "resources": {"bucket": [{"prefix": "in/done/", "access": "write"}]}},
         "would trigger it again"),
        ({"handler": "x.handler", "events": [{"schedule": "rate(1 hour)"}], "memory_mb": 64},
         "memory_mb must be a whole number from 128"),
        ({"handler": "x.handler", "events": [{"schedule": "rate(1 hour)"}],
          "environment": {"BAKUSOKU_STAGE": "x"}}, "may not set BAKUSOKU_"),
        ({"handler": "x.handler", "events": [{"schedule": "rate(1 hour)"}],
          "environment": {"AWS_REGION": "x"}}, "reserved by Lambda"),
    ],
)  # fmt: skip
def test_each_mistake_names_its_key(tmp_path: Path, block: dict[str, Any], message: str) -> None:
    settings = _settings(tmp_path, {"report": block})
    with pytest.raises(ConfigError, match=message) as caught:
        declared_functions(settings, FUNCTION_NAMES)
    assert "functions.report" in caught.value.message


def test_bakusoku_s_own_functions_keep_their_handlers(tmp_path: Path) -> None:
    settings = _settings(tmp_path, {"store-photo": {"handler": "mine.handler", "events": []}})
    with pytest.raises(ConfigError, match="one of bakusoku's own functions"):
        declared_functions(settings, FUNCTION_NAMES)


def test_a_route_has_one_function(tmp_path: Path) -> None:
    route = [{"http": "GET /v1/x"}]
    settings = _settings(
        tmp_path,
        {"a": {"handler": "m.a", "events": route}, "b": {"handler": "m.b", "events": route}},
    )
    with pytest.raises(ConfigError, match="both declare the route 'GET /v1/x'"):
        declared_functions(settings, FUNCTION_NAMES)


def test_a_name_must_fit_the_stack_s_function_names(tmp_path: Path) -> None:
    settings = _settings(
        tmp_path, {"Nightly_Report": {"handler": "m.h", "events": [{"schedule": "rate(1 day)"}]}}
    )
    with pytest.raises(ConfigError, match="lowercase letters"):
        declared_functions(settings, FUNCTION_NAMES)
