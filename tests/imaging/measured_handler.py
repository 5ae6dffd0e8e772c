"""A worker handler for the memory tests: the shipped MakeRenditions, with the peak it caused.

The peak so far (imports, earlier photos) is forgotten just before the photo (``clear_refs``), so
the reported peak is this photo's; the resident memory before and after frames it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bakusoku.pipeline.handlers.make_renditions import handler


def make_renditions(event: dict[str, Any], context: Any) -> dict[str, Any]:
    before = _status_bytes("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")  # 5: reset the peak resident memory (VmHWM)
    output = handler(event, context)
    return {
        "output": output,
        "rss_before": before,
        "peak": _status_bytes("VmHWM"),
        "rss_after": _status_bytes("VmRSS"),
    }


def _status_bytes(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) * 1024
    raise LookupError(f"/proc/self/status has no {field}")
