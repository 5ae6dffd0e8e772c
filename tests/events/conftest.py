"""Load recorded AWS event samples by name (tests/events/samples/NAME.json)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

SAMPLES = Path(__file__).parent / "samples"


def load_sample(name: str) -> dict[str, Any]:
    """A fresh copy of a sample, so a test may change it freely."""
    with (SAMPLES / f"{name}.json").open(encoding="utf-8") as sample:
        document: dict[str, Any] = json.load(sample)
    return copy.deepcopy(document)


def sample_names() -> list[str]:
    return sorted(path.stem for path in SAMPLES.glob("*.json"))
