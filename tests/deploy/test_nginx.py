"""deploy/nginx.conf, run for real: three nodes behind Debian's nginx, every client only through it (TLS).

Shows what docs/deployment.md promises: WebSockets pass through nginx, a visitor and two agents whose sockets
reach whichever node nginx picks (round robin, no stickiness) share one session, the nodes see the host the
browser used (a console POST with its Origin is accepted), the operational endpoints behave as documented, and
when the session's home node is killed the clients reconnect through nginx and the session continues from the
Redis log.
"""

from __future__ import annotations

from deploy.deployment import Deployment, endpoints_as_documented
from deploy.front import frame, reconnect
from support.wire import closed_with, recv_type, send


async def test_a_session_through_nginx_survives_its_home_node(behind_nginx: Deployment) -> None:
    await endpoints_as_documented(behind_nginx)
    front = behind_nginx.front
    visitor, started = await front.start("nginx-story")
    assert started["t"] == "started", started
    sid = started["session"]
    await visitor.send(frame(1, 1, True, [{"type": 2, "data": {"page": "snapshot"}}]))
    await visitor.send(frame(2, 1, False, [{"type": 3, "data": {"n": 2}}]))
    first_cookie, second_cookie = await front.login(), await front.login()
    first, joined = await front.join("nginx-story", first_cookie)
    assert joined["t"] == "joined" and joined["session"] == sid, joined
    assert [(await recv_type(first, "events"))["seq"] for _ in range(2)] == [1, 2]
    second, joined = await front.join("nginx-story", second_cookie)
    assert joined["agents"]["count"] == 2, joined
    agents = await recv_type(visitor, "agents")
    while agents["count"] != 2:
        agents = await recv_type(visitor, "agents")

    # frames reach both agents; messages go both ways
    await visitor.send(frame(3, 1, False, [{"type": 3, "data": {"n": 3}}]))
    assert (await recv_type(first, "events"))["seq"] == 3
    assert [(await recv_type(second, "events"))["seq"] for _ in range(3)] == [1, 2, 3]
    await send(second, t="message", name="hi", data={"from": "the second agent"})
    assert (await recv_type(visitor, "message"))["data"] == {"from": "the second agent"}
    await send(visitor, t="message", name="hello", data={"from": "the visitor"})
    for agent in (first, second):
        assert (await recv_type(agent, "message"))["data"] == {"from": "the visitor"}

    # nginx passes the browser's host on: a console POST carrying its Origin is accepted by whichever node
    async with front.http(headers={"Cookie": first_cookie, "Origin": front.url}) as client:
        listed = await client.get(f"/api/v1/sessions/{sid}")
        assert listed.status_code == 200 and listed.json()["live"] is True, listed.text
        invited = await client.post(f"/api/v1/sessions/{sid}/guests")
        assert invited.status_code == 201, invited.text
        assert invited.json()["url"].startswith(front.url + "/"), invited.json()  # the public URL

    # the home node dies: every socket of the session drops (directly, or with its tunnel)
    home = await behind_nginx.home_of(sid)
    home.kill()
    for ws in (visitor, first, second):
        await closed_with(ws, 15)

    # the visitor's page reconnects through nginx: same session, at its last frame
    visitor, resumed = await reconnect(lambda: front.resume(started))
    assert resumed["t"] == "resumed" and resumed["session"] == sid, resumed
    assert (resumed["epoch"], resumed["seq"]) == (1, 3), resumed
    assert (await behind_nginx.home_of(sid)) is not home
    await visitor.send(frame(4, 1, False, [{"type": 3, "data": {"n": 4}}]))
    # the agents' consoles reconnect through nginx and get the whole recording from the log, then live frames
    first, joined = await reconnect(lambda: front.join("nginx-story", first_cookie))
    assert joined["t"] == "joined" and joined["session"] == sid, joined
    assert [(await recv_type(first, "events"))["seq"] for _ in range(4)] == [1, 2, 3, 4]
    second, joined = await reconnect(lambda: front.join("nginx-story", second_cookie))
    assert joined["agents"]["count"] == 2, joined
    assert [(await recv_type(second, "events"))["seq"] for _ in range(4)] == [1, 2, 3, 4]
    await visitor.send(frame(5, 1, False, []))
    for agent in (first, second):
        assert (await recv_type(agent, "events"))["seq"] == 5
    await send(first, t="message", name="back", data={"from": "the first agent"})
    assert (await recv_type(visitor, "message"))["data"] == {"from": "the first agent"}
    for ws in (visitor, first, second):
        await ws.close()
