"""Tabs and cross-domain continuation over a real server (raw sockets; the browser side is in tests/e2e)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect

from cobrowse.store import Store
from support.live_server import LiveServer
from support.wire import closed_with, recv_type, send

SHOP = "https://shop.example"
PARTNER = "https://partner.example:8443"


@pytest.fixture(scope="module")
def server(live_server: LiveServer) -> LiveServer:
    async def trust() -> None:
        store = await Store.open(live_server.config.effective_database_url)
        try:
            await store.set_group_options(1, trusted_domains=[PARTNER, SHOP])
        finally:
            await store.close()

    asyncio.run(trust())
    return live_server


async def page(server: LiveServer, origin: str = SHOP) -> ClientConnection:
    return await connect(server.ws + "/ws/visitor", additional_headers={"Origin": origin})


async def start(server: LiveServer, key: str) -> tuple[ClientConnection, dict[str, Any]]:
    ws = await page(server)
    await send(ws, t="start", group=1, key=key, page={"url": SHOP + "/", "title": ""})
    started = await recv_type(ws, "started")
    await send(ws, t="events", seq=1, epoch=1, snapshot=True, data=[])
    return ws, started


async def resume(
    server: LiveServer, started: dict[str, Any], url: str, origin: str = SHOP
) -> ClientConnection:
    ws = await page(server, origin)
    await send(
        ws, t="resume", session=started["session"], token=started["token"], page={"url": url, "title": ""}
    )
    assert (await recv_type(ws, "resumed"))["session"] == started["session"]
    return ws


async def agent(server: LiveServer, key: str) -> ClientConnection:
    ws = await connect(server.ws + "/ws/agent", additional_headers={"Cookie": server.login()})
    await send(ws, t="join", key=key, group=None)
    await recv_type(ws, "joined")
    return ws


async def test_agents_see_the_tab_the_visitor_focused_last(server: LiveServer) -> None:
    tab1, started = await start(server, "tabs-1")
    assert started["xdomains"] == [PARTNER, SHOP]
    watcher = await agent(server, "tabs-1")
    tab2 = await resume(server, started, SHOP + "/cart")
    assert await recv_type(tab1, "tab") == {"v": 1, "t": "tab", "active": False, "epoch": 0, "seq": 0}
    status = await recv_type(watcher, "visitor")
    assert status == {"v": 1, "t": "visitor", "connected": True, "tabs": 2}
    await send(tab2, t="events", seq=2, epoch=2, snapshot=True, data=[])
    assert (await recv_type(watcher, "events"))["epoch"] == 2

    await send(tab1, t="focus", focused=False)
    await send(tab2, t="focus", focused=False)
    await send(tab1, t="focus", focused=True)  # the visitor went back to the first tab
    assert await recv_type(tab2, "tab") == {"v": 1, "t": "tab", "active": False, "epoch": 0, "seq": 0}
    assert await recv_type(tab1, "tab") == {"v": 1, "t": "tab", "active": True, "epoch": 2, "seq": 2}
    assert (await recv_type(watcher, "page"))["url"] == SHOP + "/"
    await send(tab1, t="events", seq=3, epoch=3, snapshot=True, data=[])
    assert (await recv_type(watcher, "events"))["epoch"] == 3

    await tab1.close()  # the shown tab closes: the other is shown, the session does not wait
    assert (await recv_type(tab2, "tab"))["active"] is True
    assert (await recv_type(watcher, "visitor"))["tabs"] == 1
    for ws in (tab2, watcher):
        await ws.close()


async def test_a_trusted_domain_continues_the_session_with_a_one_time_token(server: LiveServer) -> None:
    source, started = await start(server, "xd-1")
    await send(source, t="xdomain", id=1, url="https://evil.example/steal")
    refused = await recv_type(source, "xdomain_refused")
    assert refused == {
        "v": 1,
        "t": "xdomain_refused",
        "id": 1,
        "origin": "https://evil.example",
        "reason": "https://evil.example is not a trusted domain",
    }
    await send(source, t="xdomain", id=2, url="javascript:alert(1)")
    assert "absolute http" in (await recv_type(source, "xdomain_refused"))["reason"]

    await send(source, t="xdomain", id=3, url=PARTNER + "/account?x=1")
    handed = await recv_type(source, "xdomain_token")
    assert handed["id"] == 3 and handed["origin"] == PARTNER and handed["expires_in"] == 60
    token = handed["token"]

    thief = await page(server, "https://evil.example")  # a page of another origin cannot use it
    await send(thief, t="xredeem", token=token)
    assert (await recv_type(thief, "error"))["code"] == "badtoken"
    assert (await closed_with(thief))[0] == 4403

    await send(source, t="xdomain", id=4, url=PARTNER + "/")
    token = (await recv_type(source, "xdomain_token"))["token"]
    destination = await page(server, PARTNER)
    await send(destination, t="xredeem", token=token)
    redeemed = await recv_type(destination, "xredeemed")
    assert redeemed["session"] == started["session"] and redeemed["key"] == "xd-1" and redeemed["group"] == 1
    assert await closed_with(destination) == (1000, "redeemed")
    assert await recv_type(source, "xdomain_done") == {"v": 1, "t": "xdomain_done", "origin": PARTNER}

    again = await page(server, PARTNER)  # single use
    await send(again, t="xredeem", token=token)
    assert (await recv_type(again, "error"))["code"] == "badtoken"

    # with what it redeemed, the partner's page resumes the same session like any page of it
    partner = await resume(
        server, {"session": redeemed["session"], "token": redeemed["token"]}, PARTNER + "/", PARTNER
    )
    await partner.close()
    await source.close()


def test_tokens_expire_are_bounded_and_dropped_with_their_session() -> None:
    from cobrowse.protocol.codec import ProtocolError
    from cobrowse.sessions.cross_domain import MAX_TOKENS_PER_SESSION, Handoffs, destination_origin, trusted

    now = [0.0]
    handoffs = Handoffs(clock=lambda: now[0])
    token = handoffs.issue(1, PARTNER)
    now[0] = 61.0
    with pytest.raises(ProtocolError, match="expired"):
        handoffs.redeem(token, PARTNER)
    for _ in range(MAX_TOKENS_PER_SESSION):
        handoffs.issue(2, PARTNER)
    with pytest.raises(OverflowError):
        handoffs.issue(2, PARTNER)
    now[0] = 200.0  # the old ones expired: room again
    kept = handoffs.issue(2, PARTNER)
    handoffs.drop_session(2)
    with pytest.raises(ProtocolError, match="not valid"):
        handoffs.redeem(kept, PARTNER)
    assert destination_origin("HTTPS://Partner.Example:443/x") == "https://partner.example"
    assert trusted(["https://*.example"], "https://a.example") and not trusted([], "https://a.example")
    for bad in ("ftp://x", "//x.example/", "https://user@x.example/", ""):
        with pytest.raises(ValueError):
            destination_origin(bad)
