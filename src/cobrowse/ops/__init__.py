"""Operating a node: health and readiness, Prometheus metrics, structured logs, graceful drain.

:class:`Operations` is what the app adds for operators (``docs/operations.md``): the routes ``/healthz``,
``/readyz`` and ``/metrics``, the traffic-counting middleware, the drain state, and a task that times the
broker. ``create_app`` installs it and starts it once the store, broker and runtime are up;
``cobrowse serve`` (:mod:`.serve`) adds the logging set-up and the SIGTERM drain.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING

from starlette.routing import Route

from ..config import Config
from . import logs
from .drain import DrainState
from .health import Readiness, healthz, readyz_endpoint
from .meter import Traffic, TrafficMiddleware
from .metrics import NodeMetrics, metrics_endpoint

if TYPE_CHECKING:
    from fastapi import FastAPI

    from ..sessions.runtime import SessionRuntime
    from ..store import Store

__all__ = ["DrainState", "Operations"]


class Operations:
    """One node's operations state (one per app; :attr:`FastAPI.state.ops`)."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.traffic = Traffic()
        self.drain = DrainState()
        self.metrics = NodeMetrics(self.traffic, self.drain)
        self.readiness = Readiness(self.drain, self.metrics.broker)
        self._probe: asyncio.Task[None] | None = None

    def install(self, app: FastAPI) -> None:
        """Add the routes and the middleware (before the app starts)."""
        app.state.ops = self
        app.router.routes.extend(
            [
                Route("/healthz", healthz, methods=["GET", "HEAD"], include_in_schema=False),
                Route("/readyz", readyz_endpoint(self.readiness), methods=["GET", "HEAD"], include_in_schema=False),
                Route(
                    "/metrics",
                    metrics_endpoint(self.metrics, self.config.metrics_token),
                    methods=["GET"],
                    include_in_schema=False,
                ),
            ]
        )
        app.add_middleware(TrafficMiddleware, traffic=self.traffic)

    async def start(self, store: Store, runtime: SessionRuntime) -> None:
        """The node is up: check and measure its store, broker and sessions from now on."""
        self.readiness.attach(store, runtime.broker)
        self.metrics.node.runtime = runtime
        logs.set_node(runtime.node)
        self._probe = asyncio.create_task(self.metrics.broker.run_forever(runtime.broker), name="cobrowse-broker-probe")

    async def stop(self) -> None:
        self.drain.begin()  # a node shutting down is not ready, whatever stopped it
        if self._probe is not None:
            self._probe.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._probe
