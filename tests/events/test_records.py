"""object_created_records is strict about what the pipeline needs and lenient about the rest.

Each recorded route (samples, and the payloads wrapped in every envelope) is changed one value at
a time. Integral floats and extra fields anywhere change nothing; so does removing or mistyping
any value the pipeline does not use, except that an informative field (size, time, region,
version) then reads as None. A needed value missing or mistyped is refused with its jq path, or,
when it is what tells the shape apart, the event is not recognised at all.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bakusoku.events import (
    MalformedEventError,
    ObjectCreated,
    UnknownEventError,
    object_created_records,
)
from tests.events.conftest import load_sample
from tests.events.documents import (
    FROMJSON,
    REMOVE,
    Location,
    depth,
    edit,
    everywhere,
    in_sns,
    in_sns_then_sqs,
    in_sqs,
    json_path,
    locations,
    within_document,
)

# What happens to an event when a needed value is missing or of another type.
UNKNOWN = "unknown"  # the value tells the shape apart: the event is not recognised
REFUSED = "refused"  # MalformedEventError naming the value's path
ABSENT = "absent"  # accepted, the matching ObjectCreated field None (etag, sequencer)
SAME = "same"  # accepted unchanged: only its presence is looked at


@dataclass(frozen=True)
class Needed:
    """A value the pipeline needs, inside one kind of document, and what losing it does."""

    at: Location
    when_missing: str
    when_mistyped: str
    field: str | None = None  # the ObjectCreated field it gives, for ABSENT


# Per kind of document: the values read strictly, and the values read leniently (which
# ObjectCreated field each gives). Locations are inside the document; Records hold one record.
NEEDED: dict[str, list[Needed]] = {
    "s3": [
        Needed(("Records", 0, "eventSource"), UNKNOWN, UNKNOWN),
        Needed(("Records", 0, "eventName"), REFUSED, REFUSED),
        Needed(("Records", 0, "s3", "bucket", "name"), REFUSED, REFUSED),
        Needed(("Records", 0, "s3", "object", "key"), REFUSED, REFUSED),
        Needed(("Records", 0, "s3", "object", "eTag"), ABSENT, REFUSED, "etag"),
        Needed(("Records", 0, "s3", "object", "sequencer"), ABSENT, REFUSED, "sequencer"),
    ],
    "eventbridge": [
        Needed(("detail-type",), REFUSED, REFUSED),
        Needed(("source",), UNKNOWN, UNKNOWN),
        Needed(("detail", "bucket", "name"), REFUSED, REFUSED),
        Needed(("detail", "object", "key"), REFUSED, REFUSED),
        Needed(("detail", "object", "etag"), ABSENT, REFUSED, "etag"),
        Needed(("detail", "object", "sequencer"), ABSENT, REFUSED, "sequencer"),
    ],
    "cloudtrail": [
        # Missing or mistyped, it no longer says CloudTrail: read as an S3 EventBridge event,
        # refused for its detail-type.
        Needed(("detail-type",), REFUSED, REFUSED),
        Needed(("detail", "eventSource"), UNKNOWN, UNKNOWN),
        Needed(("detail", "eventName"), REFUSED, REFUSED),
        Needed(("detail", "requestParameters", "bucketName"), REFUSED, REFUSED),
        Needed(("detail", "requestParameters", "key"), REFUSED, REFUSED),
    ],
    "sns": [
        Needed(("Records", 0, "EventSource"), UNKNOWN, UNKNOWN),
        Needed(("Records", 0, "Sns", "Message"), REFUSED, REFUSED),
    ],
    "sns-json": [  # SNS's notification JSON, in an SQS body when raw delivery is off
        Needed(("Type",), UNKNOWN, UNKNOWN),
        Needed(("Message",), UNKNOWN, REFUSED),
        Needed(("TopicArn",), UNKNOWN, SAME),
    ],
    "sqs": [
        Needed(("Records", 0, "eventSource"), UNKNOWN, UNKNOWN),
        Needed(("Records", 0, "body"), REFUSED, REFUSED),
    ],
}
INFORMATIVE: dict[str, dict[Location, str]] = {
    "s3": {
        ("Records", 0, "s3", "object", "size"): "size",
        ("Records", 0, "eventTime"): "event_time",
        ("Records", 0, "awsRegion"): "region",
        ("Records", 0, "s3", "object", "versionId"): "version_id",
    },
    "eventbridge": {
        ("detail", "object", "size"): "size",
        ("time",): "event_time",
        ("region",): "region",
        ("detail", "object", "version-id"): "version_id",
    },
    "cloudtrail": {
        ("detail", "additionalEventData", "bytesTransferredIn"): "size",
        ("detail", "eventTime"): "event_time",
        ("detail", "awsRegion"): "region",
        ("detail", "responseElements", "x-amz-version-id"): "version_id",
    },
    "sns": {},
    "sns-json": {},
    "sqs": {},
}


@dataclass(frozen=True)
class Route:
    """An event as a handler receives it, and the kind of each document in it, outermost first."""

    name: str
    kinds: tuple[str, ...]
    build: Callable[[], dict[str, Any]]


def _sample(name: str) -> Callable[[], dict[str, Any]]:
    return lambda: load_sample(name)


def _wrapped(wrap: Callable[[Any], dict[str, Any]], name: str) -> Callable[[], dict[str, Any]]:
    return lambda: wrap(load_sample(name))


ROUTES = [
    Route("s3_put", ("s3",), _sample("s3_put")),
    Route("s3_sns", ("sns", "s3"), _sample("s3_sns")),
    Route("s3_sqs", ("sqs", "s3"), _sample("s3_sqs")),
    Route("s3_sns_sqs", ("sqs", "sns-json", "s3"), _sample("s3_sns_sqs")),
    Route("s3_sns_sqs_raw", ("sqs", "s3"), _sample("s3_sns_sqs_raw")),
    Route("eventbridge", ("eventbridge",), _sample("eventbridge_object_created")),
    Route(
        "eventbridge_sns_sqs",
        ("sqs", "sns-json", "eventbridge"),
        _sample("s3_eventbridge_sns_sqs"),
    ),
    Route(
        "eventbridge_sns", ("sns", "eventbridge"), _wrapped(in_sns, "eventbridge_object_created")
    ),
    Route(
        "eventbridge_sqs", ("sqs", "eventbridge"), _wrapped(in_sqs, "eventbridge_object_created")
    ),
    Route("cloudtrail", ("cloudtrail",), _sample("cloudtrail_put_object")),
    Route("cloudtrail_multipart", ("cloudtrail",), _sample("cloudtrail_complete_multipart_upload")),
    Route("cloudtrail_sns", ("sns", "cloudtrail"), _wrapped(in_sns, "cloudtrail_put_object")),
    Route("cloudtrail_sqs", ("sqs", "cloudtrail"), _wrapped(in_sqs, "cloudtrail_put_object")),
    Route(
        "cloudtrail_sns_sqs",
        ("sqs", "sns-json", "cloudtrail"),
        _wrapped(in_sns_then_sqs, "cloudtrail_put_object"),
    ),
]
ROUTE_IDS = [route.name for route in ROUTES]


# Where each envelope carries the next document, as JSON text.
CARRIER: dict[str, Location] = {
    "sns": ("Records", 0, "Sns", "Message"),
    "sns-json": ("Message",),
    "sqs": ("Records", 0, "body"),
}
INFORMATIVE_FIELDS = {"size", "event_time", "region", "version_id"}


def _is_within(at: Location, outer: Location) -> bool:
    return at[: len(outer)] == outer


def _needed_here(route: Route, at: Location) -> bool:
    """True when ``at`` is a needed value or holds one (an object or JSON text on its way)."""
    inner = within_document(at)
    return any(_is_within(needed.at, inner) for needed in NEEDED[route.kinds[depth(at)]])


def _informative_below(route: Route, at: Location) -> set[str]:
    """The ObjectCreated fields that come from ``at`` or from values inside it."""
    inner = within_document(at)
    kind = route.kinds[depth(at)]
    return {field for where, field in INFORMATIVE[kind].items() if _is_within(where, inner)}


def _outermost_unneeded(route: Route, event: dict[str, Any]) -> list[Location]:
    """Every value the pipeline does not need, leaving out those inside another such value."""
    found: list[Location] = []
    for at, _value in locations(event):
        if not any(_is_within(at, outer) for outer in found) and not _needed_here(route, at):
            found.append(at)
    return found


def _without(records: list[ObjectCreated], fields: set[str]) -> list[ObjectCreated]:
    return [dataclasses.replace(r, **dict.fromkeys(fields)) for r in records]


def _typed(records: list[ObjectCreated]) -> list[list[tuple[str, Any]]]:
    """Records compared with their values' types: 1024.0 == 1024, but a size is an int."""
    return [[(type(v).__name__, v) for v in dataclasses.astuple(r)] for r in records]


def _mistyped(value: Any) -> Any:
    """A value of another JSON type than ``value``."""
    if isinstance(value, str):
        return 0.5
    if isinstance(value, bool):
        return "yes"
    if isinstance(value, int | float):
        return str(value)
    if value is None or isinstance(value, list):
        return {"unexpected": [1.5]}
    return ["unexpected"]


def _fractional(value: Any) -> Any:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value + 0.5
    return _mistyped(value)


def _removed(_value: Any) -> Any:
    return REMOVE


def _integral_floats(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def _with_extra_field(value: Any) -> Any:
    if isinstance(value, dict):
        return {**value, "bakusokuUnexpected": {"nested": [1.5, "text", None, {"deep": True}]}}
    return value


@pytest.mark.parametrize("route", ROUTES, ids=ROUTE_IDS)
def test_every_route_gives_one_object_named_by_its_route(route: Route) -> None:
    (record,) = object_created_records(route.build())

    assert record.source_shape == "/".join(kind.removesuffix("-json") for kind in route.kinds)


@pytest.mark.parametrize("route", ROUTES, ids=ROUTE_IDS)
def test_integers_written_as_floats_change_nothing(route: Route) -> None:
    event = route.build()
    floated = everywhere(event, _integral_floats)
    assert any(isinstance(value, float) for _, value in locations(floated))

    assert _typed(object_created_records(floated)) == _typed(object_created_records(event))


@pytest.mark.parametrize("route", ROUTES, ids=ROUTE_IDS)
def test_unknown_fields_at_every_level_change_nothing(route: Route) -> None:
    event = route.build()
    extended = everywhere(event, _with_extra_field)
    assert sum(at[-1] == "bakusokuUnexpected" for at, _ in locations(extended)) > 3

    assert _typed(object_created_records(extended)) == _typed(object_created_records(event))


@pytest.mark.parametrize("change", [_removed, _mistyped, _fractional])
@pytest.mark.parametrize("route", ROUTES, ids=ROUTE_IDS)
def test_a_value_the_pipeline_does_not_need_never_refuses_the_event(
    route: Route, change: Callable[[Any], Any]
) -> None:
    event = route.build()
    expected = object_created_records(event)
    unneeded = [at for at, _ in locations(event) if not _needed_here(route, at)]
    assert len(unneeded) > 5
    wrong = []
    for at in unneeded:
        try:
            records = object_created_records(edit(event, at, change))
        except (MalformedEventError, UnknownEventError) as exc:
            wrong.append(f"{json_path(at)}: {exc}")
            continue
        if _typed(records) != _typed(_without(expected, _informative_below(route, at))):
            wrong.append(f"{json_path(at)}: {records}")

    assert wrong == []


@pytest.mark.parametrize("route", ROUTES, ids=ROUTE_IDS)
def test_all_changes_at_once_keep_what_the_pipeline_needs(route: Route) -> None:
    event = route.build()
    expected = _without(object_created_records(event), INFORMATIVE_FIELDS)
    stripped = event
    for at in reversed(_outermost_unneeded(route, event)):  # later first: positions hold
        stripped = edit(stripped, at, _removed)
    changed = everywhere(everywhere(stripped, _integral_floats), _with_extra_field)

    assert _typed(object_created_records(changed)) == _typed(expected)


def _needed_values() -> list[Any]:
    """(route, location, Needed) for every needed value of every route, at every depth."""
    cases = []
    for route in ROUTES:
        outer: Location = ()
        for kind in route.kinds:
            for needed in NEEDED[kind]:
                at = (*outer, *needed.at)
                cases.append(pytest.param(route, at, needed, id=f"{route.name}:{json_path(at)}"))
            outer = (*outer, *CARRIER.get(kind, ()), FROMJSON)
    return cases


def _check(event: dict[str, Any], at: Location, outcome: str, needed: Needed, route: Route) -> None:
    expected = object_created_records(route.build())
    if outcome == UNKNOWN:
        with pytest.raises(UnknownEventError):
            object_created_records(event)
    elif outcome == REFUSED:
        with pytest.raises(MalformedEventError) as refused:
            object_created_records(event)
        assert f": {json_path(at)} is " in str(refused.value)
    elif outcome == ABSENT:
        assert needed.field is not None
        assert object_created_records(event) == _without(expected, {needed.field})
    else:
        assert _typed(object_created_records(event)) == _typed(expected)


@pytest.mark.parametrize(("route", "at", "needed"), _needed_values())
def test_a_needed_value_missing(route: Route, at: Location, needed: Needed) -> None:
    event = edit(route.build(), at, _removed)

    _check(event, at, needed.when_missing, needed, route)


@pytest.mark.parametrize(("route", "at", "needed"), _needed_values())
def test_a_needed_value_mistyped(route: Route, at: Location, needed: Needed) -> None:
    event = edit(route.build(), at, _mistyped)

    _check(event, at, needed.when_mistyped, needed, route)


@st.composite
def _changed_route(draw: st.DrawFn) -> tuple[Route, dict[str, Any], dict[str, Any], set[str]]:
    """A route's event with unneeded values changed at random, apart from each other."""
    route = draw(st.sampled_from(ROUTES))
    event = route.build()
    chosen: list[Location] = []
    for at in draw(st.permutations(_unneeded_values(route, event))):
        if not any(_is_within(at, c) or _is_within(c, at) for c in chosen) and draw(st.booleans()):
            chosen.append(at)
    changed, informative = event, set()
    for at in sorted(chosen, key=_document_order, reverse=True):  # later first: positions hold
        change = draw(st.sampled_from([_removed, _mistyped, _fractional]))
        changed = edit(changed, at, change)
        informative |= _informative_below(route, at)
    if draw(st.booleans()):
        changed = everywhere(changed, _integral_floats)
    if draw(st.booleans()):
        changed = everywhere(changed, _with_extra_field)
    return route, event, changed, informative


def _unneeded_values(route: Route, event: dict[str, Any]) -> list[Location]:
    return [at for at, _ in locations(event) if not _needed_here(route, at)]


def _document_order(at: Location) -> list[tuple[int, Any]]:
    # Positions compare as numbers, names as text: [2] comes before [10].
    return [(0, step) if isinstance(step, int) else (1, step) for step in at]


@settings(max_examples=150, deadline=None, database=None)  # no example files: no I/O
@given(_changed_route())
def test_any_mix_of_changes_to_unneeded_values_keeps_the_object(
    case: tuple[Route, dict[str, Any], dict[str, Any], set[str]],
) -> None:
    _route, event, changed, informative = case

    assert _typed(object_created_records(changed)) == _typed(
        _without(object_created_records(event), informative)
    )
