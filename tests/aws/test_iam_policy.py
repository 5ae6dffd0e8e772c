"""The policy evaluator on AWS's documented evaluation cases (no I/O)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.aws.iam_policy import Decision, Request, UnsupportedPolicyError, evaluate, moto_permits

BUCKET = "arn:aws:s3:::photos"


def policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


LIST_UPLOADS = {
    "Effect": "Allow",
    "Action": ["s3:ListBucket"],
    "Resource": BUCKET,
    "Condition": {"StringLike": {"s3:prefix": ["uploads/*"]}},
}
PUT_RENDITIONS = {"Effect": "Allow", "Action": "s3:PutObject", "Resource": f"{BUCKET}/renditions/*"}


def test_allow_needs_action_and_resource() -> None:
    rules = [policy(PUT_RENDITIONS)]
    assert (
        evaluate(rules, Request("s3:PutObject", f"{BUCKET}/renditions/a.jpg")) is Decision.ALLOWED
    )
    assert (
        evaluate(rules, Request("S3:putobject", f"{BUCKET}/renditions/a.jpg")) is Decision.ALLOWED
    )
    assert (
        evaluate(rules, Request("s3:GetObject", f"{BUCKET}/renditions/a.jpg"))
        is Decision.IMPLICIT_DENY
    )
    assert (
        evaluate(rules, Request("s3:PutObject", f"{BUCKET}/uploads/a.jpg"))
        is Decision.IMPLICIT_DENY
    )
    # Resource ARNs are case-sensitive and '.' is not a wildcard.
    assert (
        evaluate(rules, Request("s3:PutObject", f"{BUCKET}/Renditions/a.jpg"))
        is Decision.IMPLICIT_DENY
    )
    assert (
        evaluate(
            [policy({**PUT_RENDITIONS, "Resource": "arn:aws:s3:::a.b/*"})],
            Request("s3:PutObject", "arn:aws:s3:::axb/k"),
        )
        is Decision.IMPLICIT_DENY
    )


def test_condition_keys_are_evaluated() -> None:
    rules = [policy(LIST_UPLOADS)]
    assert (
        evaluate(rules, Request("s3:ListBucket", BUCKET, {"s3:prefix": "uploads/a/"}))
        is Decision.ALLOWED
    )
    assert (
        evaluate(rules, Request("s3:ListBucket", BUCKET, {"s3:prefix": "renditions/"}))
        is Decision.IMPLICIT_DENY
    )
    # A listing without a prefix lacks the key: StringLike cannot hold.
    assert evaluate(rules, Request("s3:ListBucket", BUCKET)) is Decision.IMPLICIT_DENY
    # moto alone would let the second request through: it does not evaluate StringLike.
    assert moto_permits(rules, Request("s3:ListBucket", BUCKET))


def test_explicit_deny_wins_over_allow() -> None:
    deny = {
        "Effect": "Deny",
        "Action": "s3:*",
        "Resource": f"{BUCKET}/*",
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
    everything = {"Effect": "Allow", "Action": "*", "Resource": "*"}
    rules = [policy(everything), policy(deny)]
    assert (
        evaluate(rules, Request("s3:GetObject", f"{BUCKET}/k", {"aws:SecureTransport": "false"}))
        is Decision.EXPLICIT_DENY
    )
    assert (
        evaluate(rules, Request("s3:GetObject", f"{BUCKET}/k", {"aws:SecureTransport": "true"}))
        is Decision.ALLOWED
    )


def test_negated_operators_and_if_exists_on_missing_keys() -> None:
    not_equals = policy(
        {**PUT_RENDITIONS, "Condition": {"StringNotEquals": {"s3:x-amz-acl": "public-read"}}}
    )
    if_exists = policy(
        {**PUT_RENDITIONS, "Condition": {"StringEqualsIfExists": {"s3:x-amz-acl": "private"}}}
    )
    request = Request("s3:PutObject", f"{BUCKET}/renditions/a")
    assert evaluate([not_equals], request) is Decision.ALLOWED
    assert evaluate([if_exists], request) is Decision.ALLOWED
    public = Request("s3:PutObject", f"{BUCKET}/renditions/a", {"s3:x-amz-acl": "public-read"})
    assert evaluate([not_equals], public) is Decision.IMPLICIT_DENY
    assert evaluate([if_exists], public) is Decision.IMPLICIT_DENY


def test_not_action_and_not_resource() -> None:
    rules = [policy({"Effect": "Allow", "NotAction": "iam:*", "NotResource": f"{BUCKET}/secret/*"})]
    assert evaluate(rules, Request("s3:GetObject", f"{BUCKET}/a")) is Decision.ALLOWED
    assert (
        evaluate(rules, Request("iam:PassRole", "arn:aws:iam::1:role/r")) is Decision.IMPLICIT_DENY
    )
    assert evaluate(rules, Request("s3:GetObject", f"{BUCKET}/secret/a")) is Decision.IMPLICIT_DENY


def test_resource_policy_principals_and_case_insensitive_keys() -> None:
    rule = "arn:aws:events:ap-northeast-1:123456789012:rule/failed"
    permission = policy(
        {
            "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"},
            "Action": "lambda:InvokeFunction",
            "Resource": "arn:aws:lambda:ap-northeast-1:123456789012:function:notifier",
            "Condition": {"ArnLike": {"AWS:SourceArn": rule}},
        }
    )
    function = "arn:aws:lambda:ap-northeast-1:123456789012:function:notifier"
    events = {"Service": "events.amazonaws.com"}
    invoke = Request("lambda:InvokeFunction", function, {"aws:SourceArn": rule}, events)
    assert evaluate([permission], invoke) is Decision.ALLOWED
    other_rule = Request("lambda:InvokeFunction", function, {"aws:SourceArn": rule + "x"}, events)
    assert evaluate([permission], other_rule) is Decision.IMPLICIT_DENY
    someone = Request("lambda:InvokeFunction", function, {"aws:SourceArn": rule}, {"AWS": "x"})
    assert evaluate([permission], someone) is Decision.IMPLICIT_DENY


def test_unknown_operator_is_refused_not_guessed() -> None:
    rules = [
        policy({**PUT_RENDITIONS, "Condition": {"DateLessThan": {"aws:CurrentTime": "2030-01-01"}}})
    ]
    with pytest.raises(UnsupportedPolicyError):
        evaluate(rules, Request("s3:PutObject", f"{BUCKET}/renditions/a"))
