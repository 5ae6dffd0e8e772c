"""The Java hash map order of lambda:invoke's headers; its compact error documents (tasks.py)."""

from __future__ import annotations

from bakusoku.workflow.tasks import java_hash_map_order, optimised_lambda_cause


def test_keys_iterate_by_bucket_then_insertion() -> None:
    # "Connection" and "x-amzn-RequestId" share a bucket of a 16-slot table: first in, first out.
    headers = ["Connection", "Content-Length", "Date", "x-amzn-RequestId"]
    assert java_hash_map_order(headers) == [
        "Connection",
        "x-amzn-RequestId",
        "Content-Length",
        "Date",
    ]
    assert java_hash_map_order(["x-amzn-RequestId", "Connection"]) == [
        "x-amzn-RequestId",
        "Connection",
    ]


def test_a_fuller_map_has_a_bigger_table() -> None:
    # A one-character key hashes to its code: "a" is 97, "q" is 113. In 16 slots both are in
    # bucket 1 (first in, first out); more than 12 keys (load factor 0.75) make 32 slots, where
    # "a" is in bucket 1 and "q" in bucket 17, after "a" to "m" (buckets 1 to 13).
    keys = [chr(ord("a") + i) for i in range(13)]
    assert java_hash_map_order(["q", "a"]) == ["q", "a"]
    assert java_hash_map_order(["q", *keys]) == [*keys, "q"]


def test_only_lambda_error_documents_are_rewritten() -> None:
    assert optimised_lambda_cause("Function not found") == "Function not found"
    assert optimised_lambda_cause('{"a": 1}') == '{"a": 1}'
    assert (
        optimised_lambda_cause('{"errorMessage": "m", "errorType": "E"}')
        == '{"errorMessage":"m","errorType":"E"}'
    )
