"""The hub: executions as greenlets on one thread, suspended (not blocking it) while they wait."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from bakusoku.workflow.hub import Hub, blocking, current_hub
from bakusoku.workflow.tables import executions
from bakusoku.workflow.writer import GroupWriter

from .conftest import EngineFactory, fn_arn


@pytest.fixture
def hubs() -> Iterator[Callable[..., Hub]]:
    made: list[Hub] = []

    def make(max_running: int = 8, **kwargs: Any) -> Hub:
        hub = Hub(max_running, **kwargs)
        made.append(hub)
        return hub

    yield make
    for hub in made:
        hub.stop()


def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.001)


def test_outside_a_hub_blocking_is_a_plain_call() -> None:
    assert current_hub() is None
    assert blocking(threading.get_ident) == threading.get_ident()


def test_greenlets_that_wait_do_not_hold_the_hubs_thread(hubs: Callable[..., Hub]) -> None:
    # Ten functions each wait for all ten to be waiting: only possible if a waiting one hands
    # the thread on to the next.
    hub = hubs(10)
    barrier = threading.Barrier(10, timeout=5)
    threads: list[int] = []
    done: list[int] = []

    def body(index: int) -> None:
        threads.append(threading.get_ident())
        blocking(barrier.wait)
        done.append(index)

    for index in range(10):
        hub.spawn(body, index)
    hub.start()
    wait_until(lambda: len(done) == 10)
    assert len(set(threads)) == 1  # all ran on the hub's thread
    assert threads[0] != threading.get_ident()


def test_at_most_max_running_run_at_once_and_the_rest_follow(hubs: Callable[..., Hub]) -> None:
    hub = hubs(2)
    hub.start()
    release = threading.Event()
    started: list[int] = []
    ended: list[int] = []

    def body(index: int) -> None:
        started.append(index)
        blocking(lambda: release.wait(5))
        ended.append(index)

    for index in range(5):
        hub.spawn(body, index)
    wait_until(lambda: len(started) == 2)
    time.sleep(0.05)
    assert started == [0, 1]
    release.set()
    wait_until(lambda: len(ended) == 5)
    assert sorted(started) == [0, 1, 2, 3, 4]


def test_an_error_of_a_blocking_call_is_raised_in_its_greenlet(hubs: Callable[..., Hub]) -> None:
    hub = hubs()
    hub.start()
    caught: list[BaseException] = []

    def fail() -> None:
        raise ValueError("disk full")

    def body() -> None:
        try:
            blocking(fail)
        except ValueError as exc:
            caught.append(exc)

    hub.spawn(body)
    wait_until(lambda: bool(caught))
    assert str(caught[0]) == "disk full"


def test_a_quiesced_hub_refuses_new_calls_once_ready_greenlets_have_run(
    hubs: Callable[..., Hub],
) -> None:
    hub = hubs()
    hub.start()
    in_first_call = threading.Event()
    first_call = threading.Event()
    outcome: list[str] = []

    def first() -> None:
        in_first_call.set()
        first_call.wait(5)  # returns after quiesce began

    def body() -> None:
        blocking(first)
        outcome.append("ran on")
        try:
            blocking(lambda: outcome.append("second call"))
        except LookupError:
            outcome.append("refused")

    hub.spawn(body)
    assert in_first_call.wait(5)
    threading.Timer(0.05, first_call.set).start()
    assert hub.quiesce(lambda: LookupError("stopping"), timeout=5)
    wait_until(lambda: len(outcome) == 2)
    assert outcome == ["ran on", "refused"]


def test_the_writes_of_ready_greenlets_share_one_transaction(
    db: sa.Engine, hubs: Callable[..., Hub]
) -> None:
    writer = GroupWriter(db)
    hub = hubs(30, after_run=writer.lead_pending)
    commits: list[int] = []
    sa.event.listen(db, "commit", lambda _conn: commits.append(1))
    written: list[int] = []

    def body(index: int) -> None:
        row = {
            "name": f"e-{index}",
            "state_machine": "m",
            "status": "RUNNING",
            "input": {},
            "started_at": time.time(),
            "redrive_count": 0,
        }
        written.append(writer.run(lambda conn: conn.execute(executions.insert(), row).rowcount))

    for index in range(30):
        hub.spawn(body, index)
    hub.start()  # the first round runs all thirty to their write
    wait_until(lambda: len(written) == 30)
    assert written == [1] * 30
    assert len(commits) == 1
    with db.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(executions)).scalar() == 30


def test_a_long_task_holds_up_no_other_execution(make_engine: EngineFactory) -> None:
    release = threading.Event()
    engine = make_engine(
        {
            fn_arn("slow"): lambda event: release.wait(10) and event,
            fn_arn("fast"): lambda event: event,
        }
    )
    for name in ("slow", "fast"):
        engine.register_state_machine(
            name,
            {
                "StartAt": "T",
                "States": {"T": {"Type": "Task", "Resource": fn_arn(name), "End": True}},
            },
        )
    engine.start()
    engine.start_execution(engine.state_machine_arn("slow"), {"n": 1}, name="slow-1")
    engine.start_execution(engine.state_machine_arn("fast"), {"n": 2}, name="fast-1")
    assert engine.wait_for("fast-1", timeout=5).output == {"n": 2}
    assert engine.describe_execution("slow-1").status == "RUNNING"
    release.set()
    assert engine.wait_for("slow-1", timeout=5).output == {"n": 1}
