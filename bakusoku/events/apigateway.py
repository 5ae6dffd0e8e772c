"""API Gateway Lambda proxy events: REST API (payload 1.0) and HTTP API (payload 2.0)."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any

from bakusoku.events.base import EventView, parse_json
from bakusoku.events.errors import MalformedEventError


class _ProxyEvent(EventView):
    """What both payload versions share: headers, query, body (base64 when flagged)."""

    __slots__ = ()

    @property
    def headers(self) -> Mapping[str, str]:
        value = self._data.get("headers") or {}
        return {str(k): str(v) for k, v in value.items()}

    @property
    def query_string_parameters(self) -> Mapping[str, str]:
        value = self._data.get("queryStringParameters") or {}
        return {str(k): str(v) for k, v in value.items()}

    @property
    def path_parameters(self) -> Mapping[str, str]:
        value = self._data.get("pathParameters") or {}
        return {str(k): str(v) for k, v in value.items()}

    @property
    def is_base64_encoded(self) -> bool:
        return bool(self._data.get("isBase64Encoded"))

    @property
    def body(self) -> bytes | None:
        """The request body as sent, decoded from base64 when ``isBase64Encoded`` is true."""
        text = self._data.get("body")
        if text is None:
            return None
        if not isinstance(text, str):
            raise MalformedEventError(f"{self._where}: body is {type(text).__name__}, not text")
        if not self.is_base64_encoded:
            return text.encode("utf-8")
        try:
            return base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise MalformedEventError(
                f"{self._where}: isBase64Encoded is true but body is not base64"
            ) from None

    def json_body(self) -> Any:
        body = self.body
        if body is None:
            raise MalformedEventError(f"{self._where}: the request has no body")
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise MalformedEventError(f"{self._where}: body is not UTF-8 text") from None
        return parse_json(text, where=f"{self._where} body")


class APIGatewayRestEvent(_ProxyEvent):
    """REST API (and HTTP API payload 1.0) proxy event: ``resource``, ``path``, ``httpMethod``."""

    __slots__ = ()
    shape = "API Gateway REST proxy event"

    @property
    def resource(self) -> str:
        return self._str("resource")

    @property
    def path(self) -> str:
        return self._str("path")

    @property
    def http_method(self) -> str:
        return self._str("httpMethod")

    @property
    def stage(self) -> str | None:
        return self._opt_str("requestContext", "stage")

    @property
    def request_id(self) -> str | None:
        return self._opt_str("requestContext", "requestId")

    @property
    def multi_value_headers(self) -> Mapping[str, list[str]]:
        value = self._data.get("multiValueHeaders") or {}
        return {str(k): [str(v) for v in values] for k, values in value.items()}

    @staticmethod
    def matches(event: Mapping[str, Any]) -> bool:
        return (
            "httpMethod" in event
            and "requestContext" in event
            and "resource" in event
            and event.get("version", "1.0") == "1.0"
        )


class APIGatewayHttpEvent(_ProxyEvent):
    """HTTP API proxy event, payload format 2.0: ``routeKey``, ``rawPath``, ``requestContext.http``."""

    __slots__ = ()
    shape = "API Gateway HTTP API event"

    @property
    def route_key(self) -> str:
        return self._str("routeKey")

    @property
    def raw_path(self) -> str:
        return self._str("rawPath")

    @property
    def raw_query_string(self) -> str:
        return self._opt_str("rawQueryString") or ""

    @property
    def http_method(self) -> str:
        return self._str("requestContext", "http", "method")

    @property
    def stage(self) -> str | None:
        return self._opt_str("requestContext", "stage")

    @property
    def request_id(self) -> str | None:
        return self._opt_str("requestContext", "requestId")

    @property
    def cookies(self) -> list[str]:
        return [str(c) for c in self._data.get("cookies") or []]

    @staticmethod
    def matches(event: Mapping[str, Any]) -> bool:
        return event.get("version") == "2.0" and "routeKey" in event and "rawPath" in event
