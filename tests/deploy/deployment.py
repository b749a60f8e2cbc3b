"""A running deployment as the tests see it: the cluster's nodes, the load balancer in front of them, and
clients that reach the cluster through the balancer only."""

from __future__ import annotations

import dataclasses

from cobrowse.broker import RedisBroker
from deploy.balancers import Balancer
from deploy.front import Front
from support.cluster import Cluster, Node


@dataclasses.dataclass
class Deployment:
    cluster: Cluster
    balancer: Balancer
    front: Front
    redis_url: str

    async def home_of(self, session_id: int) -> Node:
        """The node that runs ``session_id`` now, as the cluster's broker says."""
        broker = RedisBroker(self.redis_url)
        await broker.connect()
        try:
            home = await broker.home_of(session_id)
            url = None if home is None else await broker.node_url(home)
        finally:
            await broker.disconnect()
        found = [node for node in self.cluster.nodes if node.url == url]
        assert found, f"session {session_id} has no live home ({home!r} at {url!r})"
        return found[0]

    def logs(self) -> str:
        return f"{self.cluster.logs()}\n--- balancer ---\n{self.balancer.log_tail()}"


async def endpoints_as_documented(deployment: Deployment) -> None:
    """Through the balancer: /readyz and /healthz answer (the nodes reach Redis), /metrics is refused, the
    visitor script is served, and plain HTTP is redirected to HTTPS."""
    async with deployment.front.http() as client:
        ready = await client.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json()["checks"]["broker"]["ok"] is True, ready.text
        assert (await client.get("/healthz")).status_code == 200
        assert (await client.get("/metrics")).status_code == 403  # scraped per node, never through it
        script = await client.get("/static/visitor.js")
        assert script.status_code == 200 and "javascript" in script.headers["content-type"]
        plain = await client.get(deployment.balancer.plain_url + "/agent/", follow_redirects=False)
        assert plain.status_code == 301 and plain.headers["location"].startswith("https://"), plain.headers
