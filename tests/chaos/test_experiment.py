"""The experiment format: built-ins, files of one's own, and the numbers a run may change."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from bakusoku.chaos.experiment import (
    ExperimentError,
    builtin_names,
    load_experiment,
    parse_experiment,
)
from bakusoku.faults import KINDS


def test_there_is_a_built_in_experiment_for_every_kind_of_fault() -> None:
    kinds = set()
    for name in builtin_names():
        experiment = load_experiment(name)
        assert experiment.name == name and experiment.title and experiment.description
        kinds |= {a.fault["kind"] for a in experiment.method if a.fault}
    assert kinds == set(KINDS)


def _document() -> dict[str, Any]:
    return {
        "title": "slow store and a throttle",
        "steady-state-hypothesis": {
            "title": "photos keep coming",
            "probe": {"photos": 4, "final_within_seconds": 20, "max_failure_percent": 25},
        },
        "method": [
            {"name": "slow", "fault": {"kind": "store.slow", "duration_seconds": 4}},
            {"name": "wait", "pause_seconds": 1},
            {"name": "throttle", "fault": {"kind": "function.throttle", "duration_seconds": 2}},
        ],
        "rollbacks": [{"name": "everything", "end_faults": "all"}],
    }


def test_a_file_of_ones_own_is_read(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump(_document()))
    experiment = load_experiment(str(path))
    assert experiment.name == "mine"
    assert experiment.hypothesis.photos == 4
    assert experiment.hypothesis.max_failure_percent == 25
    assert [a.name for a in experiment.method] == ["slow", "wait", "throttle"]
    assert experiment.rollbacks[0].end_faults == "all"


def test_overrides_change_every_fault_and_pause_and_the_probe() -> None:
    experiment = parse_experiment(_document()).with_overrides(
        fault_seconds=2, photos=1, final_within_seconds=5, duration_seconds=30
    )
    assert [a.fault["duration_seconds"] for a in experiment.method if a.fault] == [2, 2]
    assert [a.pause_seconds for a in experiment.method if not a.fault] == [2]
    assert (experiment.hypothesis.photos, experiment.hypothesis.final_within_seconds) == (1, 5)
    assert experiment.duration_seconds == 30


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (lambda d: d.pop("method"), "method"),
        (lambda d: d.update(method=[]), "method is empty"),
        (lambda d: d["method"][0]["fault"].update(kind="disk.full"), "disk.full"),
        (lambda d: d["method"][0]["fault"].pop("duration_seconds"), "duration_seconds"),
        (lambda d: d["method"][1].update(fault={"kind": "db.cut"}), "either fault or pause"),
        (lambda d: d["steady-state-hypothesis"]["probe"].update(photos=0), "probe.photos"),
        (lambda d: d["steady-state-hypothesis"]["probe"].update(speed=1), "unknown keys"),
        (lambda d: d["rollbacks"][0].update(end_faults="some"), "injected or all"),
        (lambda d: d.update(duration_seconds="long"), "duration_seconds"),
    ],
)
def test_a_wrong_experiment_names_what_to_fix(change: Any, named: str) -> None:
    document = _document()
    change(document)
    with pytest.raises(ExperimentError, match=named):
        parse_experiment(document)


def test_an_unknown_name_lists_the_built_ins() -> None:
    with pytest.raises(ExperimentError, match="db-cut"):
        load_experiment("no-such-experiment")
