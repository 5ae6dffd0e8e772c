"""JSONPath reading and ResultPath writing."""

from __future__ import annotations

import pytest

from bakusoku.workflow.paths import (
    PathNotFoundError,
    PathSyntaxError,
    ReferencePathError,
    evaluate,
    parse_path,
    set_reference,
)

STORE = {
    "store": {
        "book": [
            {"category": "reference", "author": "Nigel Rees", "price": 8.95},
            {"category": "fiction", "author": "Evelyn Waugh", "price": 12.99},
            {"category": "fiction", "author": "J. R. R. Tolkien", "price": 22.99, "isbn": "0-395"},
        ],
        "bicycle": {"color": "red", "price": 19.95},
    },
    "odd key": 1,
}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("$", STORE),
        ("$.store.bicycle.color", "red"),
        ("$['store']['bicycle']['color']", "red"),
        ("$['odd key']", 1),
        ("$.store.book[0].author", "Nigel Rees"),
        ("$.store.book[-1].price", 22.99),
        ("$.store.book[*].author", ["Nigel Rees", "Evelyn Waugh", "J. R. R. Tolkien"]),
        ("$.store.book[0,2].price", [8.95, 22.99]),
        ("$.store.book[1:].category", ["fiction", "fiction"]),
        ("$..isbn", ["0-395"]),
        ("$.store.book[?(@.price < 10)].author", ["Nigel Rees"]),
        ("$.store.book[?(@.isbn)].author", ["J. R. R. Tolkien"]),
        ("$.store.book[?(@.category == 'fiction' && @.price > 20)].price", [22.99]),
        ("$.store.book.length()", 3),
    ],
)
def test_reading(path: str, expected: object) -> None:
    assert evaluate(path, STORE) == expected


def test_missing_definite_path_raises_and_indefinite_gives_empty_list() -> None:
    with pytest.raises(PathNotFoundError):
        evaluate("$.store.car", STORE)
    with pytest.raises(PathNotFoundError):
        evaluate("$.store.book[7]", STORE)
    assert evaluate("$.store.book[?(@.price > 100)]", STORE) == []


@pytest.mark.parametrize("bad", ["store", "$.", "$[", "$.a[?(@.b ==]", "$.a[1:2:0]"])
def test_syntax_errors(bad: str) -> None:
    with pytest.raises(PathSyntaxError):
        parse_path(bad)


def test_roots() -> None:
    assert parse_path("$$.Execution.Id").root == "$$"
    assert parse_path("$myVar.field").root == "$myVar"
    assert parse_path("$.a").root == "$"


def test_set_reference_creates_objects_and_copies() -> None:
    data = {"a": {"b": 1}, "list": [1, 2]}
    out = set_reference(data, "$.a.c.d", "x")
    assert out == {"a": {"b": 1, "c": {"d": "x"}}, "list": [1, 2]}
    assert data == {"a": {"b": 1}, "list": [1, 2]}
    assert set_reference(data, "$.list[1]", 9)["list"] == [1, 9]
    assert set_reference(data, "$", 5) == 5


def test_set_reference_rejects_what_aws_rejects() -> None:
    with pytest.raises(ReferencePathError):
        set_reference({"a": "text"}, "$.a.b", 1)
    with pytest.raises(ReferencePathError):
        set_reference({}, "$.a[*]", 1)


@pytest.mark.parametrize(
    ("path", "data", "message"),
    [
        ("$.x", {}, "No results for path: $['x']"),
        ("$.a.b", {"a": {}}, "No results for path: $['a']['b']"),
        ("$.a.b.c", {"a": {}}, "Missing property in path $['a']['b']"),
        ("$.a[2].b", {"a": [1]}, "No results for path: $['a'][2]['b']"),
        ("$['x y'][0]", {"x y": []}, "No results for path: $['x y'][0]"),
    ],
)
def test_a_definite_path_that_finds_nothing_says_so_as_jayway_does(
    path: str, data: object, message: str
) -> None:
    with pytest.raises(PathNotFoundError) as missing:
        evaluate(path, data)
    assert str(missing.value) == message


@pytest.mark.parametrize(
    ("path", "readable", "writable"),
    [
        ("$.a[0]", True, True),
        ("$var.a", True, False),
        ("$$.Execution.Input", True, False),
        ("$.a[*]", False, False),
    ],
)
def test_reference_paths_read_from_any_root_and_write_only_into_the_input(
    path: str, readable: bool, writable: bool
) -> None:
    parsed = parse_path(path)
    assert (parsed.names_and_indices, parsed.is_reference) == (readable, writable)
