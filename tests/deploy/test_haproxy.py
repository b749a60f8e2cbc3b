"""deploy/haproxy.cfg, run for real: three nodes behind Debian's HAProxy, clients only through it (TLS).

Smaller than the nginx test: WebSockets pass through and a visitor and an agent share a session; the active
health checks on /readyz see every node up, take a killed node out of rotation, and new sessions then start
through HAProxy without a failed attempt.
"""

from __future__ import annotations

import asyncio

from deploy.balancers import HAProxy
from deploy.deployment import Deployment, endpoints_as_documented
from deploy.front import frame
from support.wire import recv_type, send


async def _servers_become(balancer: HAProxy, wanted: dict[str, str], timeout: float = 20.0) -> None:
    """Poll HAProxy's admin socket until its health checks give ``wanted``."""

    async def poll() -> None:
        while True:
            states = balancer.servers_state()
            if {name: states[name] for name in wanted} == wanted:
                return
            await asyncio.sleep(0.2)  # the checks run every 2 s

    try:
        await asyncio.wait_for(poll(), timeout)
    except TimeoutError:
        raise AssertionError(f"HAProxy's servers are {balancer.servers_state()}, wanted {wanted}") from None


async def test_a_session_through_haproxy_and_active_health_checks(behind_haproxy: Deployment) -> None:
    balancer = behind_haproxy.balancer
    assert isinstance(balancer, HAProxy)
    await _servers_become(balancer, {"node1": "UP", "node2": "UP", "node3": "UP"})
    front = behind_haproxy.front
    await endpoints_as_documented(behind_haproxy)

    visitor, started = await front.start("haproxy-1")
    assert started["t"] == "started", started
    await visitor.send(frame(1, 1, True, [{"type": 2, "data": {"page": 1}}]))
    cookie = await front.login()
    agent, joined = await front.join("haproxy-1", cookie)
    assert joined["t"] == "joined" and joined["session"] == started["session"], joined
    assert (await recv_type(agent, "events"))["seq"] == 1
    await visitor.send(frame(2, 1, False, []))
    assert (await recv_type(agent, "events"))["seq"] == 2
    await send(agent, t="message", name="hi", data={"from": "the agent"})
    assert (await recv_type(visitor, "message"))["data"] == {"from": "the agent"}
    await send(visitor, t="message", name="hello", data={"from": "the visitor"})
    assert (await recv_type(agent, "message"))["data"] == {"from": "the visitor"}
    for ws in (visitor, agent):
        await ws.close()

    # a node that is not there any more fails its checks and leaves the rotation
    behind_haproxy.cluster.nodes[2].kill()
    await _servers_become(balancer, {"node1": "UP", "node2": "UP", "node3": "DOWN"})
    for n in range(6):  # leastconn or not, none of them reaches the dead node
        page, started = await front.start(f"haproxy-after-{n}")
        assert started["t"] == "started", started
        await page.close()
