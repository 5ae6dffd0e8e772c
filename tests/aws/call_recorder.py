"""A botocore client plugin that records every AWS call a Lambda function's clients make.

The function's execution environment loads it through botocore's client-plugin setting
(``BOTOCORE_EXPERIMENTAL__PLUGINS=calls=tests.aws.call_recorder``), so every client the handler
creates, with whatever session, gets one ``before-parameter-build`` handler registered through
botocore's event system; nothing of bakusoku is patched. Each call (presigned URLs included: they
are calls made later by whoever holds the URL, with the signer's rights) is appended as one JSON
line to ``$BAKUSOKU_TEST_AWS_CALLS/<function>.jsonl``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

PLUGIN_VARIABLE = "BOTOCORE_EXPERIMENTAL__PLUGINS"
PLUGIN_VALUE = "calls=tests.aws.call_recorder"
LOG_DIR_VARIABLE = "BAKUSOKU_TEST_AWS_CALLS"


def initialize_client_plugin(client: Any) -> None:
    """botocore calls this for each new client when the plugin setting names this module."""
    region = client.meta.region_name

    def record(params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        _record(params, model, context, region)

    client.meta.events.register("before-parameter-build", record)


def _recorded(value: Any) -> bool:
    """Scalars, and maps of strings (tags, which condition keys read); never image bytes."""
    if isinstance(value, dict):
        return all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())
    return isinstance(value, str | int | bool)


def _record(params: dict[str, Any], model: Any, context: dict[str, Any], region: str) -> None:
    directory = os.environ.get(LOG_DIR_VARIABLE)
    if not directory:
        return
    function = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "unknown")
    line = json.dumps(
        {
            "function": function,
            "service": model.service_model.service_name,
            "operation": model.name,
            "region": region,
            "params": {k: v for k, v in params.items() if _recorded(v)},
            "presigned": bool(context.get("is_presign_request")),
        }
    )
    with (Path(directory) / f"{function}.jsonl").open("a") as log:
        log.write(line + "\n")


def recorded_calls(directory: Path) -> list[dict[str, Any]]:
    """Every call recorded under ``directory``, file by file."""
    return [
        json.loads(line)
        for path in sorted(directory.glob("*.jsonl"))
        for line in path.read_text().splitlines()
        if line
    ]
