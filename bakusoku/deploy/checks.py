"""Checks of a package without AWS: cfn-lint, the SAM transform expanded offline, ASL validators.

Needs the ``aws`` extra (cfn-lint, aws-sam-translator, statelint, boto3). Each check returns the
problems it found as readable lines; an empty list means the check passed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from bakusoku.arns import function_arn
from bakusoku.pipeline.functions import PHOTO_PIPELINE
from bakusoku.pipeline.machines import StateMachine
from bakusoku.workflow.definition import DefinitionError, load_definition

FAKE_ACCOUNT = "123456789012"


def fake_function_arn(name: str, region: str, service: str = "svc", stage: str = "dev") -> str:
    return function_arn(region, FAKE_ACCOUNT, f"{service}-{stage}-{name}")


def cfn_lint(template: Mapping[str, Any], region: str, ignore: Iterable[str] = ()) -> list[str]:
    """cfn-lint errors and warnings of ``template`` (``ignore``: rule ids such as ``W3005``)."""
    from cfnlint.api import ManualArgs, lint

    config = ManualArgs(regions=[region], ignore_checks=list(ignore))
    matches = lint(json.dumps(template), config=config)
    return [f"{m.rule.id} {m.message} ({'/'.join(map(str, m.path or []))})" for m in matches]


def expand_sam(template: Mapping[str, Any], region: str) -> dict[str, Any]:
    """Plain CloudFormation from a SAM template, as the transform would make it (no AWS calls).

    Local ``CodeUri`` folders become S3 URIs first, as ``sam package`` would make them.
    Managed policy names are not looked up (the loader returns no policies), as offline.
    """
    import boto3
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.translator import Translator

    packaged = json.loads(json.dumps(template))
    for resource in packaged["Resources"].values():  # as `sam package` uploads the code
        props = resource.get("Properties", {})
        if resource["Type"] == "AWS::Serverless::Function" and "://" not in props["CodeUri"]:
            props["CodeUri"] = f"s3://package-bucket/{props['CodeUri']}.zip"
    translator = Translator(None, Parser(), boto_session=boto3.Session(region_name=region))
    expanded: dict[str, Any] = translator.translate(
        packaged, parameter_values={}, get_managed_policy_map=dict
    )
    return expanded


def statelint(definition: Mapping[str, Any]) -> list[str]:
    """statelint's problems with an ASL definition (JSON, placeholders already filled)."""
    from statelint.config import Config
    from statelint.linter import Linter

    problems: list[str] = Linter.validate(json.dumps(definition), Config())
    return [str(p) for p in problems]


def bakusoku_validate(definition: Mapping[str, Any]) -> list[str]:
    """bakusoku's own ASL validator (the one the local engine loads definitions with)."""
    try:
        load_definition(definition)
    except DefinitionError as exc:
        return [str(exc)]
    return []


def local_definition(region: str, machine: StateMachine = PHOTO_PIPELINE) -> dict[str, Any]:
    """The definition of ``machine`` the local engine would run, with fake but well-formed
    function ARNs."""
    arns = {f: fake_function_arn(f, region) for f in machine.function_names}
    return load_definition(machine.definition_text(), machine.substitutions(arns))


def local_definitions(region: str, machines: Iterable[StateMachine]) -> dict[str, Any]:
    """Each of ``machines`` by its logical id, as ``local_definition`` makes it."""
    return {machine.logical_id: local_definition(region, machine) for machine in machines}


def deployed_definition(expanded: Mapping[str, Any], state_machine: str) -> tuple[str, Any]:
    """The state machine's definition string and substitutions in an expanded template."""
    props = expanded["Resources"][state_machine]["Properties"]
    text = props["DefinitionString"]
    if isinstance(text, dict) and "Fn::Join" in text:
        separator, parts = text["Fn::Join"]
        text = separator.join(parts)
    return str(text), props.get("DefinitionSubstitutions", {})
