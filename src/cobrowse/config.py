"""Server configuration: environment variables over an optional TOML file over documented defaults.

Every setting has one name: ``COBROWSE_<NAME>`` in the environment, ``<name>`` (lower case) in the file given
by ``COBROWSE_CONFIG`` or ``--config``. The defaults are the embedded set-up (SQLite file, in-process broker)
that needs no service.
"""

from __future__ import annotations

import dataclasses
import os
import secrets
import tomllib
from pathlib import Path
from typing import Any


class ConfigError(ValueError):
    """A setting has a value the server cannot use; the message names the setting."""


@dataclasses.dataclass(frozen=True)
class Config:
    #: Where the server listens.
    host: str = "127.0.0.1"
    port: int = 8000
    #: URL at which browsers reach this server (used in printed URLs and the embed snippet).
    public_url: str = ""
    #: Any SQLAlchemy async URL; the default is an SQLite file in ``data_dir``.
    database_url: str = ""
    #: ``memory://`` (one node) or ``redis://host:port/db`` / ``rediss://`` / ``redis+sentinel://`` (a cluster).
    broker_url: str = "memory://"
    #: With a Redis broker: the base URL at which the other nodes reach this one (``http://10.0.0.5:8000``);
    #: a session's sockets are tunnelled to the node that runs it. Default: ``http://host:port``.
    node_url: str = ""
    #: Directory for the default database and the generated secret key.
    data_dir: str = ".cobrowse"
    #: Signs console cookies and visitor resume tokens; generated into ``data_dir`` when empty.
    secret_key: str = ""
    #: Largest WebSocket frame accepted (a full snapshot of a heavy page is a few MB).
    max_message_bytes: int = 16 * 1024 * 1024
    #: Bound of the per-session event log kept for late joiners (snapshot + events after it).
    log_max_bytes: int = 8 * 1024 * 1024
    #: Frames an agent connection may have queued before it is resynchronised from the log.
    agent_queue_frames: int = 512
    #: How long a session waits for its visitor to come back (page load, network drop) before it ends.
    visitor_grace_seconds: float = 120.0
    #: Automatically bring the database schema up to date on start.
    auto_migrate: bool = True
    #: Log level for the server: critical, error, warning, info, debug or trace.
    log_level: str = "info"
    #: ``text`` (lines for people) or ``json`` (one object per line, for log collectors); see docs/operations.md.
    log_format: str = "text"
    #: When set, ``/metrics`` answers only requests with ``Authorization: Bearer <metrics_token>``. Empty: open
    #: to anyone who reaches the port (keep it off the public network then).
    metrics_token: str = ""
    #: On SIGTERM, report not ready (``/readyz`` 503) for this many seconds before shutting down, so the load
    #: balancer stops sending new connections first. 0 (the default, right for one node) shuts down at once;
    #: behind a load balancer use a little more than its health-check interval times its failure threshold.
    drain_seconds: float = 0.0

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{Path(self.data_dir).resolve() / 'cobrowse.db'}"

    @property
    def effective_node_url(self) -> str:
        return self.node_url.rstrip("/") or f"http://{self.host}:{self.port}"

    @property
    def effective_public_url(self) -> str:
        return self.public_url.rstrip("/") or f"http://{self.host}:{self.port}"


_FIELDS = {f.name: f for f in dataclasses.fields(Config)}


def _coerce(name: str, raw: Any) -> Any:
    kind = _FIELDS[name].type
    try:
        if kind in ("int", int):
            return int(raw)
        if kind in ("float", float):
            return float(raw)
        if kind in ("bool", bool):
            if isinstance(raw, bool):
                return raw
            value = str(raw).strip().lower()
            if value in ("1", "true", "yes", "on"):
                return True
            if value in ("0", "false", "no", "off"):
                return False
            raise ValueError(raw)
        return str(raw)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"setting {name!r} has an invalid value {raw!r} (expected {kind})") from exc


def load_config(file: str | None = None, env: dict[str, str] | None = None, **overrides: Any) -> Config:
    """Build the configuration: defaults < file < environment < explicit overrides (command-line flags)."""
    env = dict(os.environ) if env is None else env
    values: dict[str, Any] = {}
    file = file or env.get("COBROWSE_CONFIG")
    if file:
        try:
            data = tomllib.loads(Path(file).read_text())
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read config file {file}: {exc}") from exc
        for key, raw in data.items():
            if key not in _FIELDS:
                raise ConfigError(f"unknown setting {key!r} in {file}")
            values[key] = _coerce(key, raw)
    for name in _FIELDS:
        raw = env.get(f"COBROWSE_{name.upper()}")
        if raw is not None:
            values[name] = _coerce(name, raw)
    for name, raw in overrides.items():
        if raw is not None:
            values[name] = _coerce(name, raw)
    config = Config(**values)
    if config.port < 0 or config.port > 65535:
        raise ConfigError(f"setting 'port' must be 0..65535, not {config.port}")
    if not config.broker_url.startswith(("memory://", "redis://", "rediss://", "redis+sentinel://")):
        raise ConfigError(
            "setting 'broker_url' must be memory://, redis://, rediss:// or redis+sentinel://..., "
            f"not {config.broker_url!r}"
        )
    _check_operations(config)
    return config


#: Values of ``log_level`` (``trace`` is uvicorn's level below debug) and ``log_format``.
LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")
LOG_FORMATS = ("text", "json")
#: Longest drain accepted: more is almost certainly milliseconds given as seconds.
MAX_DRAIN_SECONDS = 3600.0


def _check_operations(config: Config) -> None:
    """The logging, metrics and drain settings (docs/operations.md)."""
    if config.log_level.lower() not in LOG_LEVELS:
        raise ConfigError(
            f"setting 'log_level' must be one of {', '.join(LOG_LEVELS)}, not {config.log_level!r}"
        )
    if config.log_format not in LOG_FORMATS:
        raise ConfigError(
            f"setting 'log_format' must be one of {', '.join(LOG_FORMATS)}, not {config.log_format!r}"
        )
    token = config.metrics_token
    if token and not all(33 <= ord(c) <= 126 for c in token):
        raise ConfigError(
            "setting 'metrics_token' must be printable ASCII without spaces (it is sent in a header)"
        )
    if not 0 <= config.drain_seconds <= MAX_DRAIN_SECONDS:  # also refuses nan
        raise ConfigError(
            f"setting 'drain_seconds' must be between 0 and {MAX_DRAIN_SECONDS:g}, not {config.drain_seconds}"
        )


def ensure_secret(config: Config) -> Config:
    """Return the config with a secret key: the configured one, or one kept in ``data_dir``."""
    if config.secret_key:
        return config
    path = Path(config.data_dir) / "secret_key"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return dataclasses.replace(config, secret_key=path.read_text().strip())
