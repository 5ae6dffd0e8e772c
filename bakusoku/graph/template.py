"""The system map read from a stack's template: the one description the AWS stack is built from.

``bakusoku.deploy.sam`` builds the SAM template from the function table, the ASL file and the
configuration; this module walks that template, so the map shows exactly what is deployed (and,
being built from the same inputs, what ``bakusoku up`` runs): every function with its event
sources (EventBridge rules and their patterns, HTTP APIs, schedules, object prefixes, queues,
custom resources), the state machine's states from its embedded ASL definition and its
DefinitionSubstitutions, dead-letter queues (of rules and schedules, and the on-failure
destinations of asynchronously invoked functions), the bucket prefixes each function's IAM policy
reaches and the database its environment names. The database's tables are given by the caller
(they are not in the template).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from bakusoku.config import env_name
from bakusoku.graph.model import Edge, EdgeKind, Node, NodeKind, SystemGraph, safe_id

_FUNCTION = "AWS::Serverless::Function"
_STATE_MACHINE = "AWS::Serverless::StateMachine"
_QUEUE = "AWS::SQS::Queue"
_HTTP_APIS = ("AWS::Serverless::HttpApi", "AWS::Serverless::Api")
_DATABASE = "database"
_READ_ACTIONS = {"s3:GetObject", "s3:HeadObject"}
_WRITE_ACTIONS = {"s3:PutObject", "s3:DeleteObject"}


class _Builder:
    """Collects nodes and edges once each, in the order they are first met."""

    def __init__(self, resources: Mapping[str, Any], name_prefix: str) -> None:
        self.resources = resources
        self.name_prefix = name_prefix
        self.nodes: dict[str, Node] = {}
        self.edges: dict[str, Edge] = {}

    def node(
        self,
        node_id: str,
        kind: NodeKind,
        label: str,
        detail: str = "",
        group: str = "",
        attrs: Mapping[str, str] | None = None,
    ) -> str:
        if node_id not in self.nodes:
            self.nodes[node_id] = Node(node_id, kind, label, detail, group, dict(attrs or {}))
        return node_id

    def edge(self, source: str, target: str, kind: EdgeKind, label: str = "") -> None:
        edge = Edge(source, target, kind, label)
        self.edges.setdefault(edge.key, edge)

    def short(self, physical_name: str) -> str:
        """``bakusoku-prod-object-created`` → ``object-created``: the stack's prefix is noise."""
        return physical_name.removeprefix(self.name_prefix) or physical_name

    def prefix_node(self, bucket: str, prefix: str) -> str:
        return self.node(
            safe_id(bucket, prefix or "all"),
            "prefix",
            f"{bucket}/{prefix}",
            "objects under this prefix",
            attrs={"bucket": bucket, "prefix": prefix},
        )


def graph_from_template(
    template: Mapping[str, Any],
    *,
    tables: Sequence[str] = (),
    title: str = "",
    links: Mapping[str, str] | None = None,
) -> SystemGraph:
    """The map of the stack ``template`` describes; ``tables`` are the database's tables."""
    resources: Mapping[str, Any] = template.get("Resources", {})
    build = _Builder(resources, _name_prefix(resources))
    for logical, resource in resources.items():
        kind = resource.get("Type", "")
        props = resource.get("Properties", {})
        if kind == _QUEUE:
            name = build.short(str(props.get("QueueName", logical)))
            build.node(logical, "queue", name, "SQS queue", attrs={"queue": name})
        elif kind in _HTTP_APIS:
            build.node(logical, "api", "HTTP API", "API Gateway")
    for logical, resource in resources.items():
        kind = resource.get("Type", "")
        props = resource.get("Properties", {})
        if kind == _STATE_MACHINE:
            _state_machine(build, logical, props)
        elif kind == _FUNCTION:
            _function(build, logical, props)
        elif kind.startswith("Custom::") or kind == "AWS::CloudFormation::CustomResource":
            _custom_resource(build, logical, kind, props)
    if any(e.target == _DATABASE for e in build.edges.values()):
        for table in tables:
            build.node(safe_id("table", table), "table", table, "table", attrs={"table": table})
            build.edge(_DATABASE, safe_id("table", table), "holds")
    return SystemGraph(
        title=title or str(template.get("Description", "")).split(":")[0],
        nodes=tuple(build.nodes.values()),
        edges=tuple(build.edges.values()),
        links=dict(links or {}),
    )


def _name_prefix(resources: Mapping[str, Any]) -> str:
    """``service-stage-``, from the tags every function carries, or nothing."""
    for resource in resources.values():
        tags = resource.get("Properties", {}).get("Tags")
        if isinstance(tags, Mapping) and "service" in tags and "stage" in tags:
            return f"{tags['service']}-{tags['stage']}-"
    return ""


# ---- functions -----------------------------------------------------------------------------------


def _function(build: _Builder, logical: str, props: Mapping[str, Any]) -> None:
    tags = props.get("Tags", {})
    name = str(tags.get("function") or build.short(str(props.get("FunctionName", logical))))
    detail = f"{props.get('MemorySize', '?')} MB, {props.get('Timeout', '?')} s"
    if props.get("ReservedConcurrentExecutions") is not None:
        detail += f", {props['ReservedConcurrentExecutions']} reserved"
    build.node(logical, "function", name, detail, attrs={"function": name})
    for event_name, event in props.get("Events", {}).items():
        _event_source(build, logical, event_name, event)
    _on_failure(build, logical, props.get("EventInvokeConfig", {}))
    variables = props.get("Environment", {}).get("Variables", {})
    if env_name("database_secret_arn") in variables or env_name("database_url") in variables:
        build.node(_DATABASE, "database", "database", "the application's tables")
        build.edge(logical, _DATABASE, "uses")
    for statement in _statements(props.get("Policies", [])):
        _access(build, logical, statement)


def _on_failure(build: _Builder, function: str, config: Mapping[str, Any]) -> None:
    """Lambda's on-failure destination: where asynchronous events go after the last retry."""
    destination = config.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
    queue = _get_att(destination)
    if queue and queue in build.nodes:
        retries = config.get("MaximumRetryAttempts", 2)
        build.edge(function, queue, "dead_letters", f"failed after {retries} retries")


def _statements(policies: Iterable[Any]) -> Iterator[Mapping[str, Any]]:
    for policy in policies:
        if isinstance(policy, Mapping):
            yield from policy.get("Statement", [])


def _access(build: _Builder, function: str, statement: Mapping[str, Any]) -> None:
    """The bucket prefixes and state machines an Allow statement lets ``function`` reach."""
    if statement.get("Effect") != "Allow":
        return
    actions = set(_as_list(statement.get("Action")))
    for resource in _as_list(statement.get("Resource")):
        text = _sub_text(resource)
        if text is None:
            continue
        bucket_prefix = _object_prefix(text)
        if bucket_prefix is not None:
            prefix = build.prefix_node(*bucket_prefix)
            if actions & _READ_ACTIONS:
                build.edge(function, prefix, "reads", "get")
            if actions & _WRITE_ACTIONS:
                verbs = sorted(
                    a.removeprefix("s3:").removesuffix("Object").lower()
                    for a in actions & _WRITE_ACTIONS
                )
                build.edge(function, prefix, "writes", ", ".join(verbs))
        machine = _machine_of_execution_arn(build, text)
        if machine and any(a.startswith("states:") for a in actions):
            calls = sorted(a.removeprefix("states:") for a in actions if a.startswith("states:"))
            build.edge(function, machine, "uses", ", ".join(calls))


def _object_prefix(text: str) -> tuple[str, str] | None:
    """``${PhotoBucket.Arn}/uploads/*`` → ``("PhotoBucket", "uploads/")``."""
    if not text.startswith("${") or ".Arn}/" not in text:
        return None
    bucket, rest = text[2:].split(".Arn}/", 1)
    return bucket, rest.rstrip("*")


def _machine_of_execution_arn(build: _Builder, text: str) -> str | None:
    if ":execution:" not in text:
        return None
    name = text.split(":execution:", 1)[1].split(":", 1)[0]
    for logical, resource in build.resources.items():
        properties = resource.get("Properties", {})
        if resource.get("Type") == _STATE_MACHINE and properties.get("Name") == name:
            return logical
    return None


# ---- event sources -------------------------------------------------------------------------------


def _event_source(build: _Builder, target: str, event_name: str, event: Mapping[str, Any]) -> None:
    kind = event.get("Type", "")
    props = event.get("Properties", {})
    if kind == "EventBridgeRule":
        _rule(build, target, event_name, props)
    elif kind in ("HttpApi", "Api"):
        api = _ref(props.get("ApiId") or props.get("RestApiId")) or "ServerlessHttpApi"
        build.node(api, "api", "HTTP API", "API Gateway")
        route = " ".join(str(props[k]) for k in ("Method", "Path") if k in props)
        build.edge(api, target, "triggers", route or "every route")
    elif kind in ("Schedule", "ScheduleV2"):
        expression = str(props.get("Schedule") or props.get("ScheduleExpression", ""))
        source = build.node(
            safe_id(target, event_name), "source", expression, f"schedule {event_name}"
        )
        build.edge(source, target, "triggers", event_name)
        queue = _get_att(props.get("DeadLetterConfig", {}).get("Arn"))
        if queue:
            build.edge(source, queue, "dead_letters", "undeliverable")
    elif kind == "S3":
        bucket = _ref(props.get("Bucket")) or "bucket"
        prefix = _s3_filter_prefix(props.get("Filter", {}))
        build.edge(build.prefix_node(bucket, prefix), target, "triggers", "object created")
    elif kind == "SQS":
        queue = _get_att(props.get("Queue")) or safe_id(event_name)
        build.node(queue, "queue", queue, "SQS queue")
        build.edge(queue, target, "triggers", f"batch {props.get('BatchSize', 10)}")
    else:
        source = build.node(safe_id(target, event_name), "source", event_name, kind)
        build.edge(source, target, "triggers")


def _rule(build: _Builder, target: str, event_name: str, props: Mapping[str, Any]) -> None:
    name = build.short(str(props.get("RuleName", f"{target}{event_name}")))
    pattern = props.get("Pattern", {})
    rule = build.node(safe_id("rule", name), "rule", name, "EventBridge rule", attrs={"rule": name})
    build.edge(rule, target, "triggers")
    detail = pattern.get("detail", {})
    bucket = _ref(_first(detail.get("bucket", {}).get("name")))
    machine = _ref(_first(detail.get("stateMachineArn")))
    if bucket:
        key = _first(detail.get("object", {}).get("key"))
        prefix = str(key.get("prefix", "")) if isinstance(key, Mapping) else ""
        build.edge(
            build.prefix_node(bucket, prefix),
            rule,
            "emits",
            ", ".join(pattern.get("detail-type", [])),
        )
    elif machine:
        build.edge(machine, rule, "emits", ", ".join(str(s) for s in detail.get("status", [])))
    else:
        for source_name in pattern.get("source", ["events"]):
            source = build.node(
                safe_id("source", source_name), "source", source_name, "event source"
            )
            build.edge(source, rule, "emits", ", ".join(pattern.get("detail-type", [])))
    queue = _get_att(props.get("DeadLetterConfig", {}).get("Arn"))
    if queue:
        build.edge(rule, queue, "dead_letters", "undeliverable")


def _custom_resource(build: _Builder, logical: str, kind: str, props: Mapping[str, Any]) -> None:
    function = _get_att(props.get("ServiceToken"))
    if not function:
        return
    source = build.node(logical, "source", logical, f"{kind}: each deploy that changes it")
    build.edge(source, function, "triggers", "deploy")


# ---- the state machine -------------------------------------------------------------------------


def _state_machine(build: _Builder, logical: str, props: Mapping[str, Any]) -> None:
    name = str(props.get("Name", logical))
    build.node(
        logical,
        "state_machine",
        build.short(name),
        str(props.get("Type", "STANDARD")).lower() + " state machine",
        attrs={"machine": name, "short": build.short(name)},
    )
    functions = {
        placeholder: _function_of(build, _get_att(value) or _ref(value))
        for placeholder, value in props.get("DefinitionSubstitutions", {}).items()
    }
    definition = props.get("Definition", {})
    start = _states(build, logical, logical, definition, functions)
    if start:
        build.edge(logical, start, "starts")
    for event_name, event in props.get("Events", {}).items():
        _event_source(build, logical, event_name, event)


def _function_of(build: _Builder, logical: str | None) -> str | None:
    """The function a task names: itself, its published version ``<Function>.Version``, or the
    function whose AutoPublishAlias SAM makes ``<Function>Alias<alias>`` of (the version and the
    alias are not in the SAM template, only after the transform)."""
    if logical is None or logical in build.resources:
        return logical
    function, dot, attribute = logical.partition(".")
    if dot and attribute == "Version" and function in build.resources:
        return function
    for name, resource in build.resources.items():
        alias = resource.get("Properties", {}).get("AutoPublishAlias")
        if alias and logical == f"{name}Alias{alias}":
            return str(name)
    return logical


def _states(
    build: _Builder,
    machine: str,
    scope: str,
    definition: Mapping[str, Any],
    functions: Mapping[str, str | None],
) -> str | None:
    """Adds the states of ``definition`` (and of its Parallel and Map branches); its start's id."""
    states: Mapping[str, Any] = definition.get("States", {})

    def state_id(name: str) -> str:
        return safe_id(scope, name)

    for name, state in states.items():
        kind = str(state.get("Type", ""))
        build.node(
            state_id(name),
            "state",
            name,
            kind,
            group=machine,
            attrs={"state": name, "type": kind, "machine": machine},
        )
    for name, state in states.items():
        here = state_id(name)
        if "Next" in state:
            build.edge(here, state_id(state["Next"]), "next")
        for choice in state.get("Choices", []):
            if "Next" in choice:
                build.edge(here, state_id(choice["Next"]), "choice", _condition(choice))
        if "Default" in state:
            build.edge(here, state_id(state["Default"]), "choice", "default")
        for catch in state.get("Catch", []):
            build.edge(
                here, state_id(catch["Next"]), "catch", ", ".join(catch.get("ErrorEquals", []))
            )
        function = _task_function(state, functions)
        if function:
            build.edge(here, function, "invokes")
        for branch in [
            *state.get("Branches", []),
            state.get("ItemProcessor") or state.get("Iterator"),
        ]:
            if branch:
                inner = _states(build, machine, here, branch, functions)
                if inner:
                    build.edge(here, inner, "starts")
    start = definition.get("StartAt")
    return state_id(start) if start else None


def _task_function(state: Mapping[str, Any], functions: Mapping[str, str | None]) -> str | None:
    if state.get("Type") != "Task":
        return None
    resource = str(state.get("Resource", ""))
    if resource.startswith("arn:aws:states:::lambda:invoke"):
        resource = str(
            state.get("Parameters", {}).get("FunctionName")
            or state.get("Arguments", {}).get("FunctionName", "")
        )
    if resource.startswith("${") and resource.endswith("}"):
        return functions.get(resource[2:-1])
    return None


def _condition(choice: Mapping[str, Any]) -> str:
    variable = choice.get("Variable", "")
    tests = [k for k in choice if k not in ("Variable", "Next", "Comment")]
    return f"{variable} {tests[0]}" if variable and tests else "condition"


# ---- CloudFormation intrinsics -------------------------------------------------------------------


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _first(value: Any) -> Any:
    items = _as_list(value)
    return items[0] if items else None


def _ref(value: Any) -> str | None:
    return str(value["Ref"]) if isinstance(value, Mapping) and "Ref" in value else None


def _get_att(value: Any) -> str | None:
    if isinstance(value, Mapping) and "Fn::GetAtt" in value:
        target = value["Fn::GetAtt"]
        return str(target[0] if isinstance(target, list) else str(target).split(".")[0])
    return None


def _sub_text(value: Any) -> str | None:
    if isinstance(value, Mapping) and "Fn::Sub" in value:
        sub = value["Fn::Sub"]
        return str(sub[0] if isinstance(sub, list) else sub)
    return value if isinstance(value, str) else None


def _s3_filter_prefix(filter_: Mapping[str, Any]) -> str:
    for rule in filter_.get("S3Key", {}).get("Rules", []):
        if str(rule.get("Name", "")).lower() == "prefix":
            return str(rule.get("Value", ""))
    return ""
