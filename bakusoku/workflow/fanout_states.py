"""Fan-out states: Parallel branches and Map iterations, each on threads of their own.

Branches and iterations run as child frames (their own variables scope, cancel scope and line of
history) on up to MaxConcurrency threads (Map: at most 40, as inline Map in Step Functions); the
execution waits for them through ``blocking`` so that, on the engine's hub, other executions go
on. A failure aborts the siblings unless a Map tolerates it. At the top level each child's success
is reported to the sink, so that a resumed or redriven state runs only the children that had not
succeeded.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bakusoku.workflow.cancel import ABORT, Interrupted
from bakusoku.workflow.definition import JSONATA
from bakusoku.workflow.errors import (
    STATES_EXCEED_TOLERATED_FAILURE,
    STATES_QUERY_EVALUATION_ERROR,
    STATES_RUNTIME,
    StatesError,
)
from bakusoku.workflow.frames import Frame, StateRun, Track
from bakusoku.workflow.hub import blocking
from bakusoku.workflow.map_inputs import MapInputs, Tolerance
from bakusoku.workflow.task_states import RetryingStates

# Inline Map runs at most this many iterations at once, as in Step Functions.
INLINE_MAP_MAX_CONCURRENCY = 40


class FanOutStates(RetryingStates, MapInputs):
    """Parallel and Map."""

    def _run_machine(self, frame: Frame, data: Any, start_at: str | None = None) -> Any:
        """Run a machine in ``frame`` to its end (the dispatch loop, in interpreter.py)."""
        raise NotImplementedError

    def _parallel(
        self, frame: Frame, state: Mapping[str, Any], raw: Any, run: StateRun
    ) -> tuple[Any, str | None]:
        jsonata = self._language(frame, state) == JSONATA

        def attempt() -> tuple[Any, str | None]:
            if jsonata:
                bindings = self._bindings(frame, run, raw)
                branch_input = (
                    self._value(state, "Arguments", bindings, run) if "Arguments" in state else raw
                )
            else:
                effective = self._input_path(state, raw, frame, run)
                branch_input = (
                    self.template(state["Parameters"], effective, frame, run, "Parameters")
                    if "Parameters" in state
                    else effective
                )
            started = self._emit(frame, "ParallelStateStarted", None, run.name)
            jobs = [
                _Job(index, branch, branch_input, Track(started))
                for index, branch in enumerate(state["Branches"])
            ]
            # Branches that succeeded before a restart or redrive are not run again; later
            # retries of the state run every branch, as Step Functions does.
            done, run.done_children = run.done_children or {}, None
            try:
                results = self._run_children(
                    frame, jobs, len(jobs), run, None, done=done, record=frame.top
                )
            except StatesError:
                self._emit(frame, "ParallelStateFailed", None, run.name)
                raise
            self._succeeded(frame, "ParallelStateSucceeded", run)
            return self._finish(frame, state, raw, results, run)

        return self._with_retry(frame, state, raw, run, attempt)

    def _map(
        self, frame: Frame, state: Mapping[str, Any], raw: Any, run: StateRun
    ) -> tuple[Any, str | None]:
        processor = state.get("ItemProcessor") or state["Iterator"]
        jsonata = self._language(frame, state) == JSONATA
        iterations_failed = False  # the last attempt failed in its iterations

        def attempt() -> tuple[Any, str | None]:
            nonlocal iterations_failed
            iterations_failed = False
            try:
                inputs, started, limit, tolerance = prepare()
            except StatesError as exc:
                # A failed JSONata evaluation fails the Map state itself (MapStateFailed after
                # EvaluationFailed), as Step Functions records it.
                if exc.error == STATES_QUERY_EVALUATION_ERROR:
                    self._emit(frame, "MapStateFailed", None, run.name)
                raise
            jobs = [_Job(i, processor, value, Track(started)) for i, value in enumerate(inputs)]
            # Iterations that succeeded before a restart or redrive are not run again.
            done, run.done_children = run.done_children or {}, None
            try:
                results = self._run_children(
                    frame, jobs, limit, run, tolerance, done=done, record=frame.top
                )
            except StatesError:
                # MapStateFailed is recorded once the failure is not retried (``map_failed``).
                iterations_failed = True
                raise
            self._succeeded(frame, "MapStateSucceeded", run)
            return self._finish(frame, state, raw, results, run)

        def prepare() -> tuple[list[Any], int, int, Tolerance]:
            """The iterations' inputs, the MapStateStarted event's id, the limits."""
            effective = raw if jsonata else self._input_path(state, raw, frame, run)
            items = self._map_items(state, effective, frame, run, jsonata)
            selector = state.get("ItemSelector", state.get("Parameters"))
            inputs: list[Any] = []
            for index, item in enumerate(items):
                if selector is None:
                    inputs.append(item)
                    continue
                item_run = StateRun(
                    run.name,
                    run.entered,
                    run.retry_count,
                    retries=run.retries,
                    map_item=(index, item),
                    entered_event_id=run.entered_event_id,
                    track=run.track,
                )
                if jsonata:
                    bindings = self._bindings(frame, item_run, raw)
                    inputs.append(self._jsonata(selector, bindings, "ItemSelector", item_run))
                else:
                    inputs.append(
                        self.template(selector, effective, frame, item_run, "ItemSelector")
                    )
            inputs = self._batch(state, inputs, effective, frame, run, jsonata)
            started = self._emit(frame, "MapStateStarted", {"length": len(inputs)}, run.name)
            limit = self._integer(state, "MaxConcurrency", effective, frame, run, minimum=0)
            if not limit or limit > INLINE_MAP_MAX_CONCURRENCY:
                limit = INLINE_MAP_MAX_CONCURRENCY
            tolerance = Tolerance(
                len(inputs),
                self._integer(state, "ToleratedFailureCount", effective, frame, run, minimum=0),
                self._percentage(state, effective, frame, run),
            )
            return inputs, started, limit, tolerance

        def map_failed(_failure: StatesError) -> None:
            # A retried Map starts again with MapStateStarted, its failed attempts recording no
            # MapStateFailed (recorded on AWS); only the failure that stays records it.
            nonlocal iterations_failed
            if iterations_failed:
                self._emit(frame, "MapStateFailed", None, run.name)
            iterations_failed = False

        return self._with_retry(frame, state, raw, run, attempt, map_failed)

    def _succeeded(self, frame: Frame, event_type: str, run: StateRun) -> None:
        """The state's Succeeded event; its Exited event follows the event before it.

        Step Functions gives a Parallel's or Map's Exited event the last branch or iteration
        event as its previous event, as it does the Succeeded event.
        """
        last = frame.track.last
        self._emit(frame, event_type, None, run.name)
        frame.track.last = last

    def _run_children(
        self,
        frame: Frame,
        jobs: list[_Job],
        limit: int,
        run: StateRun,
        tolerance: Tolerance | None,
        *,
        done: Mapping[int, Any] | None = None,
        record: bool = False,
    ) -> list[Any]:
        """Run branches (tolerance None) or Map iterations on up to ``limit`` threads.

        ``done`` gives outputs of children that need not run again; with ``record``, each
        child's success is reported to the sink so that a resumed run can skip it.
        """
        scope = frame.cancel.child()
        results: list[Any] = [None] * len(jobs)
        for index, output in (done or {}).items():
            if 0 <= index < len(results):
                results[index] = output
        jobs_to_run = [job for job in jobs if job.index not in (done or {})]
        lock = threading.Lock()
        failures: list[StatesError] = []
        next_job = [0]
        is_map = tolerance is not None
        start_offset = self.clock.offset()
        end_offsets: list[float] = [start_offset]

        def run_job(job: _Job) -> None:
            child = Frame(
                machine=job.machine,
                language=job.machine.get("QueryLanguage", frame.language),
                variables=frame.variables.child(),
                cancel=scope.child(),
                track=job.track,
                top=False,
            )
            try:
                if is_map:
                    self._emit(child, "MapIterationStarted", {"name": run.name, "index": job.index})
                results[job.index] = self._run_machine(child, job.data)
                if record:
                    self.sink.child_done(job.index, results[job.index])
                if is_map:
                    self._emit(
                        child, "MapIterationSucceeded", {"name": run.name, "index": job.index}
                    )
            except Interrupted:
                if is_map and scope.reason == ABORT and not frame.cancel.cancelled:
                    self._emit_quietly(
                        child, "MapIterationAborted", {"name": run.name, "index": job.index}
                    )
            except Exception as exc:
                failure = (
                    exc if isinstance(exc, StatesError) else StatesError(STATES_RUNTIME, repr(exc))
                )
                if is_map:
                    self._emit_quietly(
                        child, "MapIterationFailed", {"name": run.name, "index": job.index}
                    )
                with lock:
                    failures.append(failure)
                    fatal = tolerance is None or tolerance.exceeded(len(failures))
                    if not fatal:
                        results[job.index] = {"Error": failure.error, "Cause": failure.cause}
                if fatal:
                    scope.cancel(ABORT)
            finally:
                child.cancel.close()

        def worker() -> None:
            while not scope.cancelled:
                with lock:
                    if next_job[0] >= len(jobs_to_run):
                        return
                    job = jobs_to_run[next_job[0]]
                    next_job[0] += 1
                # Each branch or iteration starts when its state started.
                self.clock.set_offset(start_offset)
                run_job(job)
                with lock:
                    end_offsets.append(self.clock.offset())

        threads = [
            threading.Thread(
                target=worker, name=f"{self.execution.name}-{run.name}-{i}", daemon=True
            )
            for i in range(min(limit, len(jobs_to_run)))
        ]
        for thread in threads:
            thread.start()

        def join() -> None:
            for thread in threads:
                thread.join()

        blocking(join)
        scope.close()
        self.clock.set_offset(max(end_offsets))
        # The state's next event follows the last event of its branches or iterations.
        frame.track.last = max([frame.track.last, *(job.track.last for job in jobs)])
        frame.cancel.check()
        if failures and (tolerance is None or tolerance.exceeded(len(failures))):
            if tolerance is not None and tolerance.configured:
                raise StatesError(
                    STATES_EXCEED_TOLERATED_FAILURE,
                    "The specified tolerated failure threshold was exceeded",
                )
            raise failures[0]
        return results

    def _emit_quietly(self, frame: Frame, event_type: str, details: dict[str, Any]) -> None:
        # The iteration's own scope is cancelled when it is aborted; report on the parent's behalf.
        if self.cancel.cancelled:
            return
        event_id = self.sink.emit(event_type, details, previous=frame.track.last)
        frame.track.last = event_id


@dataclass
class _Job:
    index: int
    machine: Mapping[str, Any]
    data: Any
    track: Track
