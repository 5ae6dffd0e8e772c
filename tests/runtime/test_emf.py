"""CloudWatch embedded metric format lines: the document the specification asks for."""

from __future__ import annotations

import json

import pytest

from bakusoku.runtime import emf


def test_an_emf_line_declares_its_metric_dimensions_and_values() -> None:
    line = emf.emf_line("Queued", {"Stage": "prod", "Service": "runs"}, 3, now=1_700_000_000.5)

    document = json.loads(line)

    assert "\n" not in line  # one log event
    assert document["_aws"] == {
        "Timestamp": 1_700_000_000_500,
        "CloudWatchMetrics": [
            {
                "Namespace": "Bakusoku",
                "Dimensions": [["Service", "Stage"]],
                "Metrics": [{"Name": "Queued", "Unit": "Count"}],
            }
        ],
    }
    assert (document["Queued"], document["Service"], document["Stage"]) == (3, "runs", "prod")


def test_count_writes_one_line_to_standard_output(capsys: pytest.CaptureFixture[str]) -> None:
    emf.count("Failed", {"Service": "runs"})
    emf.count("Failed", {"Service": "runs"})

    lines = capsys.readouterr().out.splitlines()

    assert [json.loads(line)["Failed"] for line in lines] == [1, 1]
