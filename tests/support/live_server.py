"""A real server (uvicorn, in a thread) on a temporary SQLite database, for socket-level tests."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from cobrowse.app import create_app
from cobrowse.config import Config, ensure_secret
from cobrowse.server import uvicorn_config
from cobrowse.store import Store


@dataclass
class LiveServer:
    url: str
    ws: str
    config: Config
    app: object

    def login(self, username: str = "demo", password: str = "demo-password") -> str:
        """Log in through the console form; return the Cookie header value for the agent's socket."""
        with httpx.Client(base_url=self.url, follow_redirects=False) as client:
            response = client.post("/agent/login", data={"username": username, "password": password})
            assert response.status_code in (302, 303), response.text
            return "; ".join(f"{k}={v}" for k, v in client.cookies.items())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _seed(config: Config) -> None:
    store = await Store.open(config.effective_database_url)
    try:
        await store.upgrade()
        await store.seed_demo()
        if await store.get_agent_by_username("other") is None:
            await store.create_group("Other", group_id=2)
            await store.create_agent("other", "other-password", name="Other Agent", groups=[2])
    finally:
        await store.close()


@contextlib.contextmanager
def serve(data_dir: Path, **settings: Any) -> Iterator[LiveServer]:
    """A seeded server on a free port of 127.0.0.1 in a thread; ``settings`` override the Config defaults
    used here (1 MiB frames, warnings only)."""
    port = _free_port()
    options: dict[str, Any] = {"max_message_bytes": 1024 * 1024, "log_level": "warning", **settings}
    config = ensure_secret(Config(host="127.0.0.1", port=port, data_dir=str(data_dir), **options))
    asyncio.run(_seed(config))
    app = create_app(config)
    server = uvicorn.Server(uvicorn_config(app, config, "127.0.0.1", port))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}", config, app)
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with serve(tmp_path_factory.mktemp("server")) as server:
        yield server
