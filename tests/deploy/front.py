"""Clients that reach the cluster only through its load balancer, over TLS: raw WebSocket visitors and agents
and HTTP calls (as in tests/sessions/test_cluster_nodes.py, which talks to the nodes directly).

Every connection is a new one through the balancer, so it may reach any node; nothing here knows or chooses
which.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import ssl
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from support.wire import send

Opened = tuple[ClientConnection, dict[str, Any]]


@dataclasses.dataclass
class Front:
    #: the balancer's https URL (the cluster's COBROWSE_PUBLIC_URL)
    url: str
    tls: ssl.SSLContext

    def http(self, **options: Any) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, verify=self.tls, **options)

    async def socket(self, path: str, headers: dict[str, str] | None = None) -> ClientConnection:
        uri = self.url.replace("https://", "wss://") + path
        return await connect(uri, ssl=self.tls, additional_headers=headers, max_size=None)

    async def login(self) -> str:
        """The demo agent's console cookie, from a login through the balancer."""
        async with self.http(follow_redirects=False) as client:
            response = await client.post(
                "/agent/login", data={"username": "demo", "password": "demo-password"}
            )
            assert response.status_code in (302, 303), response.text
            return "; ".join(f"{k}={v}" for k, v in client.cookies.items())

    async def start(self, key: str) -> Opened:
        ws = await self.socket("/ws/visitor")
        await send(ws, t="start", group=1, key=key, page={"url": "https://shop.example/", "title": "Shop"})
        return ws, json.loads(await ws.recv())

    async def resume(self, started: dict[str, Any]) -> Opened:
        ws = await self.socket("/ws/visitor")
        page = {"url": "https://shop.example/2", "title": "Two"}
        await send(ws, t="resume", session=started["session"], token=started["token"], page=page)
        return ws, json.loads(await ws.recv())

    async def join(self, key: str, cookie: str) -> Opened:
        ws = await self.socket("/ws/agent", {"Cookie": cookie})
        await send(ws, t="join", key=key, group=None)
        return ws, json.loads(await ws.recv())


def frame(seq: int, epoch: int, snapshot: bool, payload: Any) -> str:
    """A visitor's page-event frame."""
    return json.dumps(
        {"v": 1, "t": "events", "seq": seq, "epoch": epoch, "snapshot": snapshot, "data": payload}
    )


async def reconnect(attempt: Callable[[], Awaitable[Opened]], tries: int = 60) -> Opened:
    """What a client does after its node died: try again, with a pause, until a node takes the session.

    Until the dead home's heartbeat runs out (a few seconds) the node a new socket reaches cannot tunnel to
    the home and closes with 1012 (service restart); the balancer itself may answer 502 while it still
    tries the dead node first."""
    for _ in range(tries):
        try:
            return await attempt()
        except ConnectionClosed as exc:
            assert exc.rcvd is not None and exc.rcvd.code == 1012, exc
        except InvalidStatus as exc:
            assert exc.response.status_code in (502, 503, 504), exc
        await asyncio.sleep(0.25)
    raise AssertionError("no node took the session over")
