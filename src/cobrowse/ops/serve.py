"""``cobrowse serve``: the app on uvicorn, with the configured log format and the SIGTERM drain.

The uvicorn set-up itself (protocol, limits, relay tuning) is :func:`cobrowse.server.uvicorn_config`; this
adds what an operator configures: :func:`.logs.configure_logging` (applied after uvicorn's config object is
made, since making it installs uvicorn's own logging set-up) and :class:`.drain.DrainingServer`.
"""

from __future__ import annotations

from ..app import create_app
from ..config import Config
from ..server import uvicorn_config
from . import Operations
from .drain import DrainingServer
from .logs import configure_logging


def run(config: Config) -> None:
    app = create_app(config)
    ops: Operations = app.state.ops
    server = DrainingServer(uvicorn_config(app, config, config.host, config.port), ops.drain, config.drain_seconds)
    configure_logging(config.log_level, config.log_format)
    server.run()
