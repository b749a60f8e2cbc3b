"""The visitor and agent sockets over a real server: relaying, late join, keys, ends and bad input."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from cobrowse.sessions import socket_io
from support.live_server import LiveServer
from support.test_database import query

V = 1


async def send(ws: ClientConnection, **msg: Any) -> None:
    await ws.send(json.dumps({"v": V, **msg}))


async def recv(ws: ClientConnection, timeout: float = 5.0) -> dict[str, Any]:
    data: Any = json.loads(await asyncio.wait_for(ws.recv(), timeout))
    return data  # type: ignore[no-any-return]


async def recv_type(ws: ClientConnection, t: str, timeout: float = 5.0) -> dict[str, Any]:
    while True:
        msg = await recv(ws, timeout)
        if msg["t"] == t:
            return msg


async def closed_with(ws: ClientConnection, timeout: float = 5.0) -> int | None:
    try:
        while True:
            await asyncio.wait_for(ws.recv(), timeout)
    except ConnectionClosed as exc:
        return exc.rcvd.code if exc.rcvd else None


async def start_visitor(
    server: LiveServer, key: str | None, **extra: Any
) -> tuple[ClientConnection, dict[str, Any]]:
    ws = await connect(server.ws + "/ws/visitor", max_size=None)
    await send(
        ws, t="start", group=1, key=key, page={"url": "https://shop.example/", "title": "Shop"}, **extra
    )
    return ws, await recv(ws)


async def join_agent(server: LiveServer, key: str, cookie: str) -> tuple[ClientConnection, dict[str, Any]]:
    ws = await connect(server.ws + "/ws/agent", additional_headers={"Cookie": cookie}, max_size=None)
    await send(ws, t="join", key=key, group=None)
    return ws, await recv(ws)


def events_frame(seq: int, epoch: int, snapshot: bool, payload: list[Any]) -> str:
    return json.dumps(
        {"v": V, "t": "events", "seq": seq, "epoch": epoch, "snapshot": snapshot, "data": payload}
    )


def db_rows(server: LiveServer, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    return query(server.config.data_dir, sql, *args)


async def test_frames_reach_agents_byte_for_byte_and_late_joiner_gets_the_current_page(
    live_server: LiveServer,
) -> None:
    cookie = live_server.login()
    visitor, started = await start_visitor(live_server, "relay-1", visitor={"name": "Joe", "email": "j@x.io"})
    assert started["t"] == "started" and started["key"] == "relay-1" and started["random"] is False
    assert started["session"] > 0 and started["token"]
    agent, joined = await join_agent(live_server, "relay-1", cookie)
    assert joined["t"] == "joined" and joined["visitor"]["name"] == "Joe"
    agents = await recv_type(visitor, "agents")
    assert agents["count"] == 1 and agents["agentlist"][0]["username"] == "demo"

    snap = events_frame(1, 1, True, [{"type": 4, "data": {"href": "x"}, "timestamp": 1}])
    await visitor.send(snap)
    assert await recv_type(agent, "events") == json.loads(snap)
    change = events_frame(2, 1, False, [{"type": 3, "data": {"source": 5, "text": "hi"}, "timestamp": 2}])
    await visitor.send(change)
    raw = await asyncio.wait_for(agent.recv(), 5)
    assert raw == change  # the same bytes, never re-encoded

    late, joined2 = await join_agent(live_server, "relay-1", cookie)
    assert joined2["seq"] == 2 and joined2["epoch"] == 1
    assert [(await recv_type(late, "events"))["seq"] for _ in range(2)] == [1, 2]
    assert (await recv_type(visitor, "agents"))["count"] == 2
    for ws in (visitor, agent, late):
        await ws.close()


async def test_random_key_dupkey_and_invalid_key(live_server: LiveServer) -> None:
    visitor, started = await start_visitor(live_server, None)
    assert started["random"] is True and started["key"].isdigit() and len(started["key"]) == 4
    dup, error = await start_visitor(live_server, started["key"])
    assert error == {"t": "error", "v": V, "code": "dupkey", "msg": error["msg"]}
    assert await closed_with(dup) == 4009
    bad, error = await start_visitor(live_server, "no spaces allowed")
    assert error["code"] == "badkey" and "1 to 100 characters" in error["msg"]
    assert await closed_with(bad) == 4003
    long_name, error = await start_visitor(live_server, "k-name", visitor={"name": "n" * 64})
    assert error["code"] == "invalidparams"
    await visitor.close()


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("{not json", 4000),
        ('{"v":1,"t":"teleport"}', 4001),
        ('{"v":2,"t":"stop"}', 4002),
        ('{"v":1,"t":"events","seq":2,"epoch":1,"snapshot":false,"data":{"no":"array"}}', 4000),
        ('{"v":1,"t":"start","group":1,"key":"again"}', 4000),
    ],
)
async def test_bad_frames_close_only_that_connection(live_server: LiveServer, frame: str, code: int) -> None:
    cookie = live_server.login()
    healthy, _ = await start_visitor(live_server, None)
    healthy_key = _["key"]
    agent, _joined = await join_agent(live_server, healthy_key, cookie)
    hostile, started = await start_visitor(live_server, None)
    assert started["t"] == "started"
    await hostile.send(frame)
    error = await recv_type(hostile, "error")
    assert error["msg"]
    assert await closed_with(hostile) == code
    # the server and the other session carry on
    await healthy.send(events_frame(1, 1, True, [{"type": 2, "timestamp": 1}]))
    assert (await recv_type(agent, "events"))["seq"] == 1
    await healthy.close()
    await agent.close()


async def test_oversized_frame_is_closed_with_1009(live_server: LiveServer) -> None:
    visitor, _ = await start_visitor(live_server, None)
    await visitor.send("x" * (live_server.config.max_message_bytes + 1))
    assert await closed_with(visitor) == 1009
    other, started = await start_visitor(live_server, None)
    assert started["t"] == "started"
    await other.close()


async def test_agent_needs_login_and_a_session_of_its_groups(live_server: LiveServer) -> None:
    hijack = await connect(
        live_server.ws + "/ws/agent",
        origin="http://evil.example",  # type: ignore[arg-type]
        additional_headers={"Cookie": live_server.login()},
    )
    assert (await recv(hijack))["code"] == "forbidden"
    assert await closed_with(hijack) == 4403
    anonymous = await connect(live_server.ws + "/ws/agent")
    assert (await recv(anonymous))["code"] == "unauthenticated"
    assert await closed_with(anonymous) == 4401
    visitor, _ = await start_visitor(live_server, "group-one-only")
    other_cookie = live_server.login("other", "other-password")
    outsider, error = await join_agent(live_server, "group-one-only", other_cookie)
    assert error["code"] == "notfound"
    assert await closed_with(outsider) == 4404
    forced = await connect(live_server.ws + "/ws/agent", additional_headers={"Cookie": other_cookie})
    await send(forced, t="join", key="group-one-only", group=1)
    assert (await recv(forced))["code"] == "forbidden"
    assert await closed_with(forced) == 4403
    await visitor.close()


async def test_hello_timeout(live_server: LiveServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket_io, "HELLO_TIMEOUT", 0.3)
    silent = await connect(live_server.ws + "/ws/visitor")
    assert (await recv(silent))["code"] == "timeout"
    assert await closed_with(silent) == 4008


async def test_visitor_stop_ends_for_everyone_and_is_recorded(live_server: LiveServer) -> None:
    cookie = live_server.login()
    visitor, started = await start_visitor(live_server, "stop-me", visitor={"name": "Ann", "phone": "555"})
    agent, _ = await join_agent(live_server, "stop-me", cookie)
    await send(visitor, t="stop")
    assert (await recv_type(agent, "ended"))["reason"] == "visitor"
    assert (await recv_type(visitor, "ended"))["reason"] == "visitor"
    assert await closed_with(agent) == 1000
    await asyncio.sleep(0.2)
    [(ended_at, reason)] = db_rows(
        live_server, "select ended_at, end_reason from sessions where id=$1", started["session"]
    )
    assert ended_at is not None and reason == "visitor"
    roles = db_rows(
        live_server,
        "select role, name, left_at from participants where session_id=$1 order by id",
        started["session"],
    )
    assert [r[0] for r in roles] == ["visitor", "agent"] and roles[0][1] == "Ann"
    assert all(r[2] is not None for r in roles)
    # the key is free again
    again, restarted = await start_visitor(live_server, "stop-me")
    assert restarted["t"] == "started"
    await again.close()


async def test_agent_end_and_resume_after_navigation(live_server: LiveServer) -> None:
    cookie = live_server.login()
    first, started = await start_visitor(live_server, "nav-1")
    await first.send(events_frame(1, 1, True, [{"type": 2, "timestamp": 1}]))
    await first.close()  # the page unloads
    agent, joined = await join_agent(live_server, "nav-1", cookie)
    assert joined["visitor_connected"] is False
    forged = await connect(live_server.ws + "/ws/visitor")
    await send(forged, t="resume", session=started["session"], token="wrong", page={"url": "", "title": ""})
    assert (await recv(forged))["code"] == "forbidden"
    page2 = await connect(live_server.ws + "/ws/visitor")
    await send(
        page2,
        t="resume",
        session=started["session"],
        token=started["token"],
        page={"url": "/2", "title": "2"},
    )
    resumed = await recv(page2)
    assert resumed["t"] == "resumed" and resumed["session"] == started["session"]
    assert (resumed["epoch"], resumed["seq"]) == (1, 1)
    # (the first page's close may still be on its way to the agent: a "connected false" before this)
    while not (await recv_type(agent, "visitor"))["connected"]:
        pass
    await page2.send(events_frame(2, 2, True, [{"type": 2, "timestamp": 2}]))
    assert (await recv_type(agent, "events"))["epoch"] == 2
    await send(agent, t="end")
    assert (await recv_type(page2, "ended"))["reason"] == "agent"
    assert await closed_with(page2) == 1000
    late = await connect(live_server.ws + "/ws/visitor")
    await send(
        late, t="resume", session=started["session"], token=started["token"], page={"url": "", "title": ""}
    )
    assert await recv(late) == {"t": "ended", "v": V, "reason": "agent"}
    assert await closed_with(late) == 4410


def test_visitor_script_is_loadable_cross_origin(live_server: LiveServer) -> None:
    response = httpx.get(live_server.url + "/static/visitor.js", headers={"Origin": "http://shop.example"})
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"
    assert "javascript" in response.headers["content-type"]


async def test_session_messages_user_state_and_pause(live_server: LiveServer) -> None:
    cookie = live_server.login()
    visitor, started = await start_visitor(live_server, "msgs-1")
    assert started["userstate"] == {} and started["masking"] == {
        "selectors": [],
        "pages": {"allow": [], "deny": []},
    }
    agent, _ = await join_agent(live_server, "msgs-1", cookie)
    await send(visitor, t="message", name="greet", data={"text": "hello", "n": [1, 2]})
    assert await recv_type(agent, "message") == {
        "t": "message",
        "v": V,
        "name": "greet",
        "data": {"text": "hello", "n": [1, 2]},
    }
    await send(agent, t="message", name="reply", data="hi there")
    assert await recv_type(visitor, "message") == {
        "t": "message",
        "v": V,
        "name": "reply",
        "data": "hi there",
    }

    await send(visitor, t="userstate", name="cart", data={"items": 3})
    await send(visitor, t="pause", pause=True, message="<b>One moment</b>")
    assert await recv_type(agent, "pause") == {
        "t": "pause",
        "v": V,
        "pause": True,
        "message": "<b>One moment</b>",
    }
    late, joined = await join_agent(live_server, "msgs-1", cookie)
    assert joined["pause"] == {"pause": True, "message": "<b>One moment</b>"}

    await visitor.close()  # navigation: the next page gets the user state, and the pause ends
    page2 = await connect(live_server.ws + "/ws/visitor")
    await send(
        page2,
        t="resume",
        session=started["session"],
        token=started["token"],
        page={"url": "/2", "title": "2"},
    )
    resumed = await recv(page2)
    assert resumed["userstate"] == {"cart": {"items": 3}}
    assert await recv_type(agent, "pause") == {"t": "pause", "v": V, "pause": False, "message": None}

    await send(page2, t="message", name="", data=1)
    assert (await recv_type(page2, "error"))["code"] == "badmessage"
    assert await closed_with(page2) == 4003
    for ws in (agent, late):
        await ws.close()


async def test_group_masking_rules_reach_the_visitor(live_server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=live_server.url) as c:
        login = await c.post("/agent/login", data={"username": "demo", "password": "demo-password"})
        assert login.status_code == 303
        rules = {"selectors": ["#card"], "pages": {"allow": [], "deny": ["*/account/*"]}}
        assert (await c.put("/api/v1/groups/1/masking", json=rules)).json() == rules
        try:
            visitor, started = await start_visitor(live_server, "masking-config")
            assert started["masking"] == rules
            await visitor.close()
        finally:
            await c.put("/api/v1/groups/1/masking", json={})


async def test_log_past_its_bound_asks_for_a_snapshot_instead_of_sending_a_gap(
    live_server: LiveServer,
) -> None:
    cookie = live_server.login()
    visitor, _ = await start_visitor(live_server, "big-log")
    await visitor.send(events_frame(1, 1, True, [{"type": 2, "timestamp": 1}]))
    chunk = "x" * (live_server.config.max_message_bytes - 200)
    frames = 2 * live_server.config.log_max_bytes // len(chunk) + 2
    for seq in range(2, 2 + frames):  # past twice the bound: the log stops growing
        await visitor.send(events_frame(seq, 1, False, [{"type": 3, "timestamp": seq, "pad": chunk}]))
    assert (await recv_type(visitor, "snapshot_request", timeout=20))["t"] == "snapshot_request"
    late, joined = await join_agent(live_server, "big-log", cookie)
    assert joined["t"] == "joined"
    with pytest.raises(TimeoutError):  # no partial log with a hole in it
        await recv_type(late, "events", timeout=0.5)
    await visitor.send(events_frame(2 + frames, 2, True, [{"type": 2, "timestamp": 9}]))
    healed = await recv_type(late, "events")
    assert healed["snapshot"] is True and healed["epoch"] == 2
    await visitor.close()
    await late.close()
