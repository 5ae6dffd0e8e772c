"""The faults in force, shared through the data directory: each one ends by itself."""

from __future__ import annotations

from pathlib import Path

import pytest

from bakusoku.config import load_settings
from bakusoku.faults import KINDS, FaultControl, FaultError, fault_control


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_a_fault_written_by_one_process_is_read_by_another_until_it_expires(tmp_path: Path) -> None:
    clock = Clock()
    writer = FaultControl(tmp_path, clock=clock)
    reader = FaultControl(tmp_path, clock=clock)  # another process of the deployment
    fault = writer.inject("db.cut", 5)
    assert [f.id for f in reader.faults()] == [fault.id]
    assert reader.hit("db.cut") == fault
    assert reader.hit("db.slow") is None
    clock.now += 5  # its lease ran out: nobody removed it
    assert reader.faults() == []
    assert reader.hit("db.cut") is None


def test_remove_and_clear_end_faults_now(tmp_path: Path) -> None:
    control = FaultControl(tmp_path)
    first = control.inject("store.fail", 60)
    second = control.inject("store.slow", 60, latency_ms=20)
    assert control.remove(first.id) is True
    assert control.remove(first.id) is False
    assert [f.id for f in control.faults()] == [second.id]
    assert control.clear() == 1
    assert control.faults() == []


def test_a_target_and_a_percentage_choose_what_a_fault_hits(tmp_path: Path) -> None:
    rolls = iter([0.10, 0.90])
    control = FaultControl(tmp_path, chance=lambda: next(rolls))
    control.inject("function.throttle", 60, target="make-renditions", percentage=50)
    assert control.hit("function.throttle", "store-photo") is None  # another function
    assert control.hit("function.throttle", "make-renditions") is not None  # 10 < 50
    assert control.hit("function.throttle", "make-renditions") is None  # 90 >= 50


@pytest.mark.parametrize(
    ("kind", "duration", "options", "named"),
    [
        ("disk.full", 5, {}, "kind"),
        ("db.cut", 0, {}, "duration_seconds"),
        ("db.cut", 301, {}, "duration_seconds"),
        ("db.cut", 5, {"percentage": 0}, "percentage"),
        ("db.slow", 5, {"latency_ms": 0}, "latency_ms"),
        ("workers.kill", 5, {"interval_seconds": 0.01}, "interval_seconds"),
        ("function.throttle", 5, {"target": "../x"}, "target"),
    ],
)
def test_a_fault_out_of_bounds_is_refused_and_named(
    tmp_path: Path, kind: str, duration: float, options: dict[str, object], named: str
) -> None:
    control = FaultControl(tmp_path, max_seconds=300)
    with pytest.raises(FaultError, match=named):
        control.inject(kind, duration, **options)  # type: ignore[arg-type]
    assert control.faults() == []


def test_every_kind_can_be_injected(tmp_path: Path) -> None:
    control = FaultControl(tmp_path)
    for kind in KINDS:
        control.inject(kind, 10)
    assert sorted(f.kind for f in control.faults()) == sorted(KINDS)


def test_only_the_embedded_deployment_takes_faults_and_it_can_refuse_them(tmp_path: Path) -> None:
    local = load_settings({"data_dir": tmp_path}, environ={})
    assert fault_control(local) is not None
    assert (
        fault_control(load_settings({"data_dir": tmp_path, "fault_injection": False}, environ={}))
        is None
    )
    assert (
        fault_control(load_settings({"data_dir": tmp_path, "object_store": "s3"}, environ={}))
        is None
    )
