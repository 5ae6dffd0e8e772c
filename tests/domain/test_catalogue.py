"""The error catalogue: failures become codes and messages, and every other copy agrees with it.

The exception classes' codes, the pipeline's Retry rules and the README's table are each checked
against ``CATALOGUE``, the one place the codes are written down.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import botocore.exceptions
import pytest
import sqlalchemy.exc
import yaml

from bakusoku.db import errors as db_errors
from bakusoku.domain.catalogue import (
    CATALOGUE,
    ERROR_CODES,
    FALLBACK_CODE,
    action_for,
    describe_failure,
    failure_code,
    main,
    markdown_table,
)
from bakusoku.errors import BakusokuError
from bakusoku.faces import errors as faces_errors
from bakusoku.imaging import errors as imaging_errors
from bakusoku.pipeline import errors as pipeline_errors
from bakusoku.pipeline.functions import definition_text
from bakusoku.races import errors as races_errors
from bakusoku.storage import errors as storage_errors

README = Path(__file__).parents[2] / "README.md"
README_TABLE_HEADING = "### Error codes of failed photos"
ERROR_MODULES = (
    imaging_errors,
    storage_errors,
    db_errors,
    pipeline_errors,
    faces_errors,
    races_errors,
)


def _subclasses(cls: type[BakusokuError]) -> Iterator[type[BakusokuError]]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def _our_error_classes() -> dict[str, type[BakusokuError]]:
    """Exception classes of the parts whose errors can fail a photo, by name (the errorType)."""
    modules = {module.__name__ for module in ERROR_MODULES}
    return {cls.__name__: cls for cls in _subclasses(BakusokuError) if cls.__module__ in modules}


def _raised_for_photos() -> list[type[BakusokuError]]:
    """Classes the pipeline raises when a photo fails: every image problem, every pipeline error,
    an unreachable object store or database (ImageError and PipelineError themselves are only
    bases)."""
    return [
        *_subclasses(imaging_errors.ImageError),
        *_subclasses(pipeline_errors.PipelineError),
        storage_errors.StorageUnavailableError,
        *_subclasses(storage_errors.StorageUnavailableError),
        db_errors.DatabaseUnavailableError,
        *_subclasses(db_errors.DatabaseUnavailableError),
        faces_errors.FaceIndexError,  # leaves the photo ready, its faces unindexed
        faces_errors.FaceIndexUnavailableError,
        *_subclasses(faces_errors.FaceIndexUnavailableError),
    ]


def _retry_rules(node: Any) -> Iterator[dict[str, Any]]:
    """Every Retry rule of every Task state, nested states included."""
    if isinstance(node, dict):
        yield from node.get("Retry", [])
        for value in node.values():
            yield from _retry_rules(value)
    elif isinstance(node, list):
        for item in node:
            yield from _retry_rules(item)


def _readme_table() -> str:
    section = README.read_text().split(f"{README_TABLE_HEADING}\n\n", 1)[1]
    return section.split("\n\n", 1)[0] + "\n"


# ---- failures become codes and messages ---------------------------------------------------------


def test_lambda_error_cause_gives_code_and_message() -> None:
    cause = json.dumps(
        {"errorMessage": "the JPEG data ends early", "errorType": "CorruptImageError"}
    )
    assert describe_failure("CorruptImageError", cause) == (
        "image.corrupt",
        "the JPEG data ends early",
    )


def test_throttling_after_retries_explains_what_to_do() -> None:
    code, message = describe_failure("Lambda.TooManyRequestsException", None)
    assert code == "task.throttled"
    assert "re-drive" in message


def test_unknown_error_is_internal_and_names_the_error() -> None:
    code, message = describe_failure("KeyError", "not json")
    assert code == "internal"
    assert message == "not json"


def test_an_error_without_a_message_names_itself() -> None:
    assert describe_failure("KeyError", None) == (
        "internal",
        "KeyError: the photo could not be processed",
    )


@pytest.mark.parametrize(
    "entry", [e for e in CATALOGUE.values() if e.generic_message], ids=lambda e: e.code
)
def test_a_generic_message_says_what_to_do_and_keeps_the_errors_own(entry: Any) -> None:
    error = entry.error_names[0]
    cause = json.dumps({"errorMessage": "connection refused", "errorType": error})
    assert describe_failure(error, None) == (entry.code, entry.generic_message)
    assert describe_failure(error, cause) == (
        entry.code,
        f"{entry.generic_message} ({error}: connection refused)",
    )


def test_an_execution_error_becomes_a_stable_code() -> None:
    assert failure_code("image.corrupt") == "image.corrupt"  # the pipeline's Fail state gives codes
    assert failure_code("Lambda.TooManyRequestsException") == "task.throttled"
    assert failure_code("EndpointConnectionError") == "storage.unavailable"
    assert failure_code("States.Runtime") == FALLBACK_CODE
    assert failure_code(None) is None


def test_every_code_has_an_action_and_an_unknown_code_gets_the_fallbacks() -> None:
    for code, entry in CATALOGUE.items():
        assert action_for(code) == entry.action
    assert action_for("no.such_code") == action_for(None) == CATALOGUE[FALLBACK_CODE].action


# ---- the catalogue is consistent in itself --------------------------------------------------------


def test_each_error_name_gives_exactly_one_code() -> None:
    names = [name for entry in CATALOGUE.values() for name in entry.error_names]
    assert len(names) == len(set(names)) == len(ERROR_CODES)
    assert FALLBACK_CODE in CATALOGUE


def test_every_entry_says_what_it_means_and_what_to_do() -> None:
    for entry in CATALOGUE.values():
        assert entry.meaning and entry.action and entry.error_names, entry.code


# ---- the exception classes agree with it --------------------------------------------------------


def test_every_error_a_photo_fails_with_is_catalogued_under_its_own_code() -> None:
    raised = _raised_for_photos()
    assert raised  # the roots above still have subclasses
    for cls in raised:
        assert ERROR_CODES.get(cls.__name__) == cls.code, cls.__name__


def test_every_catalogued_exception_name_is_a_real_class_with_the_same_code() -> None:
    ours = _our_error_classes()
    for name, code in ERROR_CODES.items():
        if name in ours:
            assert ours[name].code == code, name
        elif name.endswith("Error"):  # a library's exception, reported under its class name
            assert hasattr(botocore.exceptions, name) or hasattr(sqlalchemy.exc, name), name


# ---- the pipeline's Retry rules agree with it ---------------------------------------------------


def test_the_pipeline_retries_exactly_the_errors_the_catalogue_calls_retried() -> None:
    rules = list(_retry_rules(yaml.safe_load(definition_text())))
    never = {
        name for rule in rules if rule.get("MaxAttempts", 3) == 0 for name in rule["ErrorEquals"]
    }
    not_retried = {n for e in CATALOGUE.values() if not e.retried for n in e.error_names}
    assert never == not_retried


def test_every_error_a_retry_rule_names_is_catalogued() -> None:
    rules = list(_retry_rules(yaml.safe_load(definition_text())))
    named = {name for rule in rules for name in rule["ErrorEquals"]} - {"States.ALL"}
    assert named <= set(ERROR_CODES)


# ---- the README's table is printed from it ------------------------------------------------------


def test_the_readme_table_is_the_catalogue() -> None:
    assert _readme_table() == markdown_table(), (
        "README.md's error table differs from the catalogue; replace it with the output of "
        "`python -m bakusoku.domain.catalogue --markdown`"
    )


def test_the_table_has_one_row_per_code_in_catalogue_order() -> None:
    rows = markdown_table().splitlines()[2:]
    assert [row.split("`")[1] for row in rows] == list(CATALOGUE)


def test_the_command_prints_the_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--markdown"]) == 0
    assert capsys.readouterr().out == markdown_table()
