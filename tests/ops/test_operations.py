"""Operations over a real workflow engine: history search, timelines, alerts, metrics, retention."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
import sqlalchemy as sa

from bakusoku.config import Settings
from bakusoku.db.invocations import AsyncInvocation
from bakusoku.db.schema import alert_outbox
from bakusoku.ops.alerts import verify
from bakusoku.ops.history import ExecutionQuery, parse_since
from bakusoku.ops.service import Operations
from bakusoku.workflow.engine import WorkflowEngine
from bakusoku.workflow.errors import ExecutionAlreadyExistsError
from bakusoku.workflow.tables import execution_events, executions
from tests.conftest import free_port
from tests.ops.conftest import (
    DEFINITION,
    ENDED,
    WebhookStandIn,
    functions,
    photo_key,
    s3_event,
    track,
)

WEBHOOK_SECRET = "whsec-0123456789abcdef"


@pytest.fixture
def ops(db: sa.Engine, slack: WebhookStandIn, receiver: WebhookStandIn) -> Iterator[Operations]:
    settings = Settings(
        service_name="school-photos",
        stage="prod",
        public_api_url="https://photos.example.test",
        slack_webhook_url=slack.url,
        alert_webhook_url=receiver.url,
        alert_webhook_secret=WEBHOOK_SECRET,
        alert_burst_threshold=3,
    )
    operations = Operations(settings, db, configure_logs=False)
    yield operations
    operations.stop()


def run(engine: WorkflowEngine, album: str, count: int = 1) -> list[tuple[str, str]]:
    """Start ``count`` executions for new photos in ``album``; wait until operations handled
    their ends; returns (name, photo_id) of each."""
    started = []
    for _ in range(count):
        photo_id = str(uuid.uuid4())
        name = f"exec-{photo_id}"
        engine.start_execution("photo-pipeline", s3_event(photo_key(album, photo_id)), name=name)
        started.append((name, photo_id))
    for name, _ in started:
        ENDED[id(engine)].wait(name)
    return started


def _away_from_minute_edge() -> None:
    # A burst must land in one alert minute: start it at least 5 s before the minute ends.
    if time.time() % 60 > 55:
        time.sleep(60 - time.time() % 60 + 0.1)


def test_one_alert_per_failed_execution_and_a_summary_past_the_threshold(
    engine: WorkflowEngine, ops: Operations, slack: WebhookStandIn, receiver: WebhookStandIn
) -> None:
    _away_from_minute_edge()
    failed = run(engine, "corrupt-day", 5)
    run(engine, "sports-day", 2)  # successes: no alert
    # Duplicates: the same upload event again, and the same end reported twice.
    name, _ = failed[0]
    first_input = engine.describe_execution(name).input
    with pytest.raises(ExecutionAlreadyExistsError):
        engine.start_execution("photo-pipeline", first_input, name=name)
    ops.on_execution_end(engine.describe_execution(name))

    assert ops.alerts.deliver_due() == 6  # 3 failures per channel; the rest wait for the summary
    messages = slack.bodies()
    assert len(messages) == 3
    alerted = {m["blocks"][-1]["elements"][0]["url"].rsplit("/", 1)[-1] for m in messages}
    assert len(alerted) == 3 and alerted <= {n for n, _ in failed}
    message = messages[0]
    fields = {
        f["text"].split("\n")[0].strip("*"): f["text"].split("\n")[1]
        for f in message["blocks"][1]["fields"]
    }
    assert fields["Service"] == "school-photos" and fields["Stage"] == "prod"
    assert fields["Album"] == "corrupt-day"
    assert fields["Failed state"] == "Trim (after 1 attempt)"
    assert fields["Error code"] == "`image.corrupt`"
    assert "truncated at byte 1234" in message["blocks"][2]["text"]["text"]
    assert message["blocks"][-1]["elements"][0]["url"].startswith(
        "https://photos.example.test/v1/executions/exec-"
    )

    # The minute is over: one summary of the other two, on each channel, and nothing more.
    assert ops.alerts.deliver_due(now=time.time() + 61) == 2
    assert ops.alerts.deliver_due(now=time.time() + 200) == 0
    summary = slack.bodies()[3]
    assert summary["blocks"][0]["text"]["text"] == "2 more photos failed"
    assert "`image.corrupt`: 2" in summary["blocks"][1]["fields"][2]["text"]

    hooks = receiver.requests
    assert [r["json"]["type"] for r in hooks] == ["execution.failed"] * 3 + [
        "execution.failed.summary"
    ]
    for request in hooks:
        headers = {k.lower(): v for k, v in request["headers"].items()}
        assert verify(
            request["raw"],
            WEBHOOK_SECRET,
            headers["x-bakusoku-timestamp"],
            headers["x-bakusoku-signature"],
        )
    assert not verify(
        hooks[0]["raw"] + b" ",
        WEBHOOK_SECRET,
        headers["x-bakusoku-timestamp"],
        headers["x-bakusoku-signature"],
    )
    assert hooks[0]["json"]["error_code"] == "image.corrupt"
    assert hooks[0]["json"]["failed_state"] == "Trim"


def test_delivery_is_retried_with_back_off_and_recorded(
    engine: WorkflowEngine, ops: Operations, slack: WebhookStandIn, db: sa.Engine
) -> None:
    slack.failures_left = 2
    ((name, _),) = run(engine, "corrupt-day")
    assert ops.alerts.deliver_due() == 1  # the webhook: delivered; Slack: HTTP 500
    with db.connect() as conn:
        row = conn.execute(
            sa.select(alert_outbox).where(alert_outbox.c.dedupe_key == f"slack:{name}:0")
        ).one()
    assert (row.status, row.attempts, row.last_error) == (
        "pending",
        1,
        "the slack webhook answered HTTP 500",
    )
    assert row.next_attempt_at > time.time() + 0.5  # back-off
    assert ops.alerts.deliver_due(now=time.time() + 1.5) == 0  # second failure, now 2 s back-off
    assert ops.alerts.deliver_due(now=time.time() + 10) == 1
    assert len(slack.bodies()) == 1
    with db.connect() as conn:
        row = conn.execute(
            sa.select(alert_outbox).where(alert_outbox.c.dedupe_key == f"slack:{name}:0")
        ).one()
    assert (row.status, row.attempts) == ("delivered", 3)


def test_a_broken_webhook_never_slows_the_pipeline_nor_logs_its_url(
    db: sa.Engine, caplog: pytest.LogCaptureFixture
) -> None:
    port = free_port()  # nothing listens there: every delivery is refused
    dead = f"http://127.0.0.1:{port}/services/T0/B0/{uuid.uuid4().hex}"
    settings = Settings(slack_webhook_url=dead, alert_burst_threshold=100)
    operations = Operations(settings, db, configure_logs=False)
    workflow = WorkflowEngine(db, operations.invoker(functions()), time_scale=0.01)
    operations.attach(workflow)
    track(workflow)
    workflow.register_state_machine("photo-pipeline", DEFINITION)
    operations.alerts.dispatcher.poll_seconds = 0.05
    with workflow:
        operations.start()
        began = time.monotonic()
        names = run(workflow, "corrupt-day", 3)
        assert time.monotonic() - began < 5
        assert all(workflow.describe_execution(n).status == "FAILED" for n, _ in names)
        deadline = time.monotonic() + 10
        while operations.alerts.counts().get("pending", 0) and time.monotonic() < deadline:
            with db.connect() as conn:
                tried = conn.execute(sa.select(sa.func.min(alert_outbox.c.attempts))).scalar_one()
            if tried:
                break
            time.sleep(0.05)
        operations.stop()
    assert operations.alerts.counts() == {"pending": 3}
    assert "not delivered" in caplog.text
    assert dead not in caplog.text and f"127.0.0.1:{port}" not in caplog.text


def test_history_is_searchable_and_each_execution_tells_its_story(
    engine: WorkflowEngine, ops: Operations
) -> None:
    ((bad, bad_photo),) = run(engine, "corrupt-day")
    ((flaky, _),) = run(engine, "flaky-day")
    ((good, good_photo),) = run(engine, "sports-day")
    history = ops.history
    assert history is not None

    def names(**filters: Any) -> set[str]:
        return {row["name"] for row in history.search(ExecutionQuery(**filters))}

    assert names(statuses=("FAILED",)) == {bad}
    assert names(error_code="image.corrupt") == {bad}
    assert names(photo_id=good_photo) == {good}
    assert names(album="flaky-day") == {flaky}
    assert names(failed_state="Trim") == {bad}
    assert names(state="MarkFailed") == {bad}
    assert names(state="MarkReady") == {flaky, good}
    assert names(since=parse_since("1h")) == {bad, flaky, good}
    assert names(until=parse_since("1h")) == set()

    row = history.summary(bad)
    assert (row["photo_id"], row["album"], row["error_code"], row["failed_state"]) == (
        bad_photo,
        "corrupt-day",
        "image.corrupt",
        "Trim",
    )
    story = history.timeline(bad).to_json()
    assert story["failure"]["state"] == "Trim"
    assert story["failure"]["attempts"] == 1
    assert story["failure"]["error"] == "CorruptImageError"
    assert [s["name"] for s in story["states"]] == [
        "StorePhoto",
        "Renditions",
        "Trim",
        "Thumbnails",
        "MarkFailed",
        "PhotoFailed",
    ] or [s["name"] for s in story["states"]][:2] == ["StorePhoto", "Renditions"]
    trim = next(s for s in story["states"] if s["name"] == "Trim")
    assert trim["parent"] == "Renditions" and trim["duration_seconds"] >= 0.02

    retried = history.timeline(flaky).to_json()
    thumbs = next(s for s in retried["states"] if s["name"] == "Thumbnails")
    assert (thumbs["attempts"], thumbs["retries"]) == (2, 1)
    assert thumbs["errors"][0]["error"] == "FlakyError"
    assert retried["failure"] is None

    metrics = ops.metrics.render().decode()
    assert 'bakusoku_executions_total{status="FAILED"} 1.0' in metrics
    assert 'bakusoku_task_retries_total{error="FlakyError",state="Thumbnails"} 1.0' in metrics
    assert 'bakusoku_state_duration_seconds_count{state="Trim"} 3.0' in metrics
    assert (
        'bakusoku_execution_failures_total{error_code="image.corrupt",state="Trim"} 1.0' in metrics
    )


def test_redriven_execution_is_alerted_again_only_if_it_fails_again(
    engine: WorkflowEngine, ops: Operations, slack: WebhookStandIn
) -> None:
    ((name, _),) = run(engine, "corrupt-day")
    engine.redrive_execution(name)
    ENDED[id(engine)].wait(name, redrive_count=1)
    assert engine.describe_execution(name).redrive_count == 1
    ops.alerts.deliver_due()
    assert len(slack.bodies()) == 2  # the first end and the re-driven end


def test_a_stopped_execution_is_alerted_as_aborted(
    engine: WorkflowEngine, ops: Operations, slack: WebhookStandIn, receiver: WebhookStandIn
) -> None:
    # Waits 6 s at the fixture's time scale: long enough to be stopped while it runs.
    engine.register_state_machine(
        "slow",
        {"StartAt": "Hold", "States": {"Hold": {"Type": "Wait", "Seconds": 600, "End": True}}},
    )
    photo_id = str(uuid.uuid4())
    name = f"exec-{photo_id}"
    engine.start_execution("slow", s3_event(photo_key("sports-day", photo_id)), name=name)
    engine.stop_execution(name, "Operator", "stopped by hand")
    ENDED[id(engine)].wait(name)

    assert ops.alerts.deliver_due() == 2  # one per channel
    (message,) = slack.bodies()
    assert message["blocks"][0]["text"]["text"] == "Photo was aborted: internal"
    assert photo_id in message["text"] and "stopped by hand" in message["blocks"][2]["text"]["text"]
    assert receiver.bodies()[0]["status"] == "ABORTED"


def test_retention_removes_old_executions_and_their_events(
    engine: WorkflowEngine, ops: Operations, db: sa.Engine
) -> None:
    (old, _), (recent, _) = run(engine, "sports-day", 2)
    with db.begin() as conn:
        conn.execute(
            executions.update()
            .where(executions.c.name == old)
            .values(stopped_at=time.time() - 91 * 86400)
        )
    assert ops.history is not None
    assert ops.history.prune(90) == 1
    assert ops.history.prune(0) == 0  # 0 keeps everything
    with db.connect() as conn:
        left = set(conn.execute(sa.select(executions.c.name)).scalars())
        events = conn.execute(
            sa.select(sa.func.count()).where(execution_events.c.execution_name == old)
        ).scalar_one()
    assert left == {recent} and events == 0


def test_a_dead_letter_is_one_alert_per_channel_redacted_and_told_once(
    ops: Operations, slack: WebhookStandIn, receiver: WebhookStandIn
) -> None:
    failed_at = time.time()
    letter = AsyncInvocation(
        key="importer:object:race-csv-3f2a",
        function="importer",
        source="object",
        event={},
        status="failed",
        attempts=3,
        error_type="ValueError",
        error_message=f"cannot post to {slack.url}: bad row 12",
        updated_at=failed_at,
    )

    ops.on_dead_letter(letter)
    ops.on_dead_letter(letter)  # the same failure told twice
    delivered = ops.alerts.deliver_due()

    assert delivered == 2 and len(slack.bodies()) == len(receiver.bodies()) == 1
    (message,) = slack.bodies()
    assert message["text"] == (
        "[school-photos/prod] function importer failed every try on its object event: ValueError"
    )
    assert slack.url not in str(message) and "bad row 12" in str(message)
    (body,) = receiver.bodies()
    assert (body["type"], body["function"], body["key"], body["attempts"]) == (
        "function.dead_letter",
        "importer",
        "importer:object:race-csv-3f2a",
        3,
    )
    # Failing again after a redrive is a new failure, told again.
    ops.on_dead_letter(replace(letter, updated_at=failed_at + 300))
    assert ops.alerts.deliver_due() == 2
