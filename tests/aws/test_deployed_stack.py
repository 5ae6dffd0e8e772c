"""The packaged stack on an emulated AWS, driven as a client would, with least privilege checked.

One service and stage is packaged by ``bakusoku package``, expanded and created on moto's server
(see ``stack`` for the gaps bridged and ``lambda_bridge`` for how Lambda is run). Through it: the
API function, called through its Lambda entry point with an HTTP API (2.0) event, presigns an
upload with the role's session credentials; the bytes are PUT over HTTP to the emulator's S3; the
Object Created event that S3 sends is matched by the deployed rule; the deployed definition runs
in the emulator's Step Functions, each Task on the real handler against a real PostgreSQL or
MariaDB found through the database secret. A photo with a face is indexed by the face step in
Amazon Rekognition (``face_index: rekognition``; moto has no Rekognition collections, so a
Rekognition-shaped endpoint checked against botocore's model answers: ``rekognition_endpoint``),
found again through the API's face search and erased when the photo is deleted. Every AWS call each
function made is then evaluated against the policies of the role CloudFormation gave it.
"""

from __future__ import annotations

import base64
import fnmatch
import io
import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from PIL import Image

from bakusoku.deploy.canary import ALIAS, alias_id
from bakusoku.deploy.edge import DISTRIBUTION, INLINE_MAX_BYTES, distribution_arn
from bakusoku.deploy.policies import REKOGNITION_ACTIONS, stack_collection_prefix
from bakusoku.deploy.sam import asl_definition, logical_id
from bakusoku.deploy.stages import API, NOTIFIER
from bakusoku.faces.rekognition import PREFIX_TAG
from bakusoku.pipeline.functions import FUNCTIONS, PHOTO_PIPELINE, TRANSFORM, state_machines
from bakusoku.pipeline.handlers.imaging_settings import imaging_options
from tests.aws.authorization import request_for, requests_for, role_policies
from tests.aws.call_recorder import recorded_calls
from tests.aws.conftest import ACCOUNT, ADMIN_TOKEN, SERVICE, Deployed
from tests.aws.iam_policy import Decision, Request, evaluate, moto_permits
from tests.aws.lambda_bridge import invoke as invoke_function
from tests.aws.resource_policies import Resolver, bucket_policy, function_policy, queue_policy
from tests.aws.stack import STAND_IN_DOMAIN, status_change_event
from tests.conftest import make_jpeg
from tests.deploy.conftest import REGION
from tests.events.alarms import notification, sns_event
from tests.imaging.photos import encode, scene_with_face

pytestmark = [
    pytest.mark.integration,
    # moto's CloudFormation warns for each resource type it does not create (see the test below).
    pytest.mark.filterwarnings("ignore:Tried to parse AWS:UserWarning"),
]

OBJECT_CREATED_RULE = "PhotoPipelineObjectCreated"
EXECUTION_FAILED_RULE = "NotifierFunctionExecutionFailed"
ALBUM = "sports-day"


def api(
    deployed: Deployed,
    method: str,
    path: str,
    body: Any = None,
    *,
    files: list[tuple[str, tuple[str, bytes, str]]] | None = None,
    query: str = "",
) -> tuple[int, Any]:
    """One request through the API function's Lambda entry point, as the HTTP API sends it
    (``files``: a multipart form, base64 in the event as API Gateway passes binary bodies)."""
    text = json.dumps(body) if body is not None else None
    content_type = "application/json"
    encoded = False
    if files is not None:
        form = httpx.Request("POST", "https://api.invalid/", files=files)
        text = base64.b64encode(form.read()).decode()
        content_type, encoded = form.headers["content-type"], True
    now = time.time()
    event = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": {
            "authorization": f"Bearer {ADMIN_TOKEN}",
            "content-type": content_type,
            "host": "abc123.execute-api.ap-northeast-1.amazonaws.com",
            "x-forwarded-proto": "https",
        },
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abc123",
            "domainName": "abc123.execute-api.ap-northeast-1.amazonaws.com",
            "domainPrefix": "abc123",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "192.0.2.10",
                "userAgent": "tests",
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": "$default",
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "isBase64Encoded": encoded,
        **({"body": text} if text is not None else {}),
    }
    response = deployed.runtime.invoke(deployed.function_name(API), event)
    payload = response.get("body")
    return int(response["statusCode"]), json.loads(payload) if payload else None


@dataclass
class Upload:
    photo_id: str
    url: str
    execution_arn: str
    execution: dict[str, Any]
    photo: dict[str, Any]


def upload(deployed: Deployed, data: bytes, filename: str) -> Upload:
    """Presign, PUT, let the rule match S3's event, run the execution, read the photo back."""
    status, grant = api(
        deployed,
        "POST",
        "/v1/uploads",
        {
            "filename": filename,
            "content_type": "image/jpeg",
            "size": len(data),
            "album": ALBUM,
            "service": SERVICE,
        },
    )
    assert status == 201, grant
    put = grant["upload"]
    response = httpx.request(put["method"], put["url"], headers=put["headers"], content=data)
    assert response.status_code == 200, response.text
    sent = deployed.delivery.s3_events(until_key=grant["key"])
    events = [e for e in sent if deployed.delivery.matches(OBJECT_CREATED_RULE, e)]
    assert [e["detail"]["object"]["key"] for e in events] == [grant["key"]], [
        (e["detail-type"], e["detail"]["object"]["key"], e["detail"]["bucket"]["name"])
        for e in sent
    ]
    [execution_arn] = deployed.delivery.start_executions(OBJECT_CREATED_RULE, events[0])
    execution = wait_for(deployed, execution_arn)
    status, photo = api(deployed, "GET", f"/v1/photos/{grant['photo_id']}")
    assert status == 200, photo
    return Upload(grant["photo_id"], put["url"], execution_arn, execution, photo)


def wait_for(deployed: Deployed, execution_arn: str, timeout: float = 90) -> dict[str, Any]:
    states = deployed.client("stepfunctions")
    deadline = time.monotonic() + timeout
    while True:
        found: dict[str, Any] = states.describe_execution(executionArn=execution_arn)
        if found["status"] != "RUNNING":
            return found
        assert time.monotonic() < deadline, f"{execution_arn} still running after {timeout} s"
        time.sleep(0.2)


@dataclass
class Journey:
    good: Upload
    corrupt: Upload
    duplicate: Upload
    alert_events: list[dict[str, Any]]
    failed_execution_view: tuple[int, Any]
    operations: dict[str, tuple[int, Any]]
    deleted: tuple[int, Any]
    after_delete: tuple[int, Any]
    faces: FaceJourney


@dataclass
class FaceJourney:
    """A photo with one face: indexed in Rekognition, found by the search, erased on delete."""

    photo: Upload
    listed: tuple[int, Any]  # GET /v1/photos/{id}/faces
    search: tuple[int, Any]  # by the face cut as the reference photo
    # collection → Rekognition face id → ExternalImageId, before the photo is deleted
    collections_before_delete: dict[str, dict[str, str | None]]
    deleted: tuple[int, Any]


def _collections(deployed: Deployed) -> dict[str, dict[str, str | None]]:
    """The fake's collections: Rekognition face id → the photo id it was indexed with."""
    return {
        name: {face_id: face.external_image_id for face_id, face in found.items()}
        for name, found in deployed.rekognition.fake.collections.items()
    }


def faces_of_a_photo(deployed: Deployed) -> FaceJourney:
    """Upload a photo with a face; search the album with it; delete the photo.

    As in the Lambda bundle, which carries no face detector (``face_detection`` is off here),
    MakeRenditions cuts no faces: the face step hands Rekognition a browsing rendition of the whole
    photo and Rekognition finds the faces itself."""
    scene, _ = scene_with_face((1600, 1200), (600, 300), 320)
    original = encode(scene, "JPEG", quality=92)
    photo = upload(deployed, original, "IMG_0003.jpg")
    listed = api(deployed, "GET", f"/v1/photos/{photo.photo_id}/faces")
    output = json.loads(photo.execution.get("output") or "{}")
    assert "faceCrops" not in output.get("renditions", {}), output  # no detector of ours
    search = api(
        deployed,
        "POST",
        f"/v1/albums/{ALBUM}/faces/search",
        files=[("reference", ("child.jpg", original, "image/jpeg"))],
        query=f"service={SERVICE}",
    )
    before = _collections(deployed)
    deleted = api(deployed, "DELETE", f"/v1/photos/{photo.photo_id}")
    return FaceJourney(photo, listed, search, before, deleted)


@pytest.fixture(scope="module")
def journey(deployed: Deployed) -> Journey:
    photo = make_jpeg(1200, 1600)
    good = upload(deployed, photo, "IMG_0001.jpg")
    corrupt = upload(deployed, b"\xff\xd8\xff\xe0 not really a JPEG " * 64, "IMG_0002.jpg")
    duplicate = upload(deployed, photo, "IMG_0001-again.jpg")
    # Step Functions announces every ending; only the failed one matches the alert rule.
    endings = [
        status_change_event(deployed.client, u.execution_arn) for u in (good, corrupt, duplicate)
    ]
    events = [e for e in endings if deployed.delivery.matches(EXECUTION_FAILED_RULE, e)]
    for target in deployed.delivery.lambda_targets(EXECUTION_FAILED_RULE):
        # The rule invokes the notifier's published version, through its alias.
        assert target.endswith(f":function:{deployed.function_name(NOTIFIER)}:{ALIAS}")
        for event in events:
            invoke_function(
                deployed.runtime, target, event
            )  # EventBridge invokes it asynchronously
    # An operator looks at the failure (Step Functions' history through the API's role), then
    # deletes the duplicate (its original, through the API's role).
    view = api(deployed, "GET", f"/v1/photos/{corrupt.photo_id}/execution")
    operations = operate(deployed, corrupt.execution_arn)
    deleted = api(deployed, "DELETE", f"/v1/photos/{duplicate.photo_id}")
    after = api(deployed, "GET", f"/v1/photos/{duplicate.photo_id}")
    faces = faces_of_a_photo(deployed)
    return Journey(good, corrupt, duplicate, events, view, operations, deleted, after, faces)


def operate(deployed: Deployed, failed_arn: str) -> dict[str, tuple[int, Any]]:
    """What an operator asks of the deployed API, through its role: readiness, the search, one
    execution, the status report, the live gallery's poll, and the failure reprocessed."""
    machine_part, failed = failed_arn.rsplit(":", 1)
    answers = {
        path: api(deployed, "GET", path)
        for path in ("/readyz", "/v1/executions", f"/v1/executions/{failed}", "/v1/status")
    }
    answers["/v1/events"] = api(deployed, "GET", "/v1/events")
    answers["redrive"] = api(deployed, "POST", f"/v1/executions/{failed}/redrive")
    status, outcome = answers["redrive"]
    if status == 200:  # let the new execution end before the checks read the calls
        wait_for(deployed, f"{machine_part}:{outcome['name']}")
    return answers


def test_the_deployed_definition_is_the_packaged_one(deployed: Deployed) -> None:
    """What runs is the shipped ASL with each placeholder replaced by the ARN of the version of
    its function the deploy published: the one its live alias points at."""
    text = json.dumps(asl_definition())
    for f in FUNCTIONS:
        arn = _published_version_arn(deployed, f.name)
        text = text.replace(f"${{{f.placeholder}}}", arn)
    assert deployed.definition == json.loads(text)


def _published_version_arn(deployed: Deployed, name: str) -> str:
    """``arn:aws:lambda:…:function:NAME:N``: the version of ``name`` its live alias points at."""
    function = deployed.function_name(name)
    live = deployed.client("lambda").get_alias(FunctionName=function, Name=ALIAS)
    assert live["FunctionVersion"].isdigit(), live  # a published version, never $LATEST
    return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{function}:{live['FunctionVersion']}"


# Resource types moto's CloudFormation does not create, each covered otherwise: the HTTP API by
# invoking the API function with its event, the permissions and resource policies by evaluating
# them as the template writes them (the tests at the end); the queues' alarms and the notifier's
# on-failure destination by tests/deploy/test_stack_resources.py. Anything else missing fails below.
NOT_EMULATED = {
    # The edge: the transform function through the event its URL sends, the permissions and the
    # bucket's grant as evaluated below, the distribution's settings by tests/deploy/test_edge.py.
    "AWS::CloudFront::CachePolicy",
    "AWS::CloudFront::Distribution",
    "AWS::CloudFront::OriginAccessControl",
    "AWS::Lambda::Url",
    "AWS::ApiGatewayV2::Api",
    "AWS::ApiGatewayV2::Stage",
    "AWS::Lambda::EventInvokeConfig",
    "AWS::Lambda::Permission",
    "AWS::S3::BucketPolicy",
    "AWS::SQS::QueuePolicy",
    # The alarms' metrics, dimensions and actions are checked on the template
    # (tests/deploy/test_monitoring.py); the alarm topic's delivery to the notifier at the end.
    "AWS::CloudWatch::Alarm",
    "AWS::SNS::Subscription",
}


def test_the_emulator_created_every_other_resource(deployed: Deployed) -> None:
    resources = deployed.stack.expanded["Resources"]
    missing = {resources[k]["Type"] for k in resources if k not in deployed.stack.physical}
    assert missing <= NOT_EMULATED, missing - NOT_EMULATED


def test_each_function_runs_with_the_environment_the_template_gives_it(
    deployed: Deployed,
) -> None:
    functions = deployed.client("lambda")
    for logical, name in deployed.stack.resources_of_type("AWS::Lambda::Function").items():
        given = deployed.stack.expanded["Resources"][logical]["Properties"]["Environment"]
        found = functions.get_function_configuration(FunctionName=name)["Environment"]
        assert set(found["Variables"]) == set(given["Variables"]), logical
        assert all(isinstance(v, str) for v in found["Variables"].values()), found  # resolved
        assert dict(deployed.functions[name].environment) == found["Variables"]


def test_a_good_photo_ends_ready_with_every_rendition(deployed: Deployed, journey: Journey) -> None:
    assert "X-Amz-Security-Token=" in journey.good.url  # presigned with the role's session
    assert journey.good.execution["status"] == "SUCCEEDED", journey.good.execution
    photo = journey.good.photo
    assert photo["status"] == "ready", photo
    options = imaging_options(deployed.package.stage.settings)
    expected = {spec.name for spec in (*options.print_specs, *options.browsing_specs)}
    assert set(photo["renditions"]) == expected
    s3 = deployed.client("s3")
    for rendition in photo["renditions"].values():
        assert httpx.get(rendition["url"]).status_code == 200
    listed = s3.list_objects_v2(Bucket=deployed.bucket, Prefix="renditions/")["KeyCount"]
    assert listed >= len(expected)


def test_a_corrupt_photo_ends_failed_with_its_code(journey: Journey) -> None:
    assert journey.corrupt.execution["status"] == "FAILED", journey.corrupt.execution
    assert journey.corrupt.photo["status"] == "failed"
    assert journey.corrupt.photo["error"]["code"] == "image.corrupt", journey.corrupt.photo


def test_the_same_bytes_again_end_duplicate(journey: Journey) -> None:
    assert journey.duplicate.execution["status"] == "SUCCEEDED", journey.duplicate.execution
    assert journey.duplicate.photo["status"] == "duplicate", journey.duplicate.photo
    assert journey.duplicate.photo["duplicate_of"] == journey.good.photo_id


def test_the_failed_execution_alerts_through_the_notifier(
    deployed: Deployed, journey: Journey
) -> None:
    assert [e["detail"]["executionArn"] for e in journey.alert_events] == [
        journey.corrupt.execution_arn
    ]
    [message] = deployed.webhook.posts
    text = json.dumps(message)
    assert journey.corrupt.execution_arn.rsplit(":", 1)[-1] in text
    assert "image.corrupt" in text or "CorruptImageError" in text, text


def test_the_failed_execution_is_read_from_step_functions(journey: Journey) -> None:
    status, view = journey.failed_execution_view
    assert status == 200, view
    assert view["execution"]["execution_arn"] == journey.corrupt.execution_arn
    assert view["execution"]["status"] == "FAILED"
    assert any(e["type"] == "ExecutionFailed" for e in view["events"]), view["events"]


def test_operations_answer_from_step_functions_through_the_api_s_role(journey: Journey) -> None:
    answers = journey.operations
    failed = journey.corrupt.execution_arn.rsplit(":", 1)[-1]
    assert answers["/readyz"][0] == 200, answers["/readyz"]
    status, found = answers["/v1/executions"]
    assert status == 200, found
    assert {journey.corrupt.photo_id} <= {r["photo_id"] for r in found["items"]}
    status, shown = answers[f"/v1/executions/{failed}"]
    assert status == 200, shown
    assert shown["execution"]["failed_state"] == shown["timeline"]["failure"]["state"]
    assert answers["/v1/status"][0] == 200, answers["/v1/status"]
    status, page = answers["/v1/events"]
    assert status == 200 and "cursor" in page, page  # a page to poll: Lambda cannot stream
    status, outcome = answers["redrive"]
    assert status == 200, outcome
    assert (outcome["action"], outcome["name"]) == ("reprocessed", f"{failed}-redrive-1")


def test_an_admin_deletes_a_photo_and_its_original(deployed: Deployed, journey: Journey) -> None:
    assert journey.deleted[0] == 204, journey.deleted
    assert journey.after_delete[0] == 404, journey.after_delete
    key = journey.duplicate.photo["key"]
    listed = deployed.client("s3").list_objects_v2(Bucket=deployed.bucket, Prefix=key)
    assert listed["KeyCount"] == 0


# The edge: CloudFront fetches /img/... from the transform function's URL, signed with origin
# access control; Lambda hands the function the request in the HTTP API 2.0 shape.
URL_HOST = "q3t5transformurl0000000000000000.lambda-url.ap-northeast-1.on.aws"
LAMBDA_RESPONSE_LIMIT = 6 * 1024 * 1024  # bytes of a buffered response, the whole JSON document


def through_the_edge(deployed: Deployed, path: str, accept: str) -> dict[str, Any]:
    """The transform function's answer to CloudFront's origin request for ``path``."""
    now = time.time()
    event = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        # Only what the cache policy forwards (Accept), and what CloudFront adds to every request.
        "headers": {
            "accept": accept,
            "host": URL_HOST,
            "user-agent": "Amazon CloudFront",
            "via": "2.0 0f1e2d3c4b5a.cloudfront.net (CloudFront)",
            "x-amz-cf-id": "Ff4kLh2GkNb8pQ_example==",
            "x-forwarded-for": "198.51.100.7",
            "x-forwarded-proto": "https",
        },
        "requestContext": {
            "accountId": ACCOUNT,
            "apiId": URL_HOST.split(".", 1)[0],
            "authorizer": {"iam": {"accountId": ACCOUNT, "userId": "cloudfront"}},
            "domainName": URL_HOST,
            "domainPrefix": URL_HOST.split(".", 1)[0],
            "http": {
                "method": "GET",
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "130.176.0.1",
                "userAgent": "Amazon CloudFront",
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": "$default",
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "isBase64Encoded": False,
    }
    # The URL is on the function's live alias: it invokes the published version.
    alias = _resolver(deployed).arn(alias_id(logical_id(TRANSFORM)))
    answer: dict[str, Any] = invoke_function(deployed.runtime, alias, event)
    return answer


def noisy_jpeg(width: int, height: int) -> bytes:
    """A photo that compresses badly: its full-size transform is larger than Lambda may answer."""
    bands = [Image.effect_noise((width, height), 40) for _ in range(3)]
    out = io.BytesIO()
    Image.merge("RGB", bands).save(out, "JPEG", quality=92)
    return out.getvalue()


@dataclass
class Edge:
    signed: dict[str, Any]
    small: dict[str, Any]
    large_photo: Upload
    large: dict[str, Any]


@pytest.fixture(scope="module")
def edge(deployed: Deployed, journey: Journey) -> Edge:
    good = journey.good.photo_id
    status, signed = api(
        deployed, "GET", f"/v1/photos/{good}/transform", query="options=w=320,f=auto"
    )
    assert status == 200, signed
    small = through_the_edge(deployed, signed["path"], "image/webp,image/*,*/*;q=0.8")
    large_photo = upload(deployed, noisy_jpeg(3000, 2250), "IMG_0100.jpg")
    assert large_photo.photo["status"] == "ready", large_photo.photo
    status, full = api(
        deployed,
        "GET",
        f"/v1/photos/{large_photo.photo_id}/transform",
        query="options=w=3000,q=95,f=jpeg",
    )
    assert status == 200, full
    large = through_the_edge(deployed, full["path"], "*/*")
    return Edge(signed, small, large_photo, large)


def test_signed_transform_urls_point_at_the_distribution(edge: Edge) -> None:
    assert edge.signed["url"] == f"https://{STAND_IN_DOMAIN}{edge.signed['path']}"


def test_the_transform_function_answers_the_edge_s_request(edge: Edge) -> None:
    answer = edge.small
    assert answer["statusCode"] == 200, answer
    headers = {k.lower(): v for k, v in answer["headers"].items()}
    assert headers["content-type"] == "image/webp"
    assert headers["vary"] == "Accept"  # the one header the cache key holds
    assert "immutable" in headers["cache-control"] and headers["etag"].startswith('"')
    assert answer["isBase64Encoded"] is True
    picture = Image.open(io.BytesIO(base64.b64decode(answer["body"])))
    assert picture.format == "WEBP" and picture.width == 320


def test_a_transform_too_large_to_answer_is_stored_and_redirected(
    deployed: Deployed, edge: Edge
) -> None:
    answer = edge.large
    assert len(json.dumps(answer)) < LAMBDA_RESPONSE_LIMIT
    assert answer["statusCode"] == 302, {k: v for k, v in answer.items() if k != "body"}
    headers = {k.lower(): v for k, v in answer["headers"].items()}
    location = headers["location"]
    assert "immutable" in headers["cache-control"] and "etag" not in headers
    behaviors = deployed.stack.expanded["Resources"][DISTRIBUTION]["Properties"][
        "DistributionConfig"
    ]["CacheBehaviors"]
    [served_by] = [b for b in behaviors if fnmatch.fnmatch(location, b["PathPattern"])]
    assert served_by["TargetOriginId"] == "photo-bucket"
    key = location.removeprefix("/")
    stored = deployed.client("s3").get_object(Bucket=deployed.bucket, Key=key)
    assert stored["ContentType"] == "image/jpeg"
    data = stored["Body"].read()
    assert len(data) > INLINE_MAX_BYTES
    assert Image.open(io.BytesIO(data)).size == (3000, 2250)
    assert key.startswith(f"renditions/{ALBUM}/{edge.large_photo.photo_id}/")


def test_only_the_distribution_may_call_the_transform_function(deployed: Deployed) -> None:
    resolve = _resolver(deployed)
    function = alias_id(logical_id(TRANSFORM))  # where the URL, and so its permissions, are
    policy = function_policy(deployed.stack, resolve, function)
    ours = resolve(distribution_arn())
    other = f"arn:aws:cloudfront::{ACCOUNT}:distribution/EOTHERDISTRIBUTION"
    cloudfront = {"Service": "cloudfront.amazonaws.com"}
    arn = resolve.arn(function)

    def decision(action: str, source: str, **context: str) -> Decision:
        request = Request(action, arn, {"aws:SourceArn": source, **context}, cloudfront)
        return evaluate([policy], request)

    url = {"lambda:FunctionUrlAuthType": "AWS_IAM"}
    assert decision("lambda:InvokeFunctionUrl", ours, **url) is Decision.ALLOWED
    assert decision("lambda:InvokeFunctionUrl", other, **url) is Decision.IMPLICIT_DENY
    via_url = {"lambda:InvokedViaFunctionUrl": "true"}
    assert decision("lambda:InvokeFunction", ours, **via_url) is Decision.ALLOWED
    assert decision("lambda:InvokeFunction", ours) is Decision.IMPLICIT_DENY  # not via its URL
    assert decision("lambda:InvokeFunction", other, **via_url) is Decision.IMPLICIT_DENY


def test_the_bucket_lets_the_distribution_read_only_the_stored_transforms(
    deployed: Deployed, edge: Edge
) -> None:
    resolve = _resolver(deployed)
    policy = bucket_policy(deployed.stack, resolve, "PhotoBucket")
    ours = resolve(distribution_arn())
    cloudfront = {"Service": "cloudfront.amazonaws.com"}
    stored = f"arn:aws:s3:::{deployed.bucket}" + edge.large["headers"]["location"]
    original = f"arn:aws:s3:::{deployed.bucket}/{edge.large_photo.photo['key']}"
    listed = deployed.client("s3").list_objects_v2(
        Bucket=deployed.bucket, Prefix=f"renditions/{ALBUM}/{edge.large_photo.photo_id}/"
    )
    [preview, *_] = [o["Key"] for o in listed["Contents"] if "/_edge/" not in o["Key"]]
    rendition = f"arn:aws:s3:::{deployed.bucket}/{preview}"

    def read(resource: str, source: str) -> Decision:
        context = {"aws:SourceArn": source, "aws:SecureTransport": "true"}
        return evaluate([policy], Request("s3:GetObject", resource, context, cloudfront))

    assert read(stored, ours) is Decision.ALLOWED
    assert read(original, ours) is Decision.IMPLICIT_DENY
    assert read(rendition, ours) is Decision.IMPLICIT_DENY
    other = f"arn:aws:cloudfront::{ACCOUNT}:distribution/EOTHERDISTRIBUTION"
    assert read(stored, other) is Decision.IMPLICIT_DENY


def _denials(deployed: Deployed, calls: list[dict[str, Any]], role_of: Any) -> list[str]:
    iam = deployed.client("iam")
    policies: dict[str, list[dict[str, Any]]] = {}
    problems = []
    for call in calls:
        role = role_of(call)
        if role not in policies:
            policies[role] = role_policies(iam, role)
        for request in requests_for(call):
            decision = evaluate(policies[role], request)
            if decision is not Decision.ALLOWED or not moto_permits(policies[role], request):
                problems.append(
                    f"{call['function']} ({role}) {call['service']} {call['operation']}: "
                    f"{request} is {decision.value}"
                )
    return sorted(set(problems))


def test_every_call_of_every_function_is_allowed_by_its_role(
    deployed: Deployed, journey: Journey, edge: Edge
) -> None:
    functions = deployed.client("lambda")
    roles = {
        name: functions.get_function_configuration(FunctionName=name)["Role"]
        for name in deployed.stack.resources_of_type("AWS::Lambda::Function").values()
    }
    assert {
        deployed.function_name(n) for n in (*(f.name for f in FUNCTIONS), API, NOTIFIER, TRANSFORM)
    } <= set(roles)
    calls = recorded_calls(deployed.calls_dir)
    # Every function called AWS, recorded; the configuration's own declared functions (a schedule's
    # report) take no part in a photo's journey.
    declared = {
        deployed.function_name(name)
        for name, function in deployed.package.stage.functions.items()
        if function.declaration is not None
    }
    # Nor do the functions of the other state machines (a race's certificates).
    elsewhere = {
        deployed.function_name(name)
        for machine in state_machines(deployed.package.stage.settings)
        if machine.name != PHOTO_PIPELINE.name
        for name in machine.function_names
    }
    assert {c["function"] for c in calls} == set(roles) - declared - elsewhere
    denied = _denials(deployed, calls, lambda c: roles[c["function"]])
    assert not denied, "\n".join(denied)


def test_the_state_machine_role_allows_each_task_invocation(
    deployed: Deployed, journey: Journey
) -> None:
    machine = deployed.client("stepfunctions").describe_state_machine(
        stateMachineArn=journey.good.execution["stateMachineArn"]
    )
    # Each task calls the version of its function published with the state machine version the
    # execution started on (pinned: a later deploy's code never runs in it), never the alias or
    # $LATEST, and the role's policies allow exactly those ARNs.
    invoked = {c["params"]["FunctionName"] for c in deployed.bridge.invocations}
    assert invoked == {_published_version_arn(deployed, f.name) for f in FUNCTIONS}
    assert all(arn.rsplit(":", 1)[1].isdigit() for arn in invoked), invoked
    denied = _denials(deployed, deployed.bridge.invocations, lambda c: machine["roleArn"])
    assert not denied, "\n".join(denied)


def test_the_rule_role_allows_starting_executions(
    deployed: Deployed, journey: Journey, edge: Edge
) -> None:
    # good, corrupt, duplicate, the photo with a face, and the edge's large one
    assert len(deployed.delivery.calls) == 5
    # The upload rule starts the state machine's live alias: the version published last.
    alias = deployed.stack.outputs["StateMachineAliasArn"]
    assert alias.endswith(f":stateMachine:{SERVICE}-dev-photo-pipeline:{ALIAS}")
    assert {c["params"]["stateMachineArn"] for c in deployed.delivery.calls} == {alias}
    denied = _denials(deployed, deployed.delivery.calls, lambda c: c["function"])
    assert not denied, "\n".join(denied)


def _resolver(deployed: Deployed) -> Resolver:
    return Resolver(deployed.client, deployed.stack, deployed.parameters, REGION, ACCOUNT)


def test_eventbridge_may_invoke_the_notifier_for_the_alert_rule_only(
    deployed: Deployed, journey: Journey
) -> None:
    resolve = _resolver(deployed)
    notifier = alias_id(logical_id(NOTIFIER))  # the rule invokes the published version
    permission = function_policy(deployed.stack, resolve, notifier)
    rule = resolve.arn(EXECUTION_FAILED_RULE)
    assert journey.alert_events  # the notifier was invoked for the rule's events
    events = {"Service": "events.amazonaws.com"}
    invoke = Request(
        "lambda:InvokeFunction", resolve.arn(notifier), {"aws:SourceArn": rule}, events
    )
    assert evaluate([permission], invoke) is Decision.ALLOWED
    other = Request(
        "lambda:InvokeFunction",
        resolve.arn(notifier),
        {"aws:SourceArn": resolve.arn(OBJECT_CREATED_RULE)},
        events,
    )
    assert evaluate([permission], other) is Decision.IMPLICIT_DENY


def test_each_rule_may_put_undeliverable_events_in_its_dead_letter_queue(
    deployed: Deployed,
) -> None:
    resolve = _resolver(deployed)
    queues = {
        resolve.arn(logical): logical
        for logical in deployed.stack.resources_of_type("AWS::SQS::Queue")
    }
    rules = deployed.stack.resources_of_type("AWS::Events::Rule")
    # The pipeline's and the alerts' rules have one; a declared function's schedule has none.
    dead_lettered = {
        rule: targets
        for rule in rules
        if (targets := [t for t in deployed.delivery.targets(rule) if "DeadLetterConfig" in t])
    }
    assert {OBJECT_CREATED_RULE, EXECUTION_FAILED_RULE} <= set(dead_lettered)
    for rule, [target] in dead_lettered.items():
        queue = target["DeadLetterConfig"]["Arn"]
        policy = queue_policy(deployed.stack, resolve, queues[queue])
        events = {"Service": "events.amazonaws.com"}
        for source in rules:
            send = Request("sqs:SendMessage", queue, {"aws:SourceArn": resolve.arn(source)}, events)
            expected = Decision.ALLOWED if source == rule else Decision.IMPLICIT_DENY
            assert evaluate([policy], send) is expected, (rule, source)


def test_the_bucket_policy_lets_every_call_made_over_tls_through(
    deployed: Deployed, journey: Journey
) -> None:
    resolve = _resolver(deployed)
    policy = bucket_policy(deployed.stack, resolve, "PhotoBucket")
    calls = [c for c in recorded_calls(deployed.calls_dir) if c["service"] == "s3"]
    assert calls
    for call in calls:
        request = request_for(call)
        as_role = Request(
            request.action, request.resource, request.context, {"AWS": call["function"]}
        )
        assert evaluate([policy], as_role) is not Decision.EXPLICIT_DENY, as_role
        plain = Request(
            request.action,
            request.resource,
            {**request.context, "aws:SecureTransport": "false"},
            {"AWS": call["function"]},
        )
        assert evaluate([policy], plain) is Decision.EXPLICIT_DENY, plain


def test_the_dashboard_draws_the_deployed_resources(deployed: Deployed) -> None:
    [name] = deployed.stack.resources_of_type("AWS::CloudWatch::Dashboard").values()
    body = json.loads(
        deployed.client("cloudwatch").get_dashboard(DashboardName=name)["DashboardBody"]
    )
    drawn = {
        line[3]
        for widget in body["widgets"]
        for line in widget["properties"]["metrics"]
        if line[2] == "FunctionName"
    }
    assert drawn == set(deployed.stack.resources_of_type("AWS::Lambda::Function").values())
    assert {w["properties"]["region"] for w in body["widgets"]} == {REGION}


def test_an_alarm_reaches_the_channel_through_the_alarm_topic(
    deployed: Deployed, journey: Journey
) -> None:
    resolve = _resolver(deployed)
    notifier = alias_id(logical_id(NOTIFIER))  # the topic invokes the published version
    [topic] = deployed.stack.resources_of_type("AWS::SNS::Topic").values()
    [subscription] = [
        r["Properties"]
        for r in deployed.stack.expanded["Resources"].values()
        if r["Type"] == "AWS::SNS::Subscription"
    ]
    assert resolve(subscription["Endpoint"]) == resolve.arn(notifier)
    # The topic may invoke the notifier, and no other topic may.
    permission = function_policy(deployed.stack, resolve, notifier)
    sns = {"Service": "sns.amazonaws.com"}
    invoke = Request("lambda:InvokeFunction", resolve.arn(notifier), {"aws:SourceArn": topic}, sns)
    assert evaluate([permission], invoke) is Decision.ALLOWED
    other = f"{topic.rsplit(':', 1)[0]}:someone-elses-topic"
    assert (
        evaluate(
            [permission],
            Request("lambda:InvokeFunction", resolve.arn(notifier), {"aws:SourceArn": other}, sns),
        )
        is Decision.IMPLICIT_DENY
    )
    # One of the stack's alarms fires: SNS delivers its notification to the notifier.
    alarms = {
        r["Properties"]["AlarmName"]: r["Properties"]
        for r in deployed.stack.expanded["Resources"].values()
        if r["Type"] == "AWS::CloudWatch::Alarm"
    }
    name = next(n for n, a in alarms.items() if a["MetricName"] == "ExecutionsFailed")
    alarm = notification(
        AlarmName=name,
        AlarmDescription=alarms[name]["AlarmDescription"],
        AlarmArn=f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{name}",
    )
    event = sns_event(alarm, topic)
    before = len(deployed.webhook.posts)
    invoke_function(deployed.runtime, resolve.arn(notifier), event)
    [message] = deployed.webhook.posts[before:]
    assert message["text"].startswith(f"[{SERVICE}/") and name in message["text"]
    assert alarms[name]["AlarmDescription"] in json.dumps(message)


def test_the_face_step_indexes_the_face_in_the_album_s_collection(
    deployed: Deployed, journey: Journey
) -> None:
    faces = journey.faces
    assert faces.photo.execution["status"] == "SUCCEEDED", faces.photo.execution
    assert faces.photo.photo["status"] == "ready", faces.photo.photo
    status, listed = faces.listed
    assert status == 200, listed
    assert listed["face_index"] == "indexed", listed
    [face] = listed["items"]
    assert face["embedded"], face
    prefix = stack_collection_prefix(deployed.package.stage)
    collection = f"{prefix}{SERVICE}.{ALBUM}"
    # Created on the album's first face, tagged for the role's condition; the photo's one face in
    # it (the fake's stand-in face model also takes the plain good photo for one face).
    assert set(faces.collections_before_delete) == {collection}
    photos = list(faces.collections_before_delete[collection].values())
    assert photos.count(faces.photo.photo_id) == 1, photos
    assert set(photos) <= {faces.photo.photo_id, journey.good.photo_id}
    assert deployed.rekognition.fake.tags[collection] == {PREFIX_TAG: prefix}
    operations = [op for op, _ in deployed.rekognition.fake.requests]
    assert operations[:3] == ["IndexFaces", "CreateCollection", "IndexFaces"], operations
    indexed = [r for op, r in deployed.rekognition.fake.requests if op == "IndexFaces"]
    assert faces.photo.photo_id in {r["ExternalImageId"] for r in indexed}
    assert {r["MaxFaces"] for r in indexed} == {100}  # the whole photo, one call each
    # A JPEG browsing rendition went to Rekognition, never the original.
    assert all(len(r["Image"]["Bytes"]) <= 5 * 1024 * 1024 for r in indexed)


def test_the_api_finds_the_photo_by_the_face_through_rekognition(journey: Journey) -> None:
    status, found = journey.faces.search
    assert status == 200, found
    hit = found["items"][0]
    [face] = journey.faces.listed[1]["items"]
    assert (hit["photo_id"], hit["face_id"]) == (journey.faces.photo.photo_id, face["face_id"])
    assert 0.8 <= hit["confidence"] <= 1.0


def test_deleting_the_photo_erases_its_face_from_rekognition(
    deployed: Deployed, journey: Journey
) -> None:
    assert journey.faces.deleted[0] == 204, journey.faces.deleted
    left = [p for found in _collections(deployed).values() for p in found.values()]
    assert journey.faces.photo.photo_id not in left, left
    assert "DeleteFaces" in [op for op, _ in deployed.rekognition.fake.requests]


def test_every_rekognition_request_met_the_service_model_signed_for_rekognition(
    deployed: Deployed, journey: Journey
) -> None:
    fake = deployed.rekognition.fake
    assert fake.requests and fake.violations == []
    assert set(deployed.rekognition.scopes) == {f"{REGION}/rekognition"}
    callers = {
        c["function"] for c in recorded_calls(deployed.calls_dir) if c["service"] == "rekognition"
    }
    assert callers == {deployed.function_name("index-faces"), deployed.function_name(API)}


def test_each_role_allows_exactly_its_rekognition_calls_on_the_stack_s_collections(
    deployed: Deployed,
) -> None:
    """Every Rekognition action botocore knows, asked of every deployed function's role (as
    CloudFormation created it) on one of the stack's collections and on another stack's: what is
    allowed is exactly the calls that function makes, on the stack's collections only."""
    import botocore.session

    iam, functions = deployed.client("iam"), deployed.client("lambda")
    prefix = stack_collection_prefix(deployed.package.stage)
    own = f"arn:aws:rekognition:{REGION}:{ACCOUNT}:collection/{prefix}school-a.sports-day"
    other = f"arn:aws:rekognition:{REGION}:{ACCOUNT}:collection/kurapuri-dev-faces.a.b"
    model = botocore.session.get_session().get_service_model("rekognition")
    tag = {f"aws:RequestTag/{PREFIX_TAG}": prefix, "aws:TagKeys": [PREFIX_TAG]}
    for logical, name in deployed.stack.resources_of_type("AWS::Lambda::Function").items():
        role = functions.get_function_configuration(FunctionName=name)["Role"]
        policies = role_policies(iam, role)
        allowed = {
            (operation, where)
            for operation in model.operation_names
            for where, resource in (("own", own), ("other", other), ("*", "*"))
            if evaluate(policies, Request(f"rekognition:{operation}", resource, tag))
            is Decision.ALLOWED
        }
        function = next(f for f in deployed.package.stage.functions if logical_id(f) == logical)
        calls = REKOGNITION_ACTIONS.get(function, ())
        expected = {(a, "own") for a in calls} | {
            ("CreateCollection", where) for where in ("other", "*") if "CreateCollection" in calls
        }
        if "CreateCollection" in calls:
            expected.add(("TagResource", "own"))
        assert allowed == expected, function


def test_a_function_alias_moved_after_the_state_machine_was_published_leaves_its_tasks_alone(
    deployed: Deployed, journey: Journey
) -> None:
    """The state machine version names function versions, not aliases: once a newer version of
    a function is published and its alias moved to it (what a later deploy does), the executions
    of the published state machine version still call the version it was published with.
    Last in the module: it uploads one more photo."""
    functions = deployed.client("lambda")
    store = deployed.function_name("store-photo")
    pinned = _published_version_arn(deployed, "store-photo")
    before = functions.get_alias(FunctionName=store, Name=ALIAS)["FunctionVersion"]
    functions.update_function_configuration(FunctionName=store, Description="the next release")
    newer = functions.publish_version(FunctionName=store)["Version"]
    assert newer != before
    functions.update_alias(FunctionName=store, Name=ALIAS, FunctionVersion=newer)
    try:
        called = len(deployed.bridge.invocations)
        later = upload(deployed, make_jpeg(1000, 1400), "IMG_0042.jpg")
        assert later.execution["status"] == "SUCCEEDED", later.execution
        invoked = [c["params"]["FunctionName"] for c in deployed.bridge.invocations[called:]]
        of_store = [arn for arn in invoked if f":function:{store}:" in arn]
        assert of_store and set(of_store) == {pinned}, invoked
    finally:
        functions.update_alias(FunctionName=store, Name=ALIAS, FunctionVersion=before)
