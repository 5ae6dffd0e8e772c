"""JSON marshalling of invocation payloads and results, with Lambda's size limits and messages."""

from __future__ import annotations

import decimal
import json
from typing import Any

from bakusoku.runtime.errors import InvalidRequestContentError, RequestTooLargeError

# Lambda's synchronous Invoke limits: the request body, and the response the service accepts.
MAX_REQUEST_BYTES = 6_291_456
MAX_RESPONSE_BYTES = 6_291_556


def _default(value: object) -> object:
    # Lambda's Python runtime writes Decimal (DynamoDB numbers) as numbers; keep that behaviour.
    if isinstance(value, decimal.Decimal):
        if value.is_nan():
            raise ValueError("Out of range float values are not JSON compliant")
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def dumps(value: Any) -> bytes:
    """Serialise to strict JSON (no NaN/Infinity); raises TypeError/ValueError as ``json`` does."""
    return json.dumps(value, default=_default, allow_nan=False, ensure_ascii=False).encode()


def encode_request(payload: Any, *, request_id: str) -> bytes:
    """Turn an invoke payload into the JSON bytes the function receives, or raise Lambda's error.

    ``bytes`` are taken as an already serialised JSON document, as boto3's ``Payload=`` is.
    """
    if isinstance(payload, bytes | bytearray | memoryview):
        body = bytes(payload)
        try:
            json.loads(body)
        except ValueError as exc:
            raise InvalidRequestContentError(
                f"Could not parse request body into json: {exc}", request_id=request_id
            ) from exc
    else:
        try:
            body = dumps(payload)
        except (TypeError, ValueError) as exc:
            raise InvalidRequestContentError(
                f"Could not parse request body into json: {exc}; pass JSON-serialisable values "
                "(dict, list, str, int, float, bool, None)",
                request_id=request_id,
            ) from exc
    if len(body) > MAX_REQUEST_BYTES:
        raise RequestTooLargeError(
            f"Request must be smaller than {MAX_REQUEST_BYTES} bytes for the InvokeFunction "
            f"operation (this one is {len(body)} bytes); put large data in S3 and pass its key",
            request_id=request_id,
        )
    return body


def decode_response(body: bytes, content_type: str) -> Any:
    """The caller's view of a result: parsed JSON, or the raw bytes the handler returned."""
    if content_type != "application/json":
        return body
    return json.loads(body)
