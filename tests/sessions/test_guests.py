"""Guests over a real server: invitation (REST), admission (sockets), what a guest sees and may not do."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from cobrowse.protocol.codec import ProtocolError
from cobrowse.sessions.guests import Invitations
from cobrowse.store import Store
from support.live_server import LiveServer

PASSWORD = "agent-password"


async def send(ws: ClientConnection, **msg: Any) -> None:
    await ws.send(json.dumps({"v": 1, **msg}))


async def recv(ws: ClientConnection, timeout: float = 5.0) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), timeout))
    return data


async def recv_type(ws: ClientConnection, t: str) -> dict[str, Any]:
    while True:
        msg = await recv(ws)
        if msg["t"] == t:
            return msg


async def closed_with(ws: ClientConnection) -> int | None:
    try:
        while True:
            await asyncio.wait_for(ws.recv(), 5)
    except ConnectionClosed as exc:
        return exc.rcvd.code if exc.rcvd else None


def events_frame(seq: int, epoch: int, snapshot: bool, payload: list[Any]) -> str:
    return json.dumps(
        {"v": 1, "t": "events", "seq": seq, "epoch": epoch, "snapshot": snapshot, "data": payload}
    )


async def start_visitor(server: LiveServer, key: str) -> tuple[ClientConnection, dict[str, Any]]:
    ws = await connect(server.ws + "/ws/visitor", max_size=None)
    await send(ws, t="start", group=1, key=key, page={"url": "https://shop.example/", "title": "Shop"})
    return ws, await recv(ws)


async def join_agent(server: LiveServer, key: str, cookie: str) -> tuple[ClientConnection, dict[str, Any]]:
    ws = await connect(server.ws + "/ws/agent", additional_headers={"Cookie": cookie}, max_size=None)
    await send(ws, t="join", key=key, group=None)
    return ws, await recv(ws)


@pytest.fixture(scope="module")
def server(live_server: LiveServer) -> LiveServer:
    """The live server plus an agent of group 1 that may watch but not invite guests."""

    async def seed() -> None:
        store = await Store.open(live_server.config.effective_database_url)
        try:
            if await store.get_agent_by_username("viewonly") is None:
                await store.create_agent(
                    "viewonly", PASSWORD, name="View Only", groups=[1], permissions=["view"]
                )
        finally:
            await store.close()

    asyncio.run(seed())
    return live_server


def invite(server: LiveServer, cookie: str, session_id: int) -> httpx.Response:
    with httpx.Client(base_url=server.url) as client:
        return client.post(f"/api/v1/sessions/{session_id}/guests", headers={"Cookie": cookie})


async def guest_hello(server: LiveServer, token: str, name: str = "Gus") -> ClientConnection:
    ws = await connect(server.ws + "/ws/guest", max_size=None)
    await send(ws, t="guestjoin", token=token, name=name)
    return ws


def token_of(response: httpx.Response) -> str:
    assert response.status_code == 201, response.text
    url: str = response.json()["url"]
    assert "/guest/" in url and response.json()["expires_at"]
    return url.rsplit("/", 1)[1]


async def live_session(
    server: LiveServer, key: str
) -> tuple[ClientConnection, dict[str, Any], ClientConnection]:
    visitor, started = await start_visitor(server, key)
    await visitor.send(events_frame(1, 1, True, [{"type": 2, "data": {"page": key}}]))
    agent, joined = await join_agent(server, key, server.login())
    assert joined["t"] == "joined"
    return visitor, started, agent


async def test_admitted_guest_sees_what_agents_see_and_is_listed_for_the_visitor(server: LiveServer) -> None:
    visitor, started, agent = await live_session(server, "guest-ok")
    token = token_of(await asyncio.to_thread(invite, server, server.login(), started["session"]))
    async with httpx.AsyncClient(base_url=server.url) as client:
        page = await client.get(f"/guest/{token}")
        assert page.status_code == 200 and 'data-guest-token="' + token in page.text
    guest = await guest_hello(server, token, "Gus")
    request = await recv_type(agent, "guest_request")
    assert request["name"] == "Gus"
    await send(agent, t="admit", guestid=request["guestid"], accept=True)
    assert (await recv(guest))["t"] == "addguestaccepted"
    joined = await recv(guest)
    assert joined["t"] == "joined" and joined["key"] == "guest-ok"
    snapshot = await recv(guest)
    assert snapshot["t"] == "events" and snapshot["data"] == [{"type": 2, "data": {"page": "guest-ok"}}]
    agents = await recv_type(visitor, "agents")
    while agents["count"] < 2:
        agents = await recv_type(visitor, "agents")
    entry = agents["agentlist"][1]
    assert (entry["role"], entry["guestid"], entry["name"], entry["num"]) == (
        "guest",
        request["guestid"],
        "Gus",
        2,
    )
    # live frames reach the guest too
    await visitor.send(events_frame(2, 1, False, [{"type": 3}]))
    assert (await recv_type(guest, "events"))["seq"] == 2
    # a guest may not end, message or admit: refused, and nothing happens
    for attempt in (
        {"t": "end"},
        {"t": "message", "name": "x", "data": 1},
        {"t": "admit", "guestid": 9, "accept": True},
    ):
        await send(guest, **attempt)
        error = await recv_type(guest, "error")
        assert error["code"] == "accessdenied", error
    await visitor.send(events_frame(3, 1, False, [{"type": 3}]))
    assert (await recv_type(guest, "events"))["seq"] == 3  # still watching; the session goes on
    await send(visitor, t="stop")
    assert (await recv_type(guest, "ended"))["reason"] == "visitor"
    for ws in (guest, agent, visitor):
        await ws.close()


async def test_a_link_works_once_and_only_for_its_session(server: LiveServer) -> None:
    visitor, started, agent = await live_session(server, "guest-once")
    other_visitor, _, other_agent = await live_session(server, "guest-other")
    token = token_of(await asyncio.to_thread(invite, server, server.login(), started["session"]))
    first = await guest_hello(server, token)
    request = await recv_type(agent, "guest_request")
    await send(agent, t="admit", guestid=request["guestid"], accept=True)
    assert (await recv_type(first, "joined"))["key"] == "guest-once"  # the link's session, no other
    again = await guest_hello(server, token, "Mallory")
    assert (await recv(again))["code"] == "badinvite" and await closed_with(again) == 4403
    forged = await guest_hello(server, token[:-2] + "xx")
    assert (await recv(forged))["code"] == "badinvite" and await closed_with(forged) == 4403
    async with httpx.AsyncClient(base_url=server.url) as client:
        assert (await client.get(f"/guest/{token}")).status_code == 404  # used: the page says so too
    for ws in (first, agent, visitor, other_agent, other_visitor):
        await ws.close()


async def test_declined_guest_sees_nothing(server: LiveServer) -> None:
    visitor, started, agent = await live_session(server, "guest-no")
    token = token_of(await asyncio.to_thread(invite, server, server.login(), started["session"]))
    guest = await guest_hello(server, token)
    request = await recv_type(agent, "guest_request")
    await send(agent, t="admit", guestid=request["guestid"], accept=False)
    assert (await recv_type(agent, "guest_answered"))["accept"] is False
    got = []
    try:
        while True:
            got.append(json.loads(await asyncio.wait_for(guest.recv(), 5)))
    except Exception:
        pass
    assert [m["t"] for m in got] == ["addguestdeclined"]
    assert guest.close_code == 4403
    for ws in (agent, visitor):
        await ws.close()


async def test_inviting_and_admitting_need_the_permission_and_the_group(server: LiveServer) -> None:
    visitor, started, agent = await live_session(server, "guest-perm")
    viewonly = server.login("viewonly", PASSWORD)
    refused = await asyncio.to_thread(invite, server, viewonly, started["session"])
    assert refused.status_code == 403 and "invite_guests" in refused.json()["detail"]
    outsider = await asyncio.to_thread(
        invite, server, server.login("other", "other-password"), started["session"]
    )
    assert outsider.status_code == 404
    async with httpx.AsyncClient(base_url=server.url) as client:
        assert (await client.post(f"/api/v1/sessions/{started['session']}/guests")).status_code == 401
    # a view-only agent in the session sees the request but its answer is refused
    watcher, joined = await join_agent(server, "guest-perm", viewonly)
    assert joined["t"] == "joined"
    token = token_of(await asyncio.to_thread(invite, server, server.login(), started["session"]))
    guest = await guest_hello(server, token)
    request = await recv_type(watcher, "guest_request")
    await send(watcher, t="admit", guestid=request["guestid"], accept=True)
    assert (await recv(watcher))["code"] == "accessdenied"
    assert await closed_with(watcher) == 4403
    await send(agent, t="admit", guestid=request["guestid"], accept=True)
    assert (await recv(guest))["t"] == "addguestaccepted"
    for ws in (guest, agent, visitor):
        await ws.close()


def test_invitations_expire_are_single_use_and_kept_hashed() -> None:
    now = [1000.0]
    table = Invitations(clock=lambda: now[0])
    token, invitation = table.create(5, 1, ttl=60)
    assert invitation.expires_at == 1060 and token not in repr(table.__dict__)
    assert table.spend(token).session_id == 5
    with pytest.raises(ProtocolError, match="already been used"):
        table.spend(token)
    late, _ = table.create(5, 1, ttl=60)
    now[0] = 1060.0
    assert table.peek(late) is None
    with pytest.raises(ProtocolError, match="expired"):
        table.spend(late)
