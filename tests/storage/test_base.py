"""The object store port: both stores satisfy it as mypy sees it, and bodies are read in chunks."""

from __future__ import annotations

import io
import textwrap

import pytest

from bakusoku.storage.base import body_chunks

mypy_api = pytest.importorskip("mypy.api", reason="needs mypy: pip install -e '.[test]'")

# A typed assignment of each store to the port, checked by mypy as scripts/lint checks the package.
CONFORMANCE = """
from bakusoku.storage.base import ObjectStore
from bakusoku.storage.local import LocalObjectStore
from bakusoku.storage.s3 import S3ObjectStore

def local(store: LocalObjectStore) -> ObjectStore:
    return store

def s3(store: S3ObjectStore) -> ObjectStore:
    return store
"""

# The control: a store without deletes is not an ObjectStore, so the check above can fail.
NOT_A_STORE = """
from bakusoku.storage.base import ObjectInfo, ObjectStore

class ReadOnly:
    def head_object(self, bucket: str, key: str) -> ObjectInfo: ...

store: ObjectStore = ReadOnly()
"""


def _mypy(program: str) -> tuple[str, int]:
    stdout, stderr, status = mypy_api.run(
        [
            "--config-file=",  # the project's file names the package; this checks one program
            "--ignore-missing-imports",
            "--follow-imports=silent",
            "--no-incremental",
            "-c",
            textwrap.dedent(program),
        ]
    )
    return stdout + stderr, status


def test_both_stores_satisfy_the_port() -> None:
    output, status = _mypy(CONFORMANCE)
    assert status == 0, output


def test_a_store_missing_an_operation_does_not() -> None:
    output, status = _mypy(NOT_A_STORE)
    assert status == 1 and '"ReadOnly"' in output and "ObjectStore" in output, output


def test_bytes_are_cut_into_chunks_of_the_given_size() -> None:
    assert list(body_chunks(b"abcdefg", size=3)) == [b"abc", b"def", b"g"]
    assert list(body_chunks(memoryview(b"abcd"), size=2)) == [b"ab", b"cd"]
    assert list(body_chunks(b"")) == []


def test_files_are_read_and_iterators_pass_unchanged() -> None:
    assert list(body_chunks(io.BytesIO(b"abcde"), size=2)) == [b"ab", b"cd", b"e"]
    assert list(body_chunks(iter([b"one", b"", b"three"]))) == [b"one", b"", b"three"]
