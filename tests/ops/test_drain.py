"""Graceful drain: SIGTERM makes the node report not ready, keeps serving for ``drain_seconds``, then shuts
down as before (sockets closed with 1012, sessions not ended). The logic without signals, then a real
``cobrowse serve`` process."""

from __future__ import annotations

import asyncio
import json
import signal
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import uvicorn
from websockets.asyncio.client import ClientConnection, connect

from cobrowse.ops.drain import DrainingServer, DrainState
from ops.node_process import NodeProcess
from support.wire import closed_with, send


def server(drain_seconds: float) -> DrainingServer:
    async def app(scope: Any, receive: Any, send: Any) -> None:  # never called: the server is not run
        raise AssertionError

    return DrainingServer(uvicorn.Config(app, log_config=None), DrainState(), drain_seconds)


async def test_sigterm_drains_and_a_second_signal_stops_at_once() -> None:
    node = server(30)
    node.handle_exit(signal.SIGTERM, None)
    assert node.drain.draining and not node.should_exit
    assert await node.on_tick(1) is False  # still serving
    node.handle_exit(signal.SIGTERM, None)
    assert node.should_exit and await node.on_tick(1) is True


async def test_ctrl_c_during_the_drain_stops_at_once() -> None:
    node = server(30)
    node.handle_exit(signal.SIGTERM, None)
    node.handle_exit(signal.SIGINT, None)
    assert node.should_exit and not node.force_exit


async def test_the_drain_ends_by_itself() -> None:
    node = server(0.05)
    node.handle_exit(signal.SIGTERM, None)
    await asyncio.wait_for(_until(lambda: node.on_tick(1)), 5)
    assert node.should_exit and node.drain.draining


async def test_without_a_drain_sigterm_stops_at_once_and_is_not_ready() -> None:
    node = server(0)
    node.handle_exit(signal.SIGTERM, None)
    assert node.should_exit and node.drain.draining


async def test_a_real_node_drains_on_sigterm_and_closes_sockets_with_1012(
    start_node: Callable[..., NodeProcess],
) -> None:
    node = start_node("--drain-seconds", "60", group=1)
    assert (await _get(node, "/readyz")).status_code == 200
    visitor = await _visitor(node)

    node.process.send_signal(signal.SIGTERM)
    response = await _until_status(node, "/readyz", 503)
    assert response.json()["checks"]["drain"]["ok"] is False
    assert (await _get(node, "/healthz")).status_code == 200
    assert _metric(await _get(node, "/metrics"), "cobrowse_draining") == 1.0
    await asyncio.wait_for(await visitor.ping(), 5)  # the open socket is still served
    assert node.process.poll() is None

    node.process.send_signal(signal.SIGTERM)  # the second one does not wait for the drain
    assert await closed_with(visitor, 15) == (1012, "")
    assert await asyncio.to_thread(node.process.wait, 30) == -signal.SIGTERM


async def test_a_real_node_shuts_down_after_its_drain(start_node: Callable[..., NodeProcess]) -> None:
    node = start_node(group=1, drain_seconds="1")
    visitor = await _visitor(node)
    node.process.send_signal(signal.SIGTERM)
    assert await closed_with(visitor, 30) == (1012, "")
    await asyncio.to_thread(node.process.wait, 30)
    log = "\n".join(node.log_lines())
    assert "SIGTERM: draining for 1.0 s" in log and "drain over: shutting down" in log
    assert log.index("draining for") < log.index("drain over") < log.index("Application shutdown complete")


async def _until(check: Callable[[], Awaitable[bool]]) -> None:
    while True:
        if await check():
            return
        await asyncio.sleep(0.02)


async def _get(node: NodeProcess, path: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=node.url) as client:
        return await client.get(path, timeout=10)


async def _until_status(node: NodeProcess, path: str, status: int) -> httpx.Response:
    deadline = time.monotonic() + 15
    while (response := await _get(node, path)).status_code != status:
        assert time.monotonic() < deadline, f"{path} stayed {response.status_code}"
        await asyncio.sleep(0.05)
    return response


async def _visitor(node: NodeProcess) -> ClientConnection:
    """A visitor page with a live session on the node."""
    ws = await connect(node.ws + "/ws/visitor")
    await send(ws, t="start", group=1, key="draining", page={"url": "https://shop.example/", "title": "Shop"})
    assert json.loads(await asyncio.wait_for(ws.recv(), 10))["t"] == "started"
    return ws


def _metric(response: httpx.Response, name: str) -> float:
    for line in response.text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not in the metrics")
