"""The error taxonomy: every code the pipeline can give is catalogued and documented."""

from __future__ import annotations

import re
from pathlib import Path

from bakusoku.domain.catalogue import ERROR_CODES
from bakusoku.ops.taxonomy import CATALOGUE, error_code

README = Path(__file__).parents[2] / "README.md"


def test_every_code_is_catalogued_and_in_the_readme_table() -> None:
    table = README.read_text().split("### Error codes of failed photos", 1)[1].split("\n\n", 2)[1]
    documented = set(re.findall(r"^\| `([a-z_.]+)` \|", table, re.MULTILINE))
    assert set(ERROR_CODES.values()) <= set(CATALOGUE)
    assert set(CATALOGUE) <= documented
    assert "storage.unavailable" in documented


def test_an_execution_error_becomes_a_stable_code() -> None:
    assert error_code("image.corrupt") == "image.corrupt"  # the pipeline's Fail state gives codes
    assert error_code("Lambda.TooManyRequestsException") == "task.throttled"
    assert error_code("EndpointConnectionError") == "storage.unavailable"
    assert error_code("States.Runtime", "Internal engine error") == "internal"
    assert error_code(None) is None
