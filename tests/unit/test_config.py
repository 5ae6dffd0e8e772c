from pathlib import Path

import pytest

from bakusoku.config import (
    ConfigError,
    ensure_credentials,
    env_name,
    function_overrides,
    load_settings,
    require,
    settings_to_environment,
)


def test_defaults_need_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings(environ={})
    assert settings.port == 8080
    assert settings.effective_store_port == 8081
    assert settings.max_upload_bytes == 20 * 1024 * 1024
    assert settings.presign_expiry_seconds == 900
    assert settings.effective_database_url.startswith("sqlite:///")


def test_argument_beats_environment_beats_file(tmp_path: Path) -> None:
    config = tmp_path / "bakusoku.yml"
    config.write_text("port: 9000\nbucket: from-file\nregion: ap-northeast-1\n")
    environ = {"BAKUSOKU_PORT": "9100", "BAKUSOKU_BUCKET": "from-env"}
    settings = load_settings({"port": 9200}, config_file=config, environ=environ)
    assert (settings.port, settings.bucket, settings.region) == (9200, "from-env", "ap-northeast-1")


def test_bad_value_quotes_key_and_value() -> None:
    with pytest.raises(ConfigError, match=r"'port' has the bad value 'eighty'"):
        load_settings(environ={"BAKUSOKU_PORT": "eighty"})


def test_unknown_file_setting_is_named(tmp_path: Path) -> None:
    config = tmp_path / "bakusoku.yml"
    config.write_text("prot: 9000\n")
    with pytest.raises(ConfigError, match="unknown settings \\['prot'\\]"):
        load_settings(config_file=config, environ={})


def test_credentials_are_generated_once_and_kept(tmp_path: Path) -> None:
    settings = load_settings({"data_dir": tmp_path}, environ={})
    first = ensure_credentials(settings)
    second = ensure_credentials(settings)
    assert first.access_key_id and first.secret_access_key
    assert (first.access_key_id, first.secret_access_key) == (
        second.access_key_id,
        second.secret_access_key,
    )


def test_environment_round_trip(tmp_path: Path) -> None:
    settings = load_settings({"data_dir": tmp_path, "workers": 3, "allow_tiff": True}, environ={})
    again = load_settings(environ=settings_to_environment(settings))
    assert again.workers == 3 and again.allow_tiff is True
    assert again.data_dir == tmp_path.resolve()


def test_the_aws_settings_come_from_the_environment_the_template_sets() -> None:
    machine = "arn:aws:states:ap-northeast-1:123456789012:stateMachine:enphoto-dev-photo-pipeline"
    environ = {env_name("state_machine_arn"): machine}
    assert env_name("state_machine_arn") == "BAKUSOKU_STATE_MACHINE_ARN"
    settings = load_settings(environ=environ)
    assert require(settings, "state_machine_arn") == machine
    with pytest.raises(ConfigError, match="'admin_token_secret_arn' is empty"):
        require(settings, "admin_token_secret_arn")


def test_file_values_read_the_environment(tmp_path: Path) -> None:
    config = tmp_path / "bakusoku.yml"
    config.write_text("bucket: ${env:CI_BUCKET}\nregion: ${env:CI_REGION, eu-west-1}\n")
    settings = load_settings(config_file=config, environ={"CI_BUCKET": "from-ci"})
    assert (settings.bucket, settings.region) == ("from-ci", "eu-west-1")
    with pytest.raises(ConfigError, match=r"bucket has the value '\$\{env:CI_BUCKET\}'"):
        load_settings(config_file=config, environ={})


def test_an_unused_stage_does_not_need_its_environment(tmp_path: Path) -> None:
    config = tmp_path / "bakusoku.yml"
    config.write_text(
        "services:\n  svc:\n    stages:\n      prod:\n"
        "        database_secret_arn: ${env:PROD_DATABASE_ARN}\n"
    )
    assert load_settings(config_file=config, environ={}).extra["services"]["svc"]


def test_function_sizes_outside_lambda_limits_quote_key_and_value(tmp_path: Path) -> None:
    config = tmp_path / "bakusoku.yml"
    config.write_text("functions:\n  api: {timeout_seconds: 901}\n")
    settings = load_settings(config_file=config, environ={})
    with pytest.raises(ConfigError, match=r"functions\.api\.timeout_seconds .* not 901"):
        function_overrides(settings, ["api"], environ={})


def test_a_share_is_a_number_from_0_to_1() -> None:
    settings = load_settings(environ={"BAKUSOKU_BIB_MIN_CONFIDENCE": "0.95"})
    assert settings.bib_min_confidence == 0.95
    again = load_settings(environ=settings_to_environment(settings))
    assert again.bib_min_confidence == 0.95
    for bad in ("1.5", "-0.1", "sure"):
        with pytest.raises(ConfigError, match=r"bib_min_confidence.*from 0 to 1"):
            load_settings(environ={"BAKUSOKU_BIB_MIN_CONFIDENCE": bad})
