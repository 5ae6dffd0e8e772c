"""Task helper threads: reused when idle, never shared by two calls, gone after idling."""

from __future__ import annotations

import threading
import time

from bakusoku.workflow.taskthreads import TaskThreads


def until(condition: object, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def test_an_idle_helper_runs_the_next_call_and_retires_after_idling() -> None:
    pool = TaskThreads(idle_seconds=0.3)
    threads: list[int] = []
    pool.run(lambda: threads.append(threading.get_ident()))
    until(lambda: pool.idle == 1)
    pool.run(lambda: threads.append(threading.get_ident()))
    until(lambda: len(threads) == 2 and pool.idle == 1)
    assert threads[0] == threads[1]
    until(lambda: pool.idle == 0)  # retired after 0.3 s without work
    pool.run(lambda: threads.append(threading.get_ident()))
    until(lambda: len(threads) == 3)


def test_a_call_that_blocks_keeps_its_helper_and_others_still_run() -> None:
    pool = TaskThreads(idle_seconds=5)
    release = threading.Event()
    ran = threading.Event()
    pool.run(lambda: release.wait(5) and None)
    pool.run(ran.set)
    assert ran.wait(2)
    release.set()
    until(lambda: pool.idle == 2)
