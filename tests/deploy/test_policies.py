"""The roles' Rekognition permissions: exactly the calls each function makes, on the stack's own
collections, proven by evaluating the template's statements (no I/O).

Every Rekognition action botocore's model knows is asked, for a collection of this stack, one of
another stack, and ``*``, with and without the stack's creation tag; what the evaluator allows must
be exactly the calls ``bakusoku.faces.rekognition`` makes for that function, and nothing else.
"""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any

import botocore.session
import pytest

from bakusoku.config import env_name, load_settings
from bakusoku.deploy import checks
from bakusoku.deploy.policies import REKOGNITION_ACTIONS, function_statements
from bakusoku.deploy.sam import build_template, function_environment, logical_id
from bakusoku.deploy.serverless import build_serverless
from bakusoku.deploy.stages import FUNCTION_NAMES, StageConfig, load_stage
from bakusoku.deploy.vpc import REKOGNITION_ENDPOINT
from bakusoku.faces.port import AlbumRef
from bakusoku.faces.rekognition import PREFIX_TAG, REKOGNITION, collection_id, collection_prefix
from tests.aws.iam_policy import Decision, Request, evaluate
from tests.deploy.conftest import REGION, example_settings

ACCOUNT = "123456789012"
ALL_ACTIONS = sorted(
    f"rekognition:{op}"
    for op in botocore.session.get_session().get_service_model("rekognition").operation_names
)


def _stage(service: str = "enphoto", stage: str = "prod", **changes: Any) -> StageConfig:
    settings = dataclasses.replace(example_settings(), face_index=REKOGNITION, **changes)
    return load_stage(settings, service, stage, environ={})


def _resolve(value: Any) -> Any:
    """The template's Fn::Sub strings as CloudFormation resolves them in REGION and ACCOUNT."""
    if isinstance(value, dict) and set(value) == {"Fn::Sub"}:
        known = {"AWS::Partition": "aws", "AWS::Region": REGION, "AWS::AccountId": ACCOUNT}
        return re.sub(
            r"\$\{([^}]+)\}", lambda m: known.get(m.group(1), f"<{m.group(1)}>"), value["Fn::Sub"]
        )
    if isinstance(value, dict) and set(value) & {"Ref", "Fn::GetAtt"}:
        return f"<{json.dumps(value)}>"  # the stack's other resources: no Rekognition ARN
    if isinstance(value, dict):
        return {k: _resolve(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v) for v in value]
    return value


def _policy(name: str, stage: StageConfig) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": _resolve(function_statements(name, stage))}


def _arn(collection: str) -> str:
    return f"arn:aws:rekognition:{REGION}:{ACCOUNT}:collection/{collection}"


def _allowed(policy: dict[str, Any], own: str, other: str, tag: str) -> set[tuple[str, str, str]]:
    """(action, resource, tagged?) of every Rekognition request the policy allows."""
    found = set()
    contexts = {
        "untagged": {"aws:SecureTransport": "true"},
        "tagged": {
            "aws:SecureTransport": "true",
            f"aws:RequestTag/{PREFIX_TAG}": tag,
            "aws:TagKeys": [PREFIX_TAG],
        },
        "other-tag": {
            "aws:SecureTransport": "true",
            f"aws:RequestTag/{PREFIX_TAG}": "someone-else.",
            "aws:TagKeys": [PREFIX_TAG],
        },
    }
    for action in ALL_ACTIONS:
        for where, resource in (("own", _arn(own)), ("other", _arn(other)), ("*", "*")):
            for label, context in contexts.items():
                if evaluate([policy], Request(action, resource, context)) is Decision.ALLOWED:
                    found.add((action, where, label))
    return found


def test_each_function_may_make_exactly_its_rekognition_calls_on_its_own_collections() -> None:
    stage = _stage()
    prefix = "enphoto-prod-faces."
    own = collection_id(prefix, AlbumRef("school-a", "sports-day"))
    # Another stack's collections share no prefix (enphoto-prod-faces2. is not ours either).
    other = collection_id("enphoto-dev-faces.", AlbumRef("school-a", "sports-day"))
    for lookalike in (other, "enphoto-prod-facesX.a.b", "kurapuri-prod-faces.a.b"):
        assert not lookalike.startswith(prefix)
    expected = {
        "index-faces": {
            (f"rekognition:{action}", "own", label)
            for action in ("IndexFaces", "DeleteFaces")
            for label in ("untagged", "tagged", "other-tag")
        }
        # Creation: CreateCollection takes no resource but needs the stack's tag, and tagging the
        # new collection is TagResource on it, allowed under the prefix only.
        | {("rekognition:CreateCollection", where, "tagged") for where in ("own", "other", "*")}
        | {("rekognition:TagResource", "own", "tagged")},
        "api": {
            (f"rekognition:{action}", "own", label)
            for action in ("SearchFacesByImage", "SearchFaces", "DeleteFaces", "DeleteCollection")
            for label in ("untagged", "tagged", "other-tag")
        },
    }
    for name in FUNCTION_NAMES:
        allowed = _allowed(_policy(name, stage), own, other, prefix)
        assert allowed == expected.get(name, set()), name


def test_creating_a_collection_outside_the_prefix_fails_at_its_tag() -> None:
    """What AWS asks for CreateCollection with tags: the action (no resource) and TagResource on
    the new collection. Only a collection under the prefix passes both."""
    policy = _policy("index-faces", _stage())
    tagged = {f"aws:RequestTag/{PREFIX_TAG}": "enphoto-prod-faces.", "aws:TagKeys": [PREFIX_TAG]}

    def may_create(collection: str) -> bool:
        return all(
            evaluate([policy], request) is Decision.ALLOWED
            for request in (
                Request("rekognition:CreateCollection", "*", tagged),
                Request("rekognition:TagResource", _arn(collection), tagged),
            )
        )

    assert may_create("enphoto-prod-faces.school-a.sports-day")
    assert not may_create("anything-else")
    untagged = Request("rekognition:CreateCollection", "*", {})
    assert evaluate([policy], untagged) is Decision.IMPLICIT_DENY


def test_the_functions_name_collections_under_the_prefix_their_role_allows() -> None:
    """The prefix reaches the functions in their environment; what they build from it is allowed."""
    stage = _stage(service_name="some-other-name")  # the stack's name wins, not the setting's
    for name, actions in REKOGNITION_ACTIONS.items():
        env = function_environment(name, stage)
        settings = load_settings(
            config_file=None, environ={k: v for k, v in env.items() if isinstance(v, str)}
        )
        assert settings.face_index == REKOGNITION
        made = collection_id(collection_prefix(settings), AlbumRef("school-a", "day-1"))
        request = Request(f"rekognition:{actions[-1]}", _arn(made), {})
        assert evaluate([_policy(name, stage)], request) is Decision.ALLOWED, (name, made)
    assert env_name("face_collection_prefix") not in function_environment("store-photo", stage)


def test_an_explicit_prefix_setting_scopes_the_roles_to_it() -> None:
    stage = _stage(face_collection_prefix="shared-faces.")
    policy = _policy("api", stage)
    allowed = Request("rekognition:SearchFaces", _arn("shared-faces.a.b"), {})
    assert evaluate([policy], allowed) is Decision.ALLOWED
    assert function_environment("api", stage)[env_name("face_collection_prefix")] == (
        "shared-faces."
    )


def test_without_rekognition_no_role_mentions_it() -> None:
    stage = load_stage(example_settings(), "enphoto", "prod", environ={})
    template = build_template(stage)
    assert "rekognition" not in json.dumps(template).lower()


def test_a_vpc_stage_gets_a_rekognition_endpoint() -> None:
    stage = _stage()
    assert stage.vpc is not None and stage.vpc.endpoints
    endpoint = build_template(stage)["Resources"][REKOGNITION_ENDPOINT]["Properties"]
    assert endpoint["ServiceName"] == {"Fn::Sub": "com.amazonaws.${AWS::Region}.rekognition"}
    assert endpoint["PrivateDnsEnabled"] is True


@pytest.mark.parametrize("case", [("enphoto", "prod"), ("kurapuri", "dev")])
def test_the_templates_with_rekognition_pass_cfn_lint(case: tuple[str, str]) -> None:
    template = build_template(_stage(*case))
    assert checks.cfn_lint(template, REGION) == []
    assert checks.cfn_lint(checks.expand_sam(template, REGION), REGION) == []


def test_serverless_gives_the_same_statements() -> None:
    stage = _stage()
    document = json.dumps(build_serverless(stage, [stage]))
    for name in REKOGNITION_ACTIONS:
        for statement in function_statements(name, stage):
            for action in statement["Action"]:
                assert action in document
    assert f"aws:RequestTag/{PREFIX_TAG}" in document
    assert ":collection/enphoto-prod-faces.*" in document
    sam_roles = build_template(stage)["Resources"][logical_id("api")]["Properties"]["Policies"]
    assert "rekognition:SearchFaces" in json.dumps(sam_roles)
