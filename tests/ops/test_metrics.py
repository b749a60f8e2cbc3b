"""/metrics on a real server: Prometheus text that parses, a real session's connections and relayed messages
counted, refusals counted by close code and reason, one registry per app, and the metrics token enforced."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from websockets.asyncio.client import ClientConnection, connect

from cobrowse import __version__
from cobrowse.app import create_app
from cobrowse.config import Config
from support.live_server import LiveServer, serve
from support.wire import closed_with, recv_type, send

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(server: LiveServer, headers: dict[str, str] | None = None) -> Samples:
    response = httpx.get(server.url + "/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def wait_for_metric(server: LiveServer, name: str, expected: float, **labels: str) -> Samples:
    """Scrape until ``name`` has ``expected`` (a socket's end is counted once its endpoint returns)."""
    deadline = time.monotonic() + 10
    while True:
        samples = await asyncio.to_thread(scrape, server)
        if value(samples, name, **labels) == expected or time.monotonic() > deadline:
            assert value(samples, name, **labels) == expected, (name, labels, value(samples, name, **labels))
            return samples
        await asyncio.sleep(0.05)


def events(seq: int, snapshot: bool, payload: list[Any]) -> str:
    return json.dumps({"v": 1, "t": "events", "seq": seq, "epoch": 1, "snapshot": snapshot, "data": payload})


async def start_visitor(server: LiveServer, key: str) -> tuple[ClientConnection, dict[str, Any]]:
    ws = await connect(server.ws + "/ws/visitor")
    await send(ws, t="start", group=1, key=key, page={"url": "https://shop.example/", "title": "Shop"})
    return ws, json.loads(await ws.recv())


def test_metrics_text_parses_and_names_the_node(live_server: LiveServer) -> None:
    samples = scrape(live_server)
    names = {name for name, _ in samples}
    assert {
        "cobrowse_node",
        "cobrowse_live_sessions",
        "cobrowse_draining",
        "cobrowse_connections",
        "cobrowse_sent_messages_total",
        "cobrowse_sent_bytes_total",
        "cobrowse_received_messages_total",
        "cobrowse_received_bytes_total",
        "cobrowse_broker_latency_seconds_count",
        "process_cpu_seconds_total",
        "process_resident_memory_bytes",
    } <= names
    runtime = live_server.app.state.runtime  # type: ignore[attr-defined]
    assert value(samples, "cobrowse_node", node=runtime.node, version=__version__) == 1
    assert value(samples, "cobrowse_draining") == 0


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    """A server of the test's own: counts that start at zero, no other test's sockets."""
    with serve(tmp_path) as server:
        yield server


async def test_a_session_is_counted_connections_messages_bytes_and_its_end(server: LiveServer) -> None:
    before = await asyncio.to_thread(scrape, server)
    cookie = server.login()
    visitor, started = await start_visitor(server, "metered")
    assert started["t"] == "started"
    agent = await connect(server.ws + "/ws/agent", additional_headers={"Cookie": cookie})
    await send(agent, t="join", key="metered", group=None)
    await recv_type(agent, "joined")
    frames = [events(1, True, [{"type": 4, "data": {"href": "x"}, "timestamp": 1}])]
    frames += [events(seq, False, [{"type": 3, "data": {"text": "é" * seq}}]) for seq in range(2, 12)]
    for frame in frames:
        await visitor.send(frame)
    for _ in frames:
        await recv_type(agent, "events")

    during = await asyncio.to_thread(scrape, server)
    assert value(during, "cobrowse_live_sessions") == 1
    assert value(during, "cobrowse_connections", role="visitor") == 1
    assert value(during, "cobrowse_connections", role="agent") == 1

    def grew(name: str, role: str) -> float:
        return value(during, name, role=role) - value(before, name, role=role)

    # the visitor sent start + 11 frames; the agent join; the agent got joined, the 11 frames (+ control)
    assert grew("cobrowse_received_messages_total", "visitor") == 1 + len(frames)
    assert grew("cobrowse_received_bytes_total", "visitor") > sum(len(f.encode()) for f in frames)
    assert grew("cobrowse_received_messages_total", "agent") == 1
    assert grew("cobrowse_sent_messages_total", "agent") >= 1 + len(frames)
    assert grew("cobrowse_sent_bytes_total", "agent") >= sum(len(f.encode()) for f in frames)
    assert grew("cobrowse_sent_messages_total", "visitor") >= 2  # started, agents
    assert grew("cobrowse_connections_opened_total", "agent") == 1

    await send(visitor, t="stop")
    assert await closed_with(agent) == (1000, "session ended")
    await visitor.close()
    after = await wait_for_metric(server, "cobrowse_connections", 0, role="visitor")
    await wait_for_metric(server, "cobrowse_connections", 0, role="agent")
    assert value(after, "cobrowse_live_sessions") == 0


async def test_refusals_are_counted_by_close_code_and_reason(server: LiveServer) -> None:
    first, _ = await start_visitor(server, "taken")
    for _ in range(2):
        dup, error = await start_visitor(server, "taken")
        assert error["code"] == "dupkey"
        assert (await closed_with(dup))[0] == 4009
    bad = await connect(server.ws + "/ws/visitor")
    await bad.send("{not json")
    assert (await closed_with(bad))[0] == 4000
    samples = await wait_for_metric(server, "cobrowse_socket_errors_total", 2, code="4009", reason="dupkey")
    assert value(samples, "cobrowse_socket_errors_total", code="4000", reason="malformed") == 1
    await first.close()


def test_each_app_has_its_own_registry(tmp_path: Path) -> None:
    apps = [create_app(Config(data_dir=str(tmp_path / name))) for name in ("a", "b")]
    registries = [app.state.ops.metrics.registry for app in apps]
    assert registries[0] is not registries[1]
    for app in apps:
        text = app.state.ops.metrics.exposition().decode()
        assert "cobrowse_sent_messages_total" in text and "process_cpu_seconds_total" in text


def test_the_metrics_token_is_required_when_set(tmp_path: Path) -> None:
    with serve(tmp_path, metrics_token="s3cret-token") as server:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic s3cret-token"}):
            response = httpx.get(server.url + "/metrics", headers=headers)
            assert response.status_code == 401 and response.headers["www-authenticate"].startswith("Bearer")
            assert "cobrowse_" not in response.text
        samples = scrape(server, {"Authorization": "Bearer s3cret-token"})
        assert value(samples, "cobrowse_draining") == 0
        assert httpx.get(server.url + "/healthz").status_code == 200  # health stays open
