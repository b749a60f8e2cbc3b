"""The operations settings: log_level, log_format, metrics_token, drain_seconds; validated with clear errors."""

from __future__ import annotations

import pytest

from cobrowse.cli import main
from cobrowse.config import ConfigError, load_config


def test_defaults_are_text_logs_open_metrics_and_no_drain() -> None:
    config = load_config(env={})
    assert (config.log_level, config.log_format, config.metrics_token, config.drain_seconds) == (
        "info",
        "text",
        "",
        0.0,
    )


def test_settings_come_from_the_environment() -> None:
    env = {
        "COBROWSE_LOG_LEVEL": "debug",
        "COBROWSE_LOG_FORMAT": "json",
        "COBROWSE_METRICS_TOKEN": "s3cret-Token_1",
        "COBROWSE_DRAIN_SECONDS": "12.5",
    }
    config = load_config(env=env)
    assert (config.log_level, config.log_format, config.metrics_token, config.drain_seconds) == (
        "debug",
        "json",
        "s3cret-Token_1",
        12.5,
    )


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("LOG_FORMAT", "xml", "setting 'log_format' must be one of text, json, not 'xml'"),
        ("LOG_LEVEL", "loud", "setting 'log_level' must be one of critical, error, warning, info, debug, trace"),
        ("METRICS_TOKEN", "two words", "setting 'metrics_token' must be printable ASCII without spaces"),
        ("DRAIN_SECONDS", "-1", "setting 'drain_seconds' must be between 0 and 3600, not -1.0"),
        ("DRAIN_SECONDS", "nan", "setting 'drain_seconds' must be between 0 and 3600, not nan"),
        ("DRAIN_SECONDS", "10000", "setting 'drain_seconds' must be between 0 and 3600"),
        ("DRAIN_SECONDS", "ten", "setting 'drain_seconds' has an invalid value 'ten'"),
    ],
)
def test_bad_values_are_refused_with_the_setting_named(name: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError) as refused:
        load_config(env={f"COBROWSE_{name}": value})
    assert message in str(refused.value)


def test_the_command_line_refuses_a_bad_log_format(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--log-format", "xml"]) == 2
    assert "invalid choice: 'xml'" in capsys.readouterr().err


def test_a_bad_setting_in_the_environment_is_one_line_and_status_2(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COBROWSE_DRAIN_SECONDS", "-5")
    assert main(["serve"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("cobrowse: error: setting 'drain_seconds'") and err.count("\n") == 1
