"""S3 presigned POST (browser form upload) policy verification with SigV4 signatures."""

from __future__ import annotations

import base64
import binascii
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bakusoku.storage.errors import EntityTooLargeError, EntityTooSmallError, S3Error
from bakusoku.storage.sigv4 import (
    ALGORITHM,
    lookup_secret,
    parse_amz_date,
    parse_credential,
    signature,
    signing_key,
)

# Form fields that no policy condition needs to mention (S3's rule); ``x-ignore-*`` also.
_EXEMPT_FIELDS = frozenset({"policy", "x-amz-signature", "file"})
_REQUIRED_FIELDS = ("key", "policy", "x-amz-algorithm", "x-amz-credential", "x-amz-date")


@dataclass(frozen=True)
class PostPolicy:
    """A verified POST policy: who signed it, until when, and the allowed body size range."""

    access_key: str
    expiration: datetime
    key: str
    min_size: int
    max_size: int | None

    def check_size(self, size: int) -> None:
        """Raise S3's 400 ``EntityTooLarge``/``EntityTooSmall`` if ``size`` is outside the range."""
        if self.max_size is not None and size > self.max_size:
            raise EntityTooLargeError(
                "Your proposed upload exceeds the maximum allowed size",
                extra={"ProposedSize": str(size), "MaxSizeAllowed": str(self.max_size)},
            )
        if size < self.min_size:
            raise EntityTooSmallError(
                "Your proposed upload is smaller than the minimum allowed size",
                extra={"ProposedSize": str(size), "MinSizeAllowed": str(self.min_size)},
            )


def lower_fields(fields: Mapping[str, str]) -> dict[str, str]:
    """Form field names are case-insensitive on S3; the first occurrence of a name wins."""
    lowered: dict[str, str] = {}
    for name, value in fields.items():
        lowered.setdefault(name.lower(), value)
    return lowered


def object_key(fields: Mapping[str, str], filename: str | None) -> str:
    """The key field with ``${filename}`` replaced by the uploaded file's name, as S3 does."""
    key = lower_fields(fields).get("key", "")
    return key.replace("${filename}", filename or "")


def verify_post_policy(
    fields: Mapping[str, str],
    *,
    bucket: str,
    credentials: Mapping[str, str],
    region: str,
    now: datetime,
    filename: str | None = None,
) -> PostPolicy:
    """Verify the form fields of a presigned POST (all fields before ``file``) as S3 does.

    Raises :class:`S3Error`: 403 ``AccessDenied`` for an unsigned form, an expired policy, a failed
    condition or a field no condition covers; 400 ``InvalidArgument`` for a missing field; 403
    ``SignatureDoesNotMatch``/``InvalidAccessKeyId`` for bad credentials; 400
    ``InvalidPolicyDocument`` for a policy that is not valid base64 JSON. The body size is checked
    afterwards with :meth:`PostPolicy.check_size`, as the file streams in.
    """
    form = lower_fields(fields)
    if "policy" not in form and "x-amz-signature" not in form:
        raise S3Error(
            "Access Denied: the form has no 'policy' and 'x-amz-signature' fields; use a presigned"
            " POST.",
            code="AccessDenied",
            status=403,
        )
    for name in (*_REQUIRED_FIELDS, "x-amz-signature"):
        if name not in form:
            raise S3Error(
                f"Bucket POST must contain a field named '{name}'.  If it is specified, please"
                " check the order of the fields.",
                code="InvalidArgument",
                status=400,
                extra={"ArgumentName": name, "ArgumentValue": ""},
            )
    if form["x-amz-algorithm"] != ALGORITHM:
        raise S3Error(
            f'X-Amz-Algorithm only supports "{ALGORITHM}"',
            code="InvalidArgument",
            status=400,
            extra={"ArgumentName": "x-amz-algorithm", "ArgumentValue": form["x-amz-algorithm"]},
        )
    amz_date = form["x-amz-date"]
    parse_amz_date(amz_date, code="InvalidArgument")
    scope = parse_credential(form["x-amz-credential"], region=region, code="InvalidArgument")
    if scope.date != amz_date[:8]:
        raise S3Error(
            f"The date {scope.date} in x-amz-credential is not the date of x-amz-date {amz_date}.",
            code="InvalidArgument",
            status=400,
        )
    secret = lookup_secret(credentials, scope.access_key)
    expected = signature(signing_key(secret, scope.date, region), form["policy"])
    if not hmac.compare_digest(expected, form["x-amz-signature"]):
        raise S3Error(
            "The request signature we calculated does not match the signature you provided."
            " Check your key and signing method.",
            code="SignatureDoesNotMatch",
            status=403,
            extra={
                "AWSAccessKeyId": scope.access_key,
                "StringToSign": form["policy"],
                "SignatureProvided": form["x-amz-signature"],
            },
        )
    policy = _decode_policy(form["policy"])
    expiration = _parse_expiration(policy.get("expiration"))
    if now >= expiration:
        raise _denied("Invalid according to Policy: Policy expired.")
    key = object_key(form, filename)
    values = {**form, "key": key, "bucket": bucket}
    covered: set[str] = set()
    min_size, max_size = 0, None
    conditions = policy.get("conditions")
    if not isinstance(conditions, list):
        raise _invalid_policy("Invalid Policy: Policy missing conditions.")
    for condition in conditions:
        if isinstance(condition, dict) and len(condition) == 1:
            ((name, expected_value),) = condition.items()
            _check(values, "eq", str(name).lower(), expected_value, condition)
            covered.add(str(name).lower())
        elif isinstance(condition, list) and len(condition) == 3:
            operator = str(condition[0]).lower()
            if operator == "content-length-range":
                min_size, max_size = _length_range(condition)
                continue
            if operator not in ("eq", "starts-with") or not str(condition[1]).startswith("$"):
                raise _invalid_policy(f"Invalid Policy: Invalid Condition {_json(condition)}.")
            name = str(condition[1])[1:].lower()
            _check(values, operator, name, condition[2], condition)
            covered.add(name)
        else:
            raise _invalid_policy(f"Invalid Policy: Invalid Simple-Condition {_json(condition)}.")
    extra_fields = sorted(
        name
        for name in form
        if name not in covered and name not in _EXEMPT_FIELDS and not name.startswith("x-ignore-")
    )
    if extra_fields:
        raise _denied(f"Invalid according to Policy: Extra input fields: {', '.join(extra_fields)}")
    return PostPolicy(scope.access_key, expiration, key, min_size, max_size)


def _check(
    values: Mapping[str, str], operator: str, name: str, expected: Any, condition: Any
) -> None:
    actual = values.get(name, "")
    expected_text = str(expected)
    ok = actual == expected_text if operator == "eq" else actual.startswith(expected_text)
    if not ok:
        if isinstance(condition, dict):
            condition = ["eq", f"${name}", expected_text]
        raise _denied(f"Invalid according to Policy: Policy Condition failed: {_json(condition)}")


def _length_range(condition: list[Any]) -> tuple[int, int]:
    try:
        low, high = int(condition[1]), int(condition[2])
    except (TypeError, ValueError):
        raise _invalid_policy(
            f"Invalid Policy: Invalid content-length-range {_json(condition)}; use integers."
        ) from None
    if low < 0 or high < low:
        raise _invalid_policy(f"Invalid Policy: Invalid content-length-range {_json(condition)}.")
    return low, high


def _decode_policy(encoded: str) -> dict[str, Any]:
    try:
        policy = json.loads(base64.b64decode(encoded, validate=True))
    except (binascii.Error, ValueError):
        raise _invalid_policy("Invalid Policy: Invalid JSON.") from None
    if not isinstance(policy, dict):
        raise _invalid_policy("Invalid Policy: Invalid JSON.")
    return policy


def _parse_expiration(value: Any) -> datetime:
    if not isinstance(value, str):
        raise _invalid_policy("Invalid Policy: Policy missing expiration.")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise _invalid_policy(f"Invalid Policy: Invalid 'expiration' value: '{value}'") from None
    if moment.tzinfo is None:
        raise _invalid_policy(f"Invalid Policy: Invalid 'expiration' value: '{value}'")
    return moment.astimezone(UTC)


def _json(value: Any) -> str:
    return json.dumps(value, separators=(", ", ": "))


def _denied(message: str) -> S3Error:
    return S3Error(message, code="AccessDenied", status=403)


def _invalid_policy(message: str) -> S3Error:
    return S3Error(message, code="InvalidPolicyDocument", status=400)
