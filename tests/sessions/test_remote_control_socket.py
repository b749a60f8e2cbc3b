"""Remote control over a real server: consent, forwarding, and the permission checked on every message."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from cobrowse.store import Store
from support.live_server import LiveServer
from support.wire import recv_type, send

PASSWORD = "agent-password"


async def nothing_of_type(ws: ClientConnection, t: str, within: float = 0.5) -> bool:
    """True if no message of type ``t`` arrives within ``within`` seconds (others are skipped)."""
    try:
        await recv_type(ws, t, within)
    except TimeoutError:
        return True
    return False


@pytest.fixture(scope="module")
def server(live_server: LiveServer) -> LiveServer:
    """The live server plus ``watcher``, an agent of group 1 without ``remote_control``."""

    async def seed() -> None:
        store = await Store.open(live_server.config.effective_database_url)
        try:
            if await store.get_agent_by_username("watcher") is None:
                await store.create_agent(
                    "watcher", PASSWORD, name="Wat Cher", groups=[1], permissions=["view"]
                )
        finally:
            await store.close()

    asyncio.run(seed())
    return live_server


async def session(server: LiveServer, key: str) -> tuple[ClientConnection, dict[str, Any]]:
    visitor = await connect(server.ws + "/ws/visitor", max_size=None)
    await send(visitor, t="start", group=1, key=key, page={"url": "https://shop.example/", "title": "Shop"})
    started = await recv_type(visitor, "started")
    assert started["rc"] == {"enabled": False, "suspended": False}
    await send(visitor, t="events", seq=1, epoch=1, snapshot=True, data=[{"type": 2, "data": {}}])
    return visitor, started


async def agent(
    server: LiveServer, key: str, username: str = "demo", password: str = "demo-password", rc: bool = False
) -> ClientConnection:
    """An agent seated in session ``key``; its ``joined`` shows control as ``rc``."""
    cookie = server.login(username, password)
    ws = await connect(server.ws + "/ws/agent", additional_headers={"Cookie": cookie}, max_size=None)
    await send(ws, t="join", key=key, group=None)
    joined = await recv_type(ws, "joined")
    assert joined["rc"] == {"enabled": rc, "suspended": False}
    return ws


def click(node: int = 12) -> dict[str, Any]:
    return {"t": "control", "op": "click", "epoch": 1, "id": node, "x": 0.5, "y": 0.5}


async def audit_actions(server: LiveServer, session_id: int) -> list[str]:
    store = await Store.open(server.config.effective_database_url)
    try:
        entries = await store.audit_entries(session_id=session_id, limit=50)
        return sorted(e.action for e in entries if e.action.startswith("rc."))
    finally:
        await store.close()


async def test_request_consent_commands_and_release(server: LiveServer) -> None:
    visitor, started = await session(server, "rc-flow")
    ann = await agent(server, "rc-flow")

    await send(ann, **click())  # not enabled yet: refused to the agent, nothing reaches the page
    assert (await recv_type(ann, "error"))["code"] == "rcoff"
    await send(ann, t="rc_request", num=0, name="")
    request = await recv_type(visitor, "rc_request")
    assert request["num"] == 1 and request["name"] == "Demo Agent"

    await send(visitor, t="rc", enabled=True, suspended=False, declined=False)
    assert await recv_type(ann, "rc") == {
        "v": 1,
        "t": "rc",
        "enabled": True,
        "suspended": False,
        "declined": False,
    }
    await send(ann, **click(), text="x", key="Enter")
    command = await recv_type(visitor, "control")
    assert (command["op"], command["id"], command["epoch"], command["agent"]) == ("click", 12, 1, 1)
    assert command["text"] == "x" and command["key"] == "Enter"

    await send(visitor, t="rc", enabled=True, suspended=True, declined=False)
    assert (await recv_type(ann, "rc"))["suspended"] is True

    await send(ann, t="rc_release")
    assert (await recv_type(visitor, "rc"))["enabled"] is False
    assert (await recv_type(ann, "rc"))["enabled"] is False
    await send(ann, **click())
    assert (await recv_type(ann, "error"))["code"] == "rcoff"
    assert await nothing_of_type(visitor, "control")
    assert await audit_actions(server, started["session"]) == ["rc.enabled", "rc.release", "rc.request"]
    await ann.close()
    await visitor.close()


async def test_declining_tells_the_agents(server: LiveServer) -> None:
    visitor, started = await session(server, "rc-decline")
    ann = await agent(server, "rc-decline")
    await send(ann, t="rc_request", num=0, name="")
    await recv_type(visitor, "rc_request")
    await send(visitor, t="rc", enabled=False, suspended=False, declined=True)
    assert await recv_type(ann, "rc") == {
        "v": 1,
        "t": "rc",
        "enabled": False,
        "suspended": False,
        "declined": True,
    }
    assert "rc.declined" in await audit_actions(server, started["session"])
    await ann.close()
    await visitor.close()


async def test_an_agent_without_the_permission_is_refused_and_keeps_watching(server: LiveServer) -> None:
    visitor, started = await session(server, "rc-perm")
    await send(visitor, t="rc", enabled=True, suspended=False, declined=False)
    watcher = await agent(server, "rc-perm", "watcher", PASSWORD, rc=True)
    for message in ({"t": "rc_request", "num": 0, "name": ""}, click(), {"t": "rc_release"}):
        await send(watcher, **message)
        error = await recv_type(watcher, "error")
        assert error["code"] == "accessdenied" and "remote_control" in error["msg"]
    assert await nothing_of_type(visitor, "control")
    assert await nothing_of_type(visitor, "rc")  # the release was refused too: control is still on
    # still in the session: page events keep coming
    await send(visitor, t="events", seq=2, epoch=1, snapshot=False, data=[{"type": 3, "data": {}}])
    assert (await recv_type(watcher, "events"))["seq"] == 2
    assert "rc.request.refused" in await audit_actions(server, started["session"])
    await watcher.close()
    await visitor.close()


async def test_a_permission_taken_away_mid_session_stops_the_commands(server: LiveServer) -> None:
    visitor, _ = await session(server, "rc-revoke")
    store = await Store.open(server.config.effective_database_url)
    try:
        lee = await store.create_agent("lee", PASSWORD, name="Lee", groups=[1])
        ws = await agent(server, "rc-revoke", "lee", PASSWORD)
        await send(visitor, t="rc", enabled=True, suspended=False, declined=False)
        await recv_type(ws, "rc")
        await send(ws, **click(3))
        assert (await recv_type(visitor, "control"))["id"] == 3
        await store.set_permissions(lee.id, ["view"])
        await send(ws, **click(4))
        assert (await recv_type(ws, "error"))["code"] == "accessdenied"
        assert await nothing_of_type(visitor, "control")
    finally:
        await store.close()
    await ws.close()
    await visitor.close()


async def test_a_guest_cannot_control(server: LiveServer) -> None:
    visitor, started = await session(server, "rc-guest")
    ann = await agent(server, "rc-guest")
    await send(visitor, t="rc", enabled=True, suspended=False, declined=False)
    async with httpx.AsyncClient(base_url=server.url) as client:
        url = f"/api/v1/sessions/{started['session']}/guests"
        invite = await client.post(url, headers={"Cookie": server.login()})
    token = invite.json()["url"].rsplit("/", 1)[1]
    guest = await connect(server.ws + "/ws/guest", max_size=None)
    await send(guest, t="guestjoin", token=token, name="Gus")
    request = await recv_type(ann, "guest_request")
    await send(ann, t="admit", guestid=request["guestid"], accept=True)
    await recv_type(guest, "joined")
    for message in ({"t": "rc_request", "num": 0, "name": ""}, click()):
        await send(guest, **message)
        assert (await recv_type(guest, "error"))["code"] == "accessdenied"
    assert await nothing_of_type(visitor, "control")
    for ws in (guest, ann, visitor):
        await ws.close()


async def test_a_hostile_command_closes_only_its_agent(server: LiveServer) -> None:
    visitor, _ = await session(server, "rc-hostile")
    ann = await agent(server, "rc-hostile")
    bob = await agent(server, "rc-hostile")
    await send(visitor, t="rc", enabled=True, suspended=False, declined=False)
    await send(ann, t="control", op="eval", epoch=1, id=1)  # not an op
    with pytest.raises(ConnectionClosed) as closed:
        await recv_type(ann, "never")
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4000
    await send(bob, **{**click(), "x": 7.0})  # out of the node's box
    with pytest.raises(ConnectionClosed) as closed:
        await recv_type(bob, "never")
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4003
    assert "badcontrol" in closed.value.rcvd.reason or "fraction" in closed.value.rcvd.reason
    assert await nothing_of_type(visitor, "control")
    # the session goes on
    carol = await agent(server, "rc-hostile", rc=True)
    await send(carol, **click(5))
    assert (await recv_type(visitor, "control"))["id"] == 5
    for ws in (carol, visitor):
        await ws.close()


async def test_the_next_page_continues_control(server: LiveServer) -> None:
    visitor, started = await session(server, "rc-pages")
    ann = await agent(server, "rc-pages")
    await send(visitor, t="rc", enabled=True, suspended=True, declined=False)
    await recv_type(ann, "rc")
    await visitor.close()
    nxt = await connect(server.ws + "/ws/visitor", max_size=None)
    await send(
        nxt,
        t="resume",
        session=started["session"],
        token=started["token"],
        page={"url": "https://shop.example/2"},
    )
    resumed = await recv_type(nxt, "resumed")
    assert resumed["rc"] == {"enabled": True, "suspended": False}
    await send(nxt, t="events", seq=2, epoch=2, snapshot=True, data=[{"type": 2, "data": {}}])
    await send(ann, **{**click(), "epoch": 2})
    assert (await recv_type(nxt, "control"))["epoch"] == 2
    await ann.close()
    await nxt.close()
