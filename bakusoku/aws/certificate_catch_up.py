"""The certificate catch-up: starts the certificates a failed start left out.

The door (``races.certificate_door``) never fails the results API or read-bibs; a start it could
not make (the engine or Step Functions unreachable) is counted and left to this function. One
function for every door: the schedule of ``bakusoku up`` (``certificate_catch_up_schedule``) and
this module's Lambda handler on AWS, declared as a scheduled function with
``resources: {database: write, certificates: true}`` (docs/races.md).
"""

from __future__ import annotations

import functools
from dataclasses import asdict
from typing import Any

import sqlalchemy as sa

from bakusoku.config import Settings, load_settings
from bakusoku.db.deployment import deployment_engine
from bakusoku.pipeline.certificate_workflow import certificate_door, process_starter
from bakusoku.races.certificate_door import ExecutionStarter


@functools.cache
def _settings() -> Settings:
    return load_settings()


@functools.cache
def _engine() -> sa.Engine:
    return deployment_engine(_settings(), pool_size=1)


def handler(event: Any, context: Any) -> dict[str, int]:
    """A scheduled function: start what is missing; answers the counts."""
    settings = _settings()
    return handler_for(settings, _engine(), process_starter(settings, _engine()))


def handler_for(settings: Settings, engine: sa.Engine, starter: ExecutionStarter) -> dict[str, int]:
    """One run on a deployment's database: ``{"considered", "started", "failed", "redriven"}``."""
    return asdict(certificate_door(settings, engine, starter).catch_up())
