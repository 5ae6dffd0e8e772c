"""The shipped photo pipeline definition loads, substitutes and validates."""

from __future__ import annotations

import pytest

from bakusoku.workflow.definition import load_definition
from bakusoku.workflow.errors import DefinitionError

pipeline = pytest.importorskip("bakusoku.pipeline.functions")


def test_pipeline_definition_validates() -> None:
    arns = {
        f.name: f"arn:aws:lambda:us-east-1:000000000000:function:{f.name}"
        for f in pipeline.FUNCTIONS
    }
    definition = load_definition(pipeline.definition_text(), pipeline.substitutions(arns))
    assert definition["StartAt"] == "StorePhoto"
    assert definition["States"]["StorePhoto"]["Resource"] == arns["store-photo"]
    renditions = definition["States"]["MakeRenditions"]
    assert renditions["Type"] == "Task" and renditions["Resource"] == arns["make-renditions"]
    assert definition["States"]["IsDuplicate"]["Default"] == "MakeRenditions"
    # The original is fetched and decoded by one task only: the one Parallel state comes after it
    # and its branches record the renditions, index the face cuts and read bibs from the preview,
    # never the original.
    parallel = [s for s in definition["States"].values() if s["Type"] == "Parallel"]
    assert [renditions["Next"]] == [
        name for name, s in definition["States"].items() if s["Type"] == "Parallel"
    ]
    (finish,) = parallel
    invoked = {
        state["Resource"]
        for branch in finish["Branches"]
        for state in branch["States"].values()
        if state["Type"] == "Task"
    }
    assert invoked == {arns["mark-ready"], arns["index-faces"], arns["read-bibs"]}


def test_pipeline_definition_needs_every_substitution() -> None:
    with pytest.raises(DefinitionError, match="StorePhotoFunctionArn"):
        load_definition(pipeline.definition_text(), {})
