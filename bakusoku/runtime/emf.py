"""Counters as CloudWatch embedded metric format (EMF) lines on standard output.

In Lambda a line of this shape becomes a CloudWatch metric with no API call (the logs agent
extracts it); under ``bakusoku up`` it is one line of the function's log, as the same line is in
its log group on AWS. Values are counts; the dimensions name the deployment.
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
from collections.abc import Mapping

NAMESPACE = "Bakusoku"


def emf_line(
    name: str, dimensions: Mapping[str, str], value: float = 1, *, now: float | None = None
) -> str:
    """One EMF document: metric ``name`` (a Count) with ``dimensions`` as its one dimension set."""
    stamp = int((time.time() if now is None else now) * 1000)
    return json.dumps(
        {
            "_aws": {
                "Timestamp": stamp,
                "CloudWatchMetrics": [
                    {
                        "Namespace": NAMESPACE,
                        "Dimensions": [sorted(dimensions)],
                        "Metrics": [{"Name": name, "Unit": "Count"}],
                    }
                ],
            },
            **dimensions,
            name: value,
        },
        separators=(",", ":"),
    )


def count(name: str, dimensions: Mapping[str, str], value: float = 1) -> None:
    """Write one EMF line to standard output (never raises: a metric must not fail its caller)."""
    # Standard output closed: the log line that goes with the metric still says what happened.
    with contextlib.suppress(OSError, ValueError):
        print(emf_line(name, dimensions, value), file=sys.stdout, flush=True)
