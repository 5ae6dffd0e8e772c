"""The runner notifier as a scheduled Lambda runs it: settings from BAKUSOKU_*, one run delivers
what is due to a real SMTP server on loopback, with a link the API's key signs; on AWS the LINE
token and that key are read from the Secrets Manager secrets the environment names."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from bakusoku.aws import runner_notifier
from bakusoku.db.engine import create_db_engine
from bakusoku.db.migrate import upgrade
from bakusoku.races import links
from bakusoku.races.message import CERTIFICATE
from bakusoku.races.notifications import notify_ready
from bakusoku.races.records import Entry
from bakusoku.races.repository import RaceRef, RaceRepository
from bakusoku.races.subscriptions import EMAIL, LINE, Subscriptions
from tests.deploy.conftest import REGION
from tests.races.stand_ins import LineStandIn, SmtpSink

pytestmark = pytest.mark.integration

KEY = "k" * 40


def _certificate_queued_for(engine: sa.Engine, channel: str, address: str) -> RaceRef:
    """A migrated database whose runner 1234 subscribed on ``channel`` and whose certificate
    is ready: one message due."""
    upgrade(engine)
    race = RaceRef("runs", "shonan")
    RaceRepository(engine).save_race(
        race, name="湘南", race_date="2026-12-06", course=None, timezone="Asia/Tokyo"
    )
    RaceRepository(engine).save_entries(race, [Entry("1234", "山田 太郎", "山田", None)])
    Subscriptions(engine).subscribe(race, "1234", channel, address, verified_by="surname")
    notify_ready(engine, race, "1234", CERTIFICATE)
    return race


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    server = SmtpSink()
    yield server
    server.close()


def test_one_run_delivers_what_is_due(
    sink: SmtpSink, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    data = tmp_path / "data"
    for name, value in {
        "DATABASE_URL": url,
        "DATA_DIR": str(data),
        "TRANSFORM_SIGNING_KEY": KEY,
        "PUBLIC_API_URL": "https://photos.example.com",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(sink.port),
        "SMTP_SENDER": "photos@example.com",
    }.items():
        monkeypatch.setenv(f"BAKUSOKU_{name}", value)
    engine = create_db_engine(url)
    race = _certificate_queued_for(engine, EMAIL, "y@example.com")
    runner_notifier._settings.cache_clear()
    runner_notifier._engine.cache_clear()

    first = runner_notifier.handler({}, None)
    again = runner_notifier.handler({}, None)

    assert first == {"delivered": 1, "outbox": {"delivered": 1}}
    assert again["delivered"] == 0
    (mail,) = sink.messages
    link = next(w for w in mail.get_payload(decode=True).decode().split() if "/runner#" in w)
    assert link.startswith("https://photos.example.com/runner#")
    grant = links.check(links.runner_key(KEY.encode()), link.partition("#")[2], purpose="link")
    assert grant is not None and (grant.race, grant.bib) == (race, "1234")
    runner_notifier._engine().dispose()
    engine.dispose()


def test_on_aws_the_line_token_and_the_links_key_come_from_secrets_manager(
    emulator: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As the template configures it: the ARNs in the environment, the values in Secrets
    Manager (moto's stands in), no secret in any variable."""
    import boto3

    line_api = LineStandIn()
    secrets = boto3.client("secretsmanager", endpoint_url=emulator, region_name=REGION)
    token_arn = secrets.create_secret(Name="runs/line-token", SecretString=line_api.token)["ARN"]
    key_arn = secrets.create_secret(Name="runs/transform-key", SecretString=KEY + "\n")["ARN"]
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    for name, value in {
        "DATABASE_URL": url,
        "DATA_DIR": str(tmp_path / "data"),
        "REGION": REGION,
        "PUBLIC_API_URL": "https://photos.example.com",
        "LINE_API_URL": line_api.url,
        "LINE_CHANNEL_ACCESS_TOKEN_SECRET_ARN": token_arn,
        "TRANSFORM_SIGNING_KEY_SECRET_ARN": key_arn,
    }.items():
        monkeypatch.setenv(f"BAKUSOKU_{name}", value)
    monkeypatch.setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", emulator)
    engine = create_db_engine(url)
    race = _certificate_queued_for(engine, LINE, "U" + "0123456789abcdef" * 2)
    runner_notifier._settings.cache_clear()
    runner_notifier._engine.cache_clear()
    try:
        ran = runner_notifier.handler({}, None)
    finally:
        runner_notifier._engine().dispose()
        runner_notifier._settings.cache_clear()
        runner_notifier._engine.cache_clear()
        engine.dispose()
        line_api.close()

    assert ran == {"delivered": 1, "outbox": {"delivered": 1}}
    assert line_api.refused == []  # LINE took the token read from the secret
    (push,) = line_api.delivered
    link = push["messages"][0]["text"].split()[-1]
    grant = links.check(links.runner_key(KEY.encode()), link.partition("#")[2], purpose="link")
    assert grant is not None and (grant.race, grant.bib) == (race, "1234")
