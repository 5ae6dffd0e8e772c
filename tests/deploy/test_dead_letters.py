"""Redriving a deployed stack's dead letters: the events in a declared function's queue go to its
live alias through Lambda's Invoke API, and a message leaves the queue only once Lambda accepted
its event. SQS is moto's server; Lambda's Invoke API is a loopback stand-in that records calls."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

import boto3
import pytest
from click.testing import CliRunner

from bakusoku.cli.main import cli
from bakusoku.deploy.dead_letters import event_of
from tests.deploy.conftest import EXAMPLE, REGION

SCHEDULED = {
    "version": "0",
    "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
    "detail-type": "Scheduled Event",
    "source": "aws.events",
    "account": "123456789012",
    "time": "2026-12-07T03:00:00Z",
    "region": REGION,
    "resources": [f"arn:aws:events:{REGION}:123456789012:rule/enphoto-prod-slow-queries-rule-1"],
    "detail": {},
}


def _invocation_record(event: dict[str, Any]) -> dict[str, Any]:
    """What Lambda's on-failure destination puts in the queue after the last retry."""
    return {
        "version": "1.0",
        "timestamp": "2026-12-07T03:03:05.123Z",
        "requestContext": {
            "requestId": "e4b46cbf-b738-4cfa-9a1d-2f4c0ad0f3a1",
            "functionArn": f"arn:aws:lambda:{REGION}:123456789012:function:enphoto-prod-slow-queries:live",
            "condition": "RetriesExhausted",
            "approximateInvokeCount": 3,
        },
        "requestPayload": event,
        "responseContext": {
            "statusCode": 200,
            "executedVersion": "7",
            "functionError": "Unhandled",
        },
        "responsePayload": {"errorMessage": "no performance_schema", "errorType": "RuntimeError"},
    }


class LambdaStandIn:
    """Lambda's Invoke API on loopback: accepts (202) every event, except one with "refuse"."""

    def __init__(self) -> None:
        self.invocations: list[dict[str, Any]] = []
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                url = urlparse(self.path)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if body.get("refuse"):
                    self._answer(404, {"Type": "User", "message": "Function not found"})
                    return
                stand_in.invocations.append(
                    {
                        "function": unquote(url.path.split("/")[3]),
                        "qualifier": parse_qs(url.query).get("Qualifier", [None])[0],
                        "type": self.headers.get("X-Amz-Invocation-Type"),
                        "event": body,
                    }
                )
                self._answer(202, None)

            def _answer(self, status: int, error: dict[str, Any] | None) -> None:
                payload = b"" if error is None else json.dumps(error).encode()
                self.send_response(status)
                if error is not None:
                    self.send_header("x-amzn-ErrorType", "ResourceNotFoundException")
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def lambda_api() -> Iterator[LambdaStandIn]:
    stand_in = LambdaStandIn()
    yield stand_in
    stand_in.close()


def test_the_event_is_the_records_request_payload_or_the_message_itself() -> None:
    assert event_of(json.dumps(_invocation_record(SCHEDULED))) == SCHEDULED
    assert event_of(json.dumps(SCHEDULED)) == SCHEDULED  # EventBridge's own dead letter
    assert event_of("not json") is None
    assert event_of("[1, 2]") is None


@pytest.mark.integration  # moto's SQS server and a Lambda stand-in on loopback
def test_redrive_sends_each_event_to_the_live_alias_and_keeps_what_lambda_refused(
    moto_endpoint: str, lambda_api: LambdaStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    sqs = boto3.client("sqs", region_name=REGION, endpoint_url=moto_endpoint)
    queue = sqs.create_queue(QueueName="enphoto-prod-slow-queries-dlq")["QueueUrl"]
    refused = dict(SCHEDULED, refuse=True)
    for body in (_invocation_record(SCHEDULED), SCHEDULED, _invocation_record(refused)):
        sqs.send_message(QueueUrl=queue, MessageBody=json.dumps(body))
    sqs.send_message(QueueUrl=queue, MessageBody="not an event")
    monkeypatch.setenv("AWS_ENDPOINT_URL_SQS", moto_endpoint)
    monkeypatch.setenv("AWS_ENDPOINT_URL_LAMBDA", lambda_api.url)
    arguments = ["functions", "redrive", "--service", "enphoto", "--stage", "prod"]

    result = CliRunner().invoke(
        cli, [*arguments, "--function", "slow-queries", "--config", str(EXAMPLE)]
    )

    assert result.exit_code == 1, result.output  # two messages could not be redriven
    assert result.output.splitlines()[-1] == (
        "slow-queries: 2 event(s) sent to enphoto-prod-slow-queries:live, "
        "2 kept in enphoto-prod-slow-queries-dlq (see the log)"
    )
    assert [(i["function"], i["qualifier"], i["type"]) for i in lambda_api.invocations] == [
        ("enphoto-prod-slow-queries", "live", "Event")
    ] * 2
    assert [i["event"] for i in lambda_api.invocations] == [SCHEDULED, SCHEDULED]
    counts = sqs.get_queue_attributes(
        QueueUrl=queue,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    assert counts == {
        "ApproximateNumberOfMessages": "0",
        "ApproximateNumberOfMessagesNotVisible": "2",  # kept, back in the queue after a while
    }
    # A function with no queue is named, with the ones that have one.
    unknown = CliRunner().invoke(cli, [*arguments, "--function", "api", "--config", str(EXAMPLE)])
    assert unknown.exit_code == 2 and "its queues: slow-queries" in unknown.output
