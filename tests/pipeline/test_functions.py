"""The function table read together with the ASL file."""

from __future__ import annotations

from bakusoku.pipeline.functions import FUNCTIONS, task_states


def test_every_task_state_names_a_function_of_the_table_and_its_timeout() -> None:
    states = {s.state: s for s in task_states()}
    assert {s.function for s in states.values()} == {f.name for f in FUNCTIONS}
    assert states["MakeRenditions"].function == "make-renditions"
    assert states["IndexFaces"].function == "index-faces"  # in a Parallel branch
    assert all(s.timeout_seconds for s in states.values())
