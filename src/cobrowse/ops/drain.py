"""Graceful drain: on SIGTERM the node first stops looking ready, then shuts down as it always did.

A load balancer sends new connections only to nodes whose ``/readyz`` answers 200. On SIGTERM
:class:`DrainingServer` marks the node as draining (``/readyz`` answers 503 at once), keeps serving for
``drain_seconds`` (the sockets already open carry on, so the health checks have time to take the node out
of rotation), and then lets uvicorn shut down as usual: every WebSocket is closed with 1012 (service
restart), the clients reconnect through the load balancer to another node, and the sessions continue there
(the runtime writes their continuity on the way out and ends none of them).

A second SIGTERM, or a SIGINT (Ctrl-C), during the drain shuts down at once. With ``drain_seconds`` 0 (the
default, right for the demo and a single node) SIGTERM shuts down at once, as before.

Written against uvicorn 0.54 (pinned in pyproject.toml): it overrides ``Server.handle_exit`` (called from
the signal handler: it only sets fields) and ``Server.on_tick`` (uvicorn's main loop, ten times a second,
which notices the end of the drain), and appends to ``_captured_signals`` as ``handle_exit`` does, so the
process still ends by re-raising the signal after its graceful shutdown.
"""

from __future__ import annotations

import logging
import signal
import time
from types import FrameType

import uvicorn

log = logging.getLogger("cobrowse.ops")


class DrainState:
    """Whether this node is on its way out (readiness reports it; see :mod:`.health`)."""

    def __init__(self) -> None:
        self.since: float | None = None

    @property
    def draining(self) -> bool:
        return self.since is not None

    def begin(self) -> None:
        """Report not ready from now on (it is never undone: a draining node only ever stops)."""
        if self.since is None:
            self.since = time.monotonic()


class DrainingServer(uvicorn.Server):
    """A uvicorn server that drains for ``drain_seconds`` on SIGTERM before shutting down."""

    def __init__(self, config: uvicorn.Config, drain: DrainState, drain_seconds: float) -> None:
        super().__init__(config)
        self.drain = drain
        self.drain_seconds = drain_seconds
        self._drain_until: float | None = None
        self._announced = False

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        # Runs in a signal handler: set fields only (on_tick logs and acts).
        self.drain.begin()
        if sig == signal.SIGTERM and self.drain_seconds > 0 and self._drain_until is None and not self.should_exit:
            self._captured_signals.append(sig)
            self._drain_until = time.monotonic() + self.drain_seconds
            return
        super().handle_exit(sig, frame)

    async def on_tick(self, counter: int) -> bool:
        if self._drain_until is not None and not self.should_exit:
            if not self._announced:
                self._announced = True
                log.info("SIGTERM: draining for %.1f s (readiness reports 503), then shutting down", self.drain_seconds)
            if time.monotonic() >= self._drain_until:
                log.info("drain over: shutting down (open sockets are told to reconnect elsewhere)")
                self.should_exit = True
        return await super().on_tick(counter)
