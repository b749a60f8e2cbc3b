"""The example files in deploy/ name real settings and flags (a renamed setting would otherwise leave the
examples silently wrong)."""

from __future__ import annotations

import dataclasses
import shlex
import subprocess

from cobrowse.config import Config, load_config
from deploy.balancers import DEPLOY
from support.demo_process import CLI


def _env_file() -> dict[str, str]:
    lines = (DEPLOY / "cobrowse.env").read_text().splitlines()
    pairs = [line.split("=", 1) for line in lines if line.strip() and not line.startswith("#")]
    return {name: value for name, value in pairs}


def test_the_env_example_names_only_real_settings_with_valid_values() -> None:
    env = _env_file()
    settings = {f"COBROWSE_{f.name.upper()}" for f in dataclasses.fields(Config)}
    unknown = {name for name in env if name.startswith("COBROWSE_")} - settings
    assert not unknown, f"deploy/cobrowse.env names settings that do not exist: {unknown}"
    config = load_config(env=env)
    assert config.broker_url.startswith("redis://") and config.database_url.startswith(
        "postgresql+asyncpg://"
    )
    assert config.public_url.startswith("https://") and config.drain_seconds > 0 and not config.auto_migrate


def test_the_systemd_unit_starts_serve_with_flags_it_has() -> None:
    unit = (DEPLOY / "cobrowse.service").read_text().splitlines()
    (start,) = [line.removeprefix("ExecStart=") for line in unit if line.startswith("ExecStart=")]
    args = shlex.split(start)
    assert args[0].endswith("/cobrowse") and args[1] == "serve", args
    helped = subprocess.run([str(CLI), *args[1:], "--help"], capture_output=True, text=True)
    assert helped.returncode == 0, helped.stderr
    for flag in (a for a in args[2:] if a.startswith("--")):
        assert flag in helped.stdout, f"cobrowse serve has no {flag}"
