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
    branches = definition["States"]["Renditions"]["Branches"]
    assert branches[0]["States"]["Trim"]["Resource"] == arns["trim"]


def test_pipeline_definition_needs_every_substitution() -> None:
    with pytest.raises(DefinitionError, match="StorePhotoFunctionArn"):
        load_definition(pipeline.definition_text(), {})
