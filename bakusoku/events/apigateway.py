"""API Gateway Lambda proxy events: REST API (payload 1.0) and HTTP API (payload 2.0)."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any

from bakusoku.events.base import Embedded, EventView, malformed, parse_json
from bakusoku.events.fields import ARRAY


class _ProxyEvent(EventView):
    """What both payload versions share: headers, query, stage, request id, body (base64 when flagged)."""

    __slots__ = ()

    @property
    def headers(self) -> Mapping[str, str]:
        return self._text_map("headers")

    @property
    def query_string_parameters(self) -> Mapping[str, str]:
        return self._text_map("queryStringParameters")

    @property
    def path_parameters(self) -> Mapping[str, str]:
        return self._text_map("pathParameters")

    def _text_map(self, name: str) -> Mapping[str, str]:
        value = self._opt_mapping(name) or {}
        return {str(k): str(v) for k, v in value.items()}

    @property
    def stage(self) -> str | None:
        return self._opt_str("requestContext", "stage")

    @property
    def request_id(self) -> str | None:
        return self._opt_str("requestContext", "requestId")

    @property
    def is_base64_encoded(self) -> bool:
        return self._opt_bool("isBase64Encoded") is True

    @property
    def body(self) -> bytes | None:
        """The request body as sent, decoded from base64 when ``isBase64Encoded`` is true."""
        text = self._opt_str("body")
        if text is None:
            return None
        if not self.is_base64_encoded:
            return text.encode("utf-8")
        try:
            return base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise self.malformed("is not base64, though isBase64Encoded is true", "body") from None

    def json_body(self) -> Any:
        return self.embedded_body().document

    def embedded_body(self) -> Embedded:
        """The body parsed as JSON, with the path it was found at."""
        body = self.body
        if body is None:
            raise self.malformed("is missing: the request has no body", "body")
        text_path = self._path.key("body")
        if self.is_base64_encoded:
            text_path = text_path.then("@base64d")
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise malformed(self._where, text_path, "is not UTF-8 text") from None
        return Embedded(parse_json(text, where=self._where, path=text_path), text_path)


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
    def multi_value_headers(self) -> Mapping[str, list[str]]:
        value = self._opt_mapping("multiValueHeaders") or {}
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
    def cookies(self) -> list[str]:
        return [str(c) for c in self._field(("cookies",), ARRAY, required=False) or []]

    @staticmethod
    def matches(event: Mapping[str, Any]) -> bool:
        return event.get("version") == "2.0" and "routeKey" in event and "rawPath" in event
