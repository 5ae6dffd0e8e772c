"""JsonPath: where a value sits in an event, written as a jq filter, for error messages.

Events nest documents inside strings (an SQS ``body`` holding SNS's notification, whose
``Message`` holds the S3 notification), so a plain dotted path cannot say where a field is. A jq
filter can: ``.Records[0].body | fromjson | .Message | fromjson | .Records[0].s3.object.key``
names the field exactly, and pasted into ``jq`` it reads that field out of the event as received.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

# Names jq accepts after a dot; any other name is written as a quoted index, ["x-amz-version-id"].
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class JsonPath:
    """An immutable jq path; each step returns a longer one. ``str()`` gives the filter text."""

    stages: tuple[str, ...] = ()  # finished stages of the filter, joined by " | "
    current: str = ""  # the stage being written; "" at the start of a stage

    def key(self, name: str) -> JsonPath:
        """The member ``name`` of the object here."""
        if _IDENTIFIER.fullmatch(name):
            step = f".{name}"
        else:
            step = f"[{json.dumps(name)}]" if self.current else f".[{json.dumps(name)}]"
        return JsonPath(self.stages, self.current + step)

    def keys(self, *names: str) -> JsonPath:
        """Several members deep: ``keys("s3", "object", "key")``."""
        path = self
        for name in names:
            path = path.key(name)
        return path

    def index(self, position: int) -> JsonPath:
        """The item at ``position`` of the array here."""
        step = f"[{position}]" if self.current else f".[{position}]"
        return JsonPath(self.stages, self.current + step)

    def then(self, jq_filter: str) -> JsonPath:
        """The string here decoded by ``jq_filter`` (``fromjson``, ``@base64d``)."""
        if self.current or not self.stages:
            return JsonPath((*self.stages, self.current or ".", jq_filter))
        return JsonPath((*self.stages, jq_filter))  # straight after another filter

    @property
    def is_root(self) -> bool:
        """True for the event itself (no step taken)."""
        return not self.stages and not self.current

    def __str__(self) -> str:
        parts = (*self.stages, self.current) if self.current else self.stages
        return " | ".join(parts) or "."


ROOT = JsonPath()
"""The event itself: ``.``."""
