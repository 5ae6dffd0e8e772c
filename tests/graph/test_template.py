"""The map read from the stack template: every part of the description, and only what it says."""

from __future__ import annotations

import copy

from bakusoku.config import Settings
from bakusoku.deploy.sam import logical_id
from bakusoku.graph.model import SystemGraph
from bakusoku.graph.template import graph_from_template
from bakusoku.pipeline.functions import ALL_FUNCTIONS, BUILT_IN_MACHINES
from bakusoku.workflow.definition import load_definition
from tests.graph.maps import TABLES, local_map, template


def labels(graph: SystemGraph, kind: str) -> set[str]:
    return {n.label for n in graph.of_kind(kind)}  # type: ignore[arg-type]


def edges(graph: SystemGraph) -> set[tuple[str, str, str]]:
    by_id = {n.id: n.label for n in graph.nodes}
    return {(by_id[e.source], e.kind, by_id[e.target]) for e in graph.edges}


def asl_states() -> dict[str, dict[str, object]]:
    """Every state of the built-in state machines' ASL files, those of Parallel branches
    included (the machines' state names are distinct)."""

    def flat(states: dict[str, dict[str, object]]) -> dict[str, dict[str, object]]:
        found = dict(states)
        for state in states.values():
            for branch in state.get("Branches", []):  # type: ignore[attr-defined]
                found.update(flat(branch["States"]))
        return found

    found: dict[str, dict[str, object]] = {}
    for machine in BUILT_IN_MACHINES:
        definition = load_definition(machine.definition_text(), machine.kept_placeholders())
        found.update(flat(definition["States"]))
    return found


def test_every_function_of_the_table_is_on_the_map_with_its_size() -> None:
    graph = local_map()
    assert labels(graph, "function") == {f.name for f in ALL_FUNCTIONS}
    for function in ALL_FUNCTIONS:
        node = graph.node(logical_id(function.name))
        assert node.detail.startswith(f"{function.memory_mb} MB, {function.timeout_seconds} s")


def test_every_state_of_the_asl_file_and_the_function_its_task_invokes() -> None:
    graph = local_map()
    states = asl_states()
    assert labels(graph, "state") == set(states)
    by_placeholder = {f"${{{f.placeholder}}}": f.name for f in ALL_FUNCTIONS if f.placeholder}
    invoked = {
        (s, "invokes", by_placeholder[str(v["Resource"])])
        for s, v in states.items()
        if v["Type"] == "Task"
    }
    assert {e for e in edges(graph) if e[1] == "invokes"} == invoked


def test_the_transitions_are_the_asl_files() -> None:
    graph = local_map()
    expected = set()
    for name, state in asl_states().items():
        if "Next" in state:
            expected.add((name, "next", state["Next"]))
        for choice in state.get("Choices", []):  # type: ignore[attr-defined]
            expected.add((name, "choice", choice["Next"]))
        if "Default" in state:
            expected.add((name, "choice", state["Default"]))
        for catch in state.get("Catch", []):  # type: ignore[attr-defined]
            expected.add((name, "catch", catch["Next"]))
    found = {e for e in edges(graph) if e[1] in ("next", "choice", "catch")}
    assert found == expected


def test_uploads_trigger_the_pipeline_through_the_rule_and_failures_reach_the_notifier() -> None:
    settings = Settings()
    graph = local_map(settings)
    uploads = f"PhotoBucket/{settings.upload_prefix}"
    found = edges(graph)
    assert (uploads, "emits", "object-created") in found
    assert ("object-created", "triggers", "photo-pipeline") in found
    assert ("object-created", "dead_letters", "trigger-dlq") in found
    assert ("photo-pipeline", "emits", "execution-failed") in found
    assert ("execution-failed", "triggers", "notifier") in found
    assert ("execution-failed", "dead_letters", "alert-dlq") in found
    assert ("HTTP API", "triggers", "api") in found
    assert ("DatabaseSchema", "triggers", "migrate") in found


def test_the_prefixes_each_function_reaches_come_from_its_policy() -> None:
    settings = Settings()
    found = edges(local_map(settings))
    uploads = f"PhotoBucket/{settings.upload_prefix}"
    renditions = f"PhotoBucket/{settings.rendition_prefix}"
    assert ("store-photo", "reads", uploads) in found
    assert ("make-renditions", "writes", renditions) in found
    assert not any(e[0] == "store-photo" and e[1] == "writes" for e in found)
    assert not any(
        e[0] in ("migrate", "notifier") and e[2].startswith("PhotoBucket") for e in found
    )


def test_every_table_hangs_off_the_database_its_functions_use() -> None:
    graph = local_map()
    assert labels(graph, "table") == set(TABLES)
    users = {e[0] for e in edges(graph) if e[2] == "database" and e[1] == "uses"}
    assert users == {f.name for f in ALL_FUNCTIONS if f.name != "notifier"}


def test_changing_the_configuration_changes_the_map() -> None:
    changed = Settings(
        upload_prefix="incoming/",
        extra={"functions": {"make-renditions": {"memory_mb": 3008, "timeout_seconds": 90}}},
    )
    graph = local_map(changed)
    assert ("PhotoBucket/incoming/", "emits", "object-created") in edges(graph)
    assert "PhotoBucket/uploads/" not in labels(graph, "prefix")
    assert graph.node(logical_id("make-renditions")).detail.startswith("3008 MB, 90 s")


def test_a_state_and_a_scheduled_function_added_to_the_template_appear() -> None:
    changed = copy.deepcopy(template())
    machine = changed["Resources"]["PhotoPipeline"]["Properties"]
    machine["Definition"]["States"]["Finish"].pop("End")
    machine["Definition"]["States"]["Finish"]["Next"] = "Announce"
    machine["Definition"]["States"]["Announce"] = {"Type": "Pass", "End": True}
    report = copy.deepcopy(changed["Resources"]["MarkReadyFunction"])
    report["Properties"]["Tags"]["function"] = "slow-query-report"
    report["Properties"]["Events"] = {
        "Hourly": {"Type": "Schedule", "Properties": {"Schedule": "rate(1 hour)"}}
    }
    changed["Resources"]["SlowQueryReportFunction"] = report
    graph = graph_from_template(changed, tables=TABLES)
    found = edges(graph)
    assert ("Finish", "next", "Announce") in found
    assert ("rate(1 hour)", "triggers", "slow-query-report") in found
    assert "Announce" not in labels(local_map(), "state")
