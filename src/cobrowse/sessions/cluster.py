"""Which node runs a session, when several nodes share a Redis broker.

Every live session has one *home*: the node whose :class:`~cobrowse.protocol.session.SessionCore` decides for
it. A socket may arrive at any node (no sticky sessions behind the load balancer); a node that is not the
session's home tunnels the socket to the home (:mod:`.tunnel`), so seats, roles, limits and the order of
events are decided in one place, exactly as on a single node.

Homes are claimed in the broker: each node announces itself with a heartbeat (its internal URL, a few seconds
to live, renewed every second) and :meth:`Broker.claim_home` atomically makes a node the home of a session
that has none or whose home stopped beating. So when a node dies, the next socket of each of its sessions
(clients reconnect by themselves) makes the node it reaches the new home, which rebuilds the session from the
store and the broker's log; sessions nobody comes back to are adopted by the periodic sweep and end after
their visitor's grace period like any other.

Tunnelled sockets carry a header proving they come from a node of the cluster (an HMAC of the shared secret):
a node never tunnels such a socket again (no loops), and trusts the entry node's checks of the browser's
origin.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import random
from collections.abc import Awaitable, Callable, Mapping

from ..broker import Broker

log = logging.getLogger("cobrowse.cluster")

#: Header a node adds to a socket it tunnels to a session's home.
TUNNEL_HEADER = "x-cobrowse-tunnel"
#: How often a node renews its heartbeat, and how long one lasts without renewal.
HEARTBEAT_SECONDS = 1.0
HEARTBEAT_TTL = 3.0
#: How often a node looks for open sessions whose home is gone (with jitter, so nodes don't sweep together).
SWEEP_SECONDS = 15.0


class NoHome(Exception):
    """The session's home is alive by the broker but unreachable, or could not be claimed: try again soon."""


class Cluster:
    """This node's place among its peers. With the in-process broker (one node) every session is home here
    and nothing is announced."""

    def __init__(self, broker: Broker, node: str, url: str, secret: str, multi: bool) -> None:
        self.broker = broker
        self.node = node
        self.url = url
        self.multi = multi
        self._proof = hmac.new(secret.encode(), b"cobrowse-tunnel", hashlib.sha256).hexdigest()
        self._task: asyncio.Task[None] | None = None

    # ---- lifecycle ----------------------------------------------------------------------------

    async def start(self, sweep: Callable[[], Awaitable[None]]) -> None:
        """Announce this node and keep announcing it; run ``sweep`` (adopt orphaned sessions) now and then."""
        if not self.multi:
            return
        await self.broker.heartbeat(self.node, self.url, HEARTBEAT_TTL)
        self._task = asyncio.create_task(self._beat(sweep), name="cobrowse-cluster-heartbeat")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _beat(self, sweep: Callable[[], Awaitable[None]]) -> None:
        loop = asyncio.get_running_loop()
        next_sweep = loop.time() + SWEEP_SECONDS * random.uniform(0.2, 1.0)
        while True:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            try:
                await self.broker.heartbeat(self.node, self.url, HEARTBEAT_TTL)
            except Exception:
                log.exception("heartbeat failed: the broker is unreachable")
                continue
            if loop.time() >= next_sweep:
                next_sweep = loop.time() + SWEEP_SECONDS * random.uniform(0.8, 1.2)
                try:
                    await sweep()
                except Exception:
                    log.exception("sweep for orphaned sessions failed")

    # ---- homes --------------------------------------------------------------------------------

    async def home_url(self, session_id: int) -> str | None:
        """None if this node is (now) the session's home, else the base URL of the live node that is.
        Raises :class:`NoHome` when the home node's URL cannot be found (it just died: retry)."""
        if not self.multi:
            return None
        home = await self.broker.claim_home(session_id, self.node)
        if home == self.node:
            return None
        url = await self.broker.node_url(home)
        if url is None:  # its heartbeat ran out between the two calls: claim again
            home = await self.broker.claim_home(session_id, self.node)
            if home == self.node:
                return None
            url = await self.broker.node_url(home)
        if url is None:
            raise NoHome(f"the home node of session {session_id} cannot be reached")
        return url

    async def claim_new(self, session_id: int) -> None:
        """Make this node the home of a session it just created."""
        if self.multi:
            await self.broker.claim_home(session_id, self.node)

    async def is_home(self, session_id: int) -> bool:
        return not self.multi or await self.broker.home_of(session_id) == self.node

    async def release(self, session_id: int) -> None:
        if self.multi:
            await self.broker.drop_home(session_id, self.node)

    # ---- tunnels ------------------------------------------------------------------------------

    def tunnel_headers(self) -> dict[str, str]:
        return {TUNNEL_HEADER: self._proof}

    def tunnelled(self, headers: Mapping[str, str]) -> bool:
        """True if a socket came through another node of this cluster (it proves it knows the secret)."""
        return self.multi and hmac.compare_digest(headers.get(TUNNEL_HEADER, ""), self._proof)
