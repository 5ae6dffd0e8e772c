"""docs/architecture.md's layer list and the import contract that scripts/lint enforces are one list."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def documented_layers() -> list[list[str]]:
    """The numbered list under 'Layers' in docs/architecture.md: each item's parts, in order."""
    text = (ROOT / "docs" / "architecture.md").read_text()
    section = text.split("## Layers", 1)[1].split("\n## ", 1)[0]
    items = re.findall(r"^\d+\. (.+?):", section, flags=re.MULTILINE)
    return [re.findall(r"`(\w+)`", item) for item in items]


def contract_layers() -> list[list[str]]:
    """The layers of pyproject.toml's layers contract, each split into its independent parts."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    (contract,) = [c for c in config["contracts"] if c["type"] == "layers"]
    return [
        [part.strip().removeprefix("bakusoku.") for part in layer.split("|")]
        for layer in contract["layers"]
    ]


def test_the_documented_layers_are_the_enforced_contract() -> None:
    assert documented_layers() == contract_layers()


def test_every_part_of_the_package_is_in_a_layer() -> None:
    parts = {
        path.stem if path.is_file() else path.name
        for path in (ROOT / "bakusoku").iterdir()
        if (path.suffix == ".py" and path.stem != "__init__") or (path / "__init__.py").exists()
    }
    layered = {part for layer in contract_layers() for part in layer}
    assert parts == layered
