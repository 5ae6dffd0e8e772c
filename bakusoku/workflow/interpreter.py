"""Runs an ASL state machine over one input: the dispatch loop from state to state.

``Interpreter`` runs a machine from its StartAt (or a resumed state) to its end: at the top level
it checkpoints each state before running it, then emits the state's entered event, runs its
handler and emits its exited event. The handlers live with their kind of state: Pass, Choice,
Wait, Succeed and Fail in flow_states.py, Task (with Retry and Catch) in task_states.py, Parallel
and Map in fanout_states.py; input and output processing is dataflow.py.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from typing import Any

from bakusoku.workflow.callbacks import TaskTokens
from bakusoku.workflow.cancel import CancelScope
from bakusoku.workflow.clock import REAL_CLOCK, Clock
from bakusoku.workflow.definition import JSONPATH
from bakusoku.workflow.fanout_states import FanOutStates
from bakusoku.workflow.flow_states import FlowStates
from bakusoku.workflow.frames import (
    Checkpoint,
    EventSink,
    ExecutionInfo,
    Frame,
    StateRun,
    Track,
    Variables,
    check_output_size,
    dumps,
)
from bakusoku.workflow.inline import CallGuard
from bakusoku.workflow.invoker import TaskInvoker
from bakusoku.workflow.task_states import TaskStates

# Retry jitter's source when none is given: seeding a generator per execution costs more than it.
_JITTER = random.Random()

# The states whose context object carries State.RetryCount: those with Retry.
RETRYING_STATES = frozenset({"Task", "Parallel", "Map"})


class Interpreter(TaskStates, FlowStates, FanOutStates):
    """Interprets one execution's definition; thread-safe for its own Parallel and Map threads.

    ``time_scale`` multiplies every duration the engine waits for (Wait states, retry intervals,
    task timeouts): 1.0 in production, small in tests.
    ``inline_tasks`` calls the invoker in the execution's own thread when nothing could need to
    interrupt the call: the task has no TimeoutSeconds and runs at the top level (a sibling's
    failure aborts a Parallel branch or Map iteration). Only for a caller whose execution nothing
    stops from outside (``run_definition`` of a machine without TimeoutSeconds), or that ends an
    execution interrupted during such a call itself (the engine, see inline.py); otherwise each
    call runs in a helper thread so that a stop or an abort never waits on the task.
    ``guard`` is the engine's CallGuard: such inline calls go through it, so that the thread that
    interrupts one can end the execution.
    """

    def __init__(
        self,
        definition: Mapping[str, Any],
        execution: ExecutionInfo,
        invoker: TaskInvoker,
        sink: EventSink,
        cancel: CancelScope,
        *,
        time_scale: float = 1.0,
        rng: random.Random | None = None,
        tokens: TaskTokens | None = None,
        clock: Clock | None = None,
        inline_tasks: bool = False,
        guard: CallGuard | None = None,
    ) -> None:
        self.definition = definition
        self.inline_tasks = inline_tasks
        self.guard = guard
        self.clock = clock or REAL_CLOCK
        self.execution = execution
        self.invoker = invoker
        self.sink = sink
        self.cancel = cancel
        self.time_scale = time_scale
        self.rng = rng or _JITTER
        self.tokens = tokens or TaskTokens()
        self.language = definition.get("QueryLanguage", JSONPATH)
        self.track = Track(0)
        self._resumed_entered: float | None = None
        self._resumed_children: dict[int, Any] | None = None

    # ---- machines ------------------------------------------------------------------------------

    def run(
        self,
        state_input: Any,
        *,
        previous_event_id: int,
        start_at: str | None = None,
        variables: dict[str, Any] | None = None,
        entered_at: float | None = None,
        done_children: Mapping[str, Any] | None = None,
    ) -> Any:
        """Run from ``start_at`` (default StartAt) to the end; return the output.

        ``entered_at`` is when a resumed ``start_at`` state was first entered (a Wait state
        waits only for what remains); ``done_children`` are the outputs of the branches of a
        resumed Parallel ``start_at`` that had succeeded, by index (they do not run again).
        Raises StatesError when the execution fails and Interrupted when it is stopped.
        """
        self._resumed_entered = entered_at
        self._resumed_children = (
            {int(index): output for index, output in done_children.items()}
            if done_children
            else None
        )
        # Step Functions gives the first state's entered event, right after ExecutionStarted
        # (event 1), no previous event (0).
        self.track = Track(0 if previous_event_id == 1 else previous_event_id)
        frame = Frame(
            machine=self.definition,
            language=self.language,
            variables=Variables(dict(variables or {})),
            cancel=self.cancel,
            track=self.track,
            top=True,
        )
        return self._run_machine(frame, state_input, start_at)

    def _run_machine(self, frame: Frame, data: Any, start_at: str | None = None) -> Any:
        name: str | None = start_at or frame.machine["StartAt"]
        states = frame.machine["States"]
        text: str | None = None  # the JSON of ``data`` when the last state's exit wrote it
        while name is not None:
            frame.cancel.check()
            state = states[name]
            first_entered = None
            done_children = None
            if frame.top:
                first_entered, self._resumed_entered = self._resumed_entered, None
                done_children, self._resumed_children = self._resumed_children, None
                self.sink.checkpoint(
                    Checkpoint(name, data, frame.variables.local, first_entered, done_children)
                )
            data, name, text = self._run_state(
                frame, name, state, data, first_entered, done_children, text
            )
        return data

    def _run_state(
        self,
        frame: Frame,
        name: str,
        state: Mapping[str, Any],
        raw: Any,
        first_entered: float | None = None,
        done_children: dict[int, Any] | None = None,
        raw_text: str | None = None,
    ) -> tuple[Any, str | None, str]:
        """Run one state; returns its output, the next state's name and the output's JSON."""
        kind = state["Type"]
        entered_previous_event_id = frame.track.last
        entered_event_id = self._emit(
            frame,
            f"{kind}StateEntered",
            {
                "name": name,
                "input": raw_text if raw_text is not None else dumps(raw),
                "inputDetails": {"truncated": False},
            },
            name,
        )
        # Taken after the entered event is stamped, so that a Wait measured from here never ends
        # before its event's timestamp plus the wait.
        run = StateRun(
            name=name,
            entered=self.clock.now(),
            retries=kind in RETRYING_STATES,
            first_entered=first_entered,
            done_children=done_children,
            entered_event_id=entered_event_id,
            entered_previous_event_id=entered_previous_event_id,
            track=frame.track,
        )
        handler = self._handlers[kind]
        output, next_name = handler(self, frame, state, raw, run)
        text = dumps(output)
        check_output_size(text, name)
        details: dict[str, Any] = {
            "name": name,
            "output": text,
            "outputDetails": {"truncated": False},
        }
        if run.assigned:
            # Each variable as JSON text, as AWS's StateExited event gives it.
            details["assignedVariables"] = {key: dumps(v) for key, v in run.assigned.items()}
            details["assignedVariablesDetails"] = {"truncated": False}
        self._emit(frame, f"{kind}StateExited", details, name)
        return output, next_name, text

    _handlers: dict[
        str,
        Callable[[Interpreter, Frame, Mapping[str, Any], Any, StateRun], tuple[Any, str | None]],
    ] = {
        "Pass": FlowStates._pass,
        "Task": TaskStates._task,
        "Choice": FlowStates._choice,
        "Wait": FlowStates._wait,
        "Succeed": FlowStates._succeed,
        "Fail": FlowStates._fail,
        "Parallel": FanOutStates._parallel,
        "Map": FanOutStates._map,
    }


__all__ = ["Interpreter"]
