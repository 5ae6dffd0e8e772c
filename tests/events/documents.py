"""Event documents for tests: every value of an event, through JSON carried as text, and edits.

A Location is the list of steps to one value: member names, array positions and FROMJSON, which
enters the JSON document held by the string there (an SQS ``body``, an SNS ``Message``). Edits
return a new event with every string on the way re-serialised, as the services write them.
Envelopes wrap a document as SNS, SQS or SNS → SQS deliver it, from the recorded samples.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

from bakusoku.events.paths import ROOT, JsonPath
from tests.events.conftest import load_sample

FROMJSON = "|fromjson"  # a step into the JSON document a string holds
REMOVE = object()  # what an edit returns to delete the value

Step = str | int
Location = tuple[Step, ...]


def locations(document: Any, at: Location = ()) -> Iterator[tuple[Location, Any]]:
    """Every value below ``document`` (not the document itself), parents before children."""
    children: list[tuple[Step, Any]] = []
    if isinstance(document, dict):
        children = list(document.items())
    elif isinstance(document, list):
        children = list(enumerate(document))
    elif isinstance(document, str) and (inner := _json_document(document)) is not None:
        yield from locations(inner, (*at, FROMJSON))
        return
    for step, value in children:
        yield (*at, step), value
        yield from locations(value, (*at, step))


def edit(document: Any, at: Location, change: Callable[[Any], Any]) -> Any:
    """``document`` with the value at ``at`` replaced by ``change(value)`` (REMOVE deletes it)."""
    if not at:
        return change(document)
    step, rest = at[0], at[1:]
    if step == FROMJSON:
        return json.dumps(edit(json.loads(document), rest, change))
    copy: Any = list(document) if isinstance(document, list) else dict(document)
    changed = edit(copy[step], rest, change)
    if changed is REMOVE:
        del copy[step]
    else:
        copy[step] = changed
    return copy


def everywhere(document: Any, change: Callable[[Any], Any]) -> Any:
    """``document`` with ``change`` applied to every value, children first, through JSON text."""
    if isinstance(document, dict):
        document = {name: everywhere(value, change) for name, value in document.items()}
    elif isinstance(document, list):
        document = [everywhere(value, change) for value in document]
    elif isinstance(document, str) and (inner := _json_document(document)) is not None:
        document = json.dumps(everywhere(inner, change))
    return change(document)


def json_path(at: Location) -> JsonPath:
    """The jq path messages give for ``at``."""
    path = ROOT
    for step in at:
        if step == FROMJSON:
            path = path.then("fromjson")
        elif isinstance(step, int):
            path = path.index(step)
        else:
            path = path.key(step)
    return path


def within_document(at: Location) -> Location:
    """The steps of ``at`` inside the innermost JSON document it enters."""
    if FROMJSON not in at:
        return at
    return at[len(at) - at[::-1].index(FROMJSON) :]


def depth(at: Location) -> int:
    """How many JSON documents carried as text ``at`` enters."""
    return at.count(FROMJSON)


def in_sns(document: Any) -> dict[str, Any]:
    """``document`` published to SNS, as SNS hands it to Lambda."""
    return edit(
        load_sample("sns_notification"), ("Records", 0, "Sns", "Message"), _as_text(document)
    )


def in_sqs(document: Any) -> dict[str, Any]:
    """``document`` sent to SQS (or through SNS with raw delivery on), as SQS hands it to Lambda."""
    batch = load_sample("sqs_messages")
    del batch["Records"][1:]
    return edit(batch, ("Records", 0, "body"), _as_text(document))


def in_sns_then_sqs(document: Any) -> dict[str, Any]:
    """``document`` published to SNS and delivered to SQS with raw delivery off."""
    notification = json.loads(load_sample("s3_sns_sqs")["Records"][0]["body"])
    return in_sqs(edit(notification, ("Message",), _as_text(document)))


def _as_text(document: Any) -> Callable[[Any], str]:
    return lambda _old: json.dumps(document)


def _json_document(text: str) -> Any:
    try:
        inner = json.loads(text)
    except ValueError:
        return None
    return inner if isinstance(inner, dict | list) else None
