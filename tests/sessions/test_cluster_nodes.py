"""Issue 9 at the socket and HTTP level: three ``cobrowse`` processes sharing a real Redis and PostgreSQL.

Clients connect to whichever node they like (as behind a load balancer without stickiness); the session's
home decides, the others tunnel. What must hold across nodes: one live session per key, the group's live
session limit, resume on any node, presence (the ``agents`` list), REST calls and guest links that reach
any node, and, when the home is killed, a new home that continues from the Redis log without losing a frame.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from support.cluster import Cluster, Node, cluster, fresh_database
from support.services import postgres, redis
from support.wire import closed_with, recv_type, send

PAGES = Path(__file__).resolve().parents[1] / "e2e" / "pages"


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with redis() as redis_url, postgres() as postgres_url:
        tmp = tmp_path_factory.mktemp("cluster")
        with cluster(tmp, redis_url, fresh_database(postgres_url), PAGES) as running:
            yield running


def ws_url(node: Node, path: str) -> str:
    return node.url.replace("http://", "ws://") + path


def login(node: Node) -> str:
    with httpx.Client(base_url=node.url, follow_redirects=False) as client:
        response = client.post("/agent/login", data={"username": "demo", "password": "demo-password"})
        assert response.status_code in (302, 303), response.text
        return "; ".join(f"{k}={v}" for k, v in client.cookies.items())


def frame(seq: int, epoch: int, snapshot: bool, payload: Any) -> str:
    return json.dumps(
        {"v": 1, "t": "events", "seq": seq, "epoch": epoch, "snapshot": snapshot, "data": payload}
    )


async def start(node: Node, key: str) -> tuple[ClientConnection, dict[str, Any]]:
    ws = await connect(ws_url(node, "/ws/visitor"), max_size=None)
    await send(ws, t="start", group=1, key=key, page={"url": "https://shop.example/", "title": "Shop"})
    return ws, json.loads(await ws.recv())


async def resume(node: Node, started: dict[str, Any]) -> tuple[ClientConnection, dict[str, Any]]:
    ws = await connect(ws_url(node, "/ws/visitor"), max_size=None)
    page = {"url": "https://shop.example/2", "title": "Two"}
    await send(ws, t="resume", session=started["session"], token=started["token"], page=page)
    return ws, json.loads(await ws.recv())


async def join(node: Node, key: str, cookie: str) -> tuple[ClientConnection, dict[str, Any]]:
    ws = await connect(ws_url(node, "/ws/agent"), additional_headers={"Cookie": cookie}, max_size=None)
    await send(ws, t="join", key=key, group=None)
    return ws, json.loads(await ws.recv())


async def test_agents_on_other_nodes_join_see_the_page_and_are_listed_together(nodes: Cluster) -> None:
    n0, n1, n2 = nodes.nodes
    visitor, started = await start(n0, "c-presence")
    assert started["t"] == "started"
    await visitor.send(frame(1, 1, True, [{"type": 2, "data": {"page": 1}}]))
    first, joined = await join(n1, "c-presence", login(n1))
    assert joined["t"] == "joined" and joined["session"] == started["session"], joined
    assert (await recv_type(first, "events"))["data"] == [{"type": 2, "data": {"page": 1}}]
    second, joined = await join(n2, "c-presence", login(n2))
    assert joined["agents"]["count"] == 2, joined
    agents = await recv_type(visitor, "agents")
    while agents["count"] != 2:
        agents = await recv_type(visitor, "agents")
    # live frames and messages flow both ways through the tunnels
    await visitor.send(frame(2, 1, False, [{"type": 3, "data": {"n": 2}}]))
    assert (await recv_type(first, "events"))["seq"] == 2
    assert [(await recv_type(second, "events"))["seq"] for _ in range(2)] == [1, 2]  # the log, then live
    await send(second, t="message", name="hi", data={"from": "node 2"})
    assert (await recv_type(visitor, "message"))["data"] == {"from": "node 2"}
    # one live session per key, whatever the node
    dup, refused = await start(n2, "c-presence")
    assert refused["t"] == "error" and refused["code"] == "dupkey"
    # the visitor's next page reaches another node: the same session continues
    await visitor.close()
    again, resumed = await resume(n1, started)
    assert resumed["t"] == "resumed" and resumed["session"] == started["session"] and resumed["seq"] == 2
    for ws in (again, first, second, dup):
        await ws.close()


async def test_rest_calls_and_guest_links_reach_the_session_from_any_node(nodes: Cluster) -> None:
    n0, n1, n2 = nodes.nodes
    visitor, started = await start(n0, "c-rest")
    await visitor.send(frame(1, 1, True, []))
    cookie = login(n1)
    agent, _ = await join(n1, "c-rest", cookie)
    sid = started["session"]
    async with httpx.AsyncClient(headers={"Cookie": cookie}) as client:
        listed = await client.get(f"{n2.url}/api/v1/sessions/{sid}")
        assert listed.status_code == 200 and listed.json()["live"] is True
        invited = await client.post(f"{n2.url}/api/v1/sessions/{sid}/guests")
        assert invited.status_code == 201, invited.text
        token = invited.json()["url"].rsplit("/", 1)[1]
        page = await client.get(f"{n1.url}/guest/{token}")  # the guest link, opened on yet another node
        assert page.status_code == 200 and token in page.text
    guest = await connect(ws_url(n2, "/ws/guest"), max_size=None)
    await send(guest, t="guestjoin", token=token, name="Gus")
    request = await recv_type(agent, "guest_request")
    await send(agent, t="admit", guestid=request["guestid"], accept=True)
    assert (await recv_type(guest, "joined"))["session"] == sid
    async with httpx.AsyncClient(headers={"Cookie": cookie}) as client:
        ended = await client.post(f"{n2.url}/api/v1/sessions/{sid}/end", headers={"Origin": n2.url})
        assert ended.status_code == 204, ended.text
    assert (await recv_type(visitor, "ended"))["reason"] == "agent"
    for ws in (visitor, agent, guest):
        await ws.close()


async def test_the_live_session_limit_of_a_group_counts_every_node(nodes: Cluster) -> None:
    n0, n1, _ = nodes.nodes
    cookie = login(n0)
    async with httpx.AsyncClient(headers={"Cookie": cookie, "Origin": n0.url}) as client:
        live = [s for s in (await client.get(f"{n0.url}/api/v1/groups/1/sessions")).json()]
        limit = len(live) + 1
        answer = await client.patch(f"{n0.url}/api/v1/groups/1/settings", json={"max_live_sessions": limit})
        assert answer.status_code == 200, answer.text
    try:
        first, started = await start(n0, "c-limit-1")
        assert started["t"] == "started"
        second, refused = await start(n1, "c-limit-2")
        assert refused["t"] == "error" and refused["code"] == "busy", refused
        await first.close()
        await second.close()
    finally:
        async with httpx.AsyncClient(headers={"Cookie": cookie, "Origin": n0.url}) as client:
            await client.patch(f"{n0.url}/api/v1/groups/1/settings", json={"max_live_sessions": 0})


async def test_when_the_home_node_dies_a_survivor_continues_from_the_redis_log(tmp_path: Path) -> None:
    """Its own cluster: a node is killed."""
    with redis() as redis_url, postgres() as postgres_url:
        with cluster(tmp_path, redis_url, fresh_database(postgres_url), PAGES) as running:
            n0, n1, n2 = running.nodes
            visitor, started = await start(n0, "c-kill")
            await visitor.send(frame(1, 1, True, [{"type": 2, "data": {"page": "snapshot"}}]))
            for seq in (2, 3, 4):
                await visitor.send(frame(seq, 1, False, [{"type": 3, "data": {"n": seq}}]))
            agent, _ = await join(n1, "c-kill", login(n1))
            got = [await recv_type(agent, "events") for _ in range(4)]
            assert [g["seq"] for g in got] == [1, 2, 3, 4]

            n0.kill()
            assert (await closed_with(agent, 10))[0] == 1012  # the tunnel to the dead home dropped: reconnect
            # the visitor's page reconnects through another node; the session continues at its last frame
            again, resumed = await _retry(lambda: resume(n1, started))
            assert resumed["t"] == "resumed" and (resumed["epoch"], resumed["seq"]) == (1, 4), resumed
            await again.send(frame(5, 1, False, [{"type": 3, "data": {"n": 5}}]))
            # an agent joining on the third node gets the whole recording from the log, and goes on live
            late, joined = await _retry(lambda: join(n2, "c-kill", login(n2)))
            assert joined["t"] == "joined", joined
            seqs = [(await recv_type(late, "events"))["seq"] for _ in range(5)]
            assert seqs == [1, 2, 3, 4, 5]
            await again.send(frame(6, 1, False, []))
            assert (await recv_type(late, "events"))["seq"] == 6
            for ws in (again, late):
                await ws.close()


async def _retry(attempt: Any, tries: int = 40) -> tuple[ClientConnection, dict[str, Any]]:
    """Clients reconnect with backoff while the dead node's heartbeat runs out: until then the node they
    reach cannot tunnel to the home and closes with 1012."""
    for _ in range(tries):
        try:
            ws, first = await attempt()
            return ws, first
        except ConnectionClosed as exc:
            assert exc.rcvd is not None and exc.rcvd.code == 1012, exc
        await asyncio.sleep(0.25)
    raise AssertionError("no node took the session over")
