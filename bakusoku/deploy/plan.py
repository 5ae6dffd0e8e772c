"""What a package would create: resources per type, from the template (no AWS calls)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any


def resources_by_type(template: Mapping[str, Any]) -> dict[str, list[str]]:
    """Logical IDs grouped by resource type, types sorted."""
    grouped: dict[str, list[str]] = defaultdict(list)
    for logical_id, resource in template.get("Resources", {}).items():
        grouped[str(resource.get("Type"))].append(logical_id)
    return dict(sorted(grouped.items()))


def format_plan(title: str, template: Mapping[str, Any]) -> str:
    lines = [title]
    for kind, ids in resources_by_type(template).items():
        lines.append(f"  {kind} ({len(ids)}): {', '.join(ids)}")
    return "\n".join(lines)
