"""The map shipped with the code: ``bakusoku package`` writes it into the bundle, the API reads it.

On AWS the API function cannot build the template (the packaging tool is not in Lambda), so the
map read from that template at packaging time travels in the bundle, beside the ``bakusoku``
package, and the API serves it as ``bakusoku up`` serves the one it reads at start.
"""

from __future__ import annotations

import json
from pathlib import Path

import bakusoku
from bakusoku.graph.model import SystemGraph

MAP_FILE = "bakusoku-system-map.json"


def write_map(bundle_root: Path, graph: SystemGraph) -> Path:
    """Write ``graph`` into the bundle whose root holds the ``bakusoku`` package."""
    path = bundle_root / MAP_FILE
    path.write_text(json.dumps(graph.to_json(), indent=1, sort_keys=True))
    return path


def bundled_map(bundle_root: Path | None = None) -> SystemGraph | None:
    """The map shipped beside this ``bakusoku`` package; None outside a bundle (a checkout)."""
    root = bundle_root or Path(bakusoku.__file__).resolve().parent.parent
    path = root / MAP_FILE
    if not path.is_file():
        return None
    return SystemGraph.from_json(json.loads(path.read_text()))
