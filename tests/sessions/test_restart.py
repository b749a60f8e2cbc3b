"""A server restart in the middle of a session: killed or shut down, the next run continues the session.

Real ``cobrowse demo`` processes on one data directory and one port; raw sockets for the visitor and agent
(the browser side of reconnecting is tested in tests/e2e).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect

from support.demo_process import DemoProcess, start_demo, stop_demo
from support.test_database import query
from support.wire import closed_with, recv_type, send

PAGES = Path(__file__).resolve().parents[1] / "e2e" / "pages"


class Server:
    """One data directory served by successive ``cobrowse demo`` runs on the same port."""

    def __init__(self, tmp: Path) -> None:
        self.data = tmp / "data"
        self.tmp = tmp
        self.runs = 0
        self.demo: DemoProcess | None = None
        self.port = 0

    def start(self) -> None:
        self.runs += 1
        self.demo = start_demo(self.data, PAGES, self.tmp / f"run{self.runs}.log", port=self.port)
        self.port = urlsplit(self.demo.server).port or 0

    def kill(self) -> None:
        assert self.demo is not None
        self.demo.process.kill()
        self.demo.process.wait()

    def stop(self) -> None:
        if self.demo is not None:
            stop_demo(self.demo.process)

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def login(self) -> str:
        with httpx.Client(base_url=f"http://127.0.0.1:{self.port}", follow_redirects=False) as client:
            response = client.post("/agent/login", data={"username": "demo", "password": "demo-password"})
            assert response.status_code in (302, 303), response.text
            return "; ".join(f"{k}={v}" for k, v in client.cookies.items())

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        return query(self.data, sql)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    s = Server(tmp_path)
    s.start()
    yield s
    s.stop()


async def visitor_session(server: Server) -> tuple[ClientConnection, dict[str, Any]]:
    visitor = await connect(server.ws + "/ws/visitor")
    await send(visitor, t="start", group=1, key="4242", page={"url": "https://shop.example/", "title": ""})
    started = await recv_type(visitor, "started", 10)
    await send(visitor, t="events", seq=1, epoch=1, snapshot=True, data=[{"type": 2, "data": {}}])
    await send(visitor, t="page", url="https://shop.example/cart", title="Cart")
    await send(visitor, t="userstate", name="cart", data={"items": [1, 2]})
    await send(visitor, t="rc", enabled=True, suspended=False, declined=False)
    return visitor, started


async def agent_join(server: Server) -> tuple[ClientConnection, dict[str, Any]]:
    agent = await connect(server.ws + "/ws/agent", additional_headers={"Cookie": server.login()})
    await send(agent, t="join", key="4242", group=None)
    return agent, await recv_type(agent, "joined", 10)


async def continues(server: Server, started: dict[str, Any]) -> None:
    """The visitor's next connection and an agent find the same session, as it was."""
    page = await connect(server.ws + "/ws/visitor")
    await send(
        page, t="resume", session=started["session"], token=started["token"], page={"url": "u", "title": ""}
    )
    resumed = await recv_type(page, "resumed", 10)
    assert resumed["session"] == started["session"] and resumed["key"] == "4242"
    assert resumed["userstate"] == {"cart": {"items": [1, 2]}}
    assert resumed["rc"] == {"enabled": True, "suspended": False}
    assert resumed["epoch"] >= 1
    await send(page, t="events", seq=resumed["seq"] + 1, epoch=resumed["epoch"] + 1, snapshot=True, data=[])
    agent, joined = await agent_join(server)
    assert joined["session"] == started["session"] and joined["visitor_connected"] is True
    assert joined["rc"]["enabled"] is True and joined["page"]["url"] == "u"
    snapshot = await recv_type(agent, "events", 10)
    assert snapshot["snapshot"] is True and snapshot["epoch"] == resumed["epoch"] + 1
    await agent.close()
    await page.close()


async def test_a_killed_server_continues_its_sessions_after_a_restart(server: Server) -> None:
    visitor, started = await visitor_session(server)
    agent, _ = await agent_join(server)
    await recv_type(agent, "events", 10)
    server.kill()
    assert (await closed_with(visitor, 20))[0] != 1000
    server.start()
    await continues(server, started)
    # the agent of the first run is recorded as gone; the one of the second run joined anew
    rows = server.rows(
        f"SELECT left_at IS NOT NULL FROM participants WHERE role='agent' AND session_id={started['session']} ORDER BY id"
    )
    assert rows[0] == (1,) and len(rows) == 2
    assert server.rows(f"SELECT ended_at FROM sessions WHERE id={started['session']}") == [(None,)]


async def test_a_graceful_shutdown_asks_clients_to_reconnect_instead_of_ending(server: Server) -> None:
    visitor, started = await visitor_session(server)
    agent, _ = await agent_join(server)
    server.stop()
    assert (await closed_with(visitor, 20))[0] == 1012  # service restart: reconnect
    assert (await closed_with(agent, 20))[0] == 1012
    server.start()
    await continues(server, started)
