"""``cobrowse serve``: run the app on uvicorn (uvloop, httptools, websockets) with the configured limits."""

from __future__ import annotations

import logging

import uvicorn

from .app import create_app
from .config import Config


def uvicorn_config(app: object, config: Config, host: str, port: int) -> uvicorn.Config:
    return uvicorn.Config(
        app,  # type: ignore[arg-type]
        host=host,
        port=port,
        loop="uvloop",
        http="httptools",
        ws="websockets-sansio",
        ws_max_size=config.max_message_bytes,
        ws_per_message_deflate=True,
        log_level=config.log_level,
        lifespan="on",
        proxy_headers=True,
    )


def run(config: Config) -> None:
    logging.basicConfig(
        level=config.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    server = uvicorn.Server(uvicorn_config(create_app(config), config, config.host, config.port))
    server.run()
