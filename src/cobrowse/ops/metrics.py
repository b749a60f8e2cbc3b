"""Prometheus metrics of one node, in a registry of its own (never the process-wide default registry, so
that several apps in one process, as in the tests, each report only themselves).

Hot-path numbers are plain integers (:mod:`.meter`, the runtime's session table) turned into metric
families only when Prometheus scrapes, by :class:`NodeCollector`. Broker latency comes from
:class:`BrokerProbe`, which times ``broker.ping()`` every :data:`PROBE_SECONDS` and on each readiness check.
Process metrics (CPU, memory, open files) and the garbage collector's come from prometheus_client's own
collectors. ``docs/operations.md`` lists every metric.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from .. import __version__
from .drain import DrainState
from .meter import Traffic

if TYPE_CHECKING:
    from ..broker import Broker
    from ..sessions.runtime import SessionRuntime

log = logging.getLogger("cobrowse.ops")

#: Seconds between two timed pings of the broker.
PROBE_SECONDS = 5.0
#: A ping slower than this counts as failed.
PROBE_TIMEOUT = 2.0
_LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0)


class BrokerProbe:
    """Times ``broker.ping()`` into a histogram. Brokers without ``ping`` (older backends) are not probed:
    :meth:`ping` returns False and records nothing."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.latency = Histogram(
            "cobrowse_broker_latency_seconds",
            "Round trip of a broker ping (periodic probe and readiness checks)",
            buckets=_LATENCY_BUCKETS,
            registry=registry,
        )
        self.failures = Counter(
            "cobrowse_broker_ping_failures",
            "Broker pings that failed or took longer than their timeout",
            registry=registry,
        )

    async def ping(self, broker: Broker, within: float = PROBE_TIMEOUT) -> bool:
        """Ping once; True if the broker has ``ping``. Raises (and counts) a failure or a timeout."""
        ping = getattr(broker, "ping", None)
        if ping is None:
            return False
        started = time.perf_counter()
        try:
            await asyncio.wait_for(ping(), within)
        except Exception:  # TimeoutError included; a cancelled ping (shutdown) is no failure
            self.failures.inc()
            raise
        self.latency.observe(time.perf_counter() - started)
        return True

    async def run_forever(self, broker: Broker, interval: float = PROBE_SECONDS) -> None:
        while True:
            try:
                if not await self.ping(broker):
                    return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("broker ping failed: %r", exc)
            await asyncio.sleep(interval)


class NodeCollector:
    """The ``cobrowse_*`` families computed at scrape time from counters kept as plain integers."""

    def __init__(self, traffic: Traffic, drain: DrainState) -> None:
        self.traffic = traffic
        self.drain = drain
        self.runtime: SessionRuntime | None = None  # set once the app has started

    def collect(self) -> Iterable[Metric]:
        runtime = self.runtime
        info = GaugeMetricFamily("cobrowse_node", "This node: its id and the server version", labels=["node", "version"])
        info.add_metric([runtime.node if runtime else "", __version__], 1)
        yield info
        sessions = GaugeMetricFamily("cobrowse_live_sessions", "Live sessions whose home is this node")
        sessions.add_metric([], len(runtime.live_sessions()) if runtime else 0)
        yield sessions
        yield GaugeMetricFamily("cobrowse_draining", "1 while the node drains before shutting down", value=int(self.drain.draining))

        roles = self.traffic.roles.items()
        families = [
            (GaugeMetricFamily, "cobrowse_connections", "Open WebSocket connections on this node", "open"),
            (CounterMetricFamily, "cobrowse_connections_opened", "WebSocket connections accepted", "opened"),
            (CounterMetricFamily, "cobrowse_sent_messages", "WebSocket messages sent to clients", "sent"),
            (CounterMetricFamily, "cobrowse_sent_bytes", "Bytes of WebSocket messages sent to clients", "sent_bytes"),
            (CounterMetricFamily, "cobrowse_received_messages", "WebSocket messages received from clients", "received"),
            (CounterMetricFamily, "cobrowse_received_bytes", "Bytes of WebSocket messages received from clients", "received_bytes"),
        ]
        for kind, name, doc, field in families:
            family = kind(name, doc, labels=["role"])
            for role, counts in roles:
                family.add_metric([role], getattr(counts, field))
            yield family

        errors = CounterMetricFamily(
            "cobrowse_socket_errors",
            "WebSocket connections the server closed with an error code (refusals, overload, server errors)",
            labels=["code", "reason"],
        )
        for (code, reason), count in list(self.traffic.socket_errors.items()):
            errors.add_metric([str(code), reason], count)
        yield errors
        http = CounterMetricFamily("cobrowse_http_errors", "HTTP responses with a 5xx status", labels=["status"])
        for status, count in list(self.traffic.http_errors.items()):
            http.add_metric([str(status)], count)
        yield http


class NodeMetrics:
    """The registry of one app: :class:`NodeCollector`, the broker probe and the process collectors."""

    def __init__(self, traffic: Traffic, drain: DrainState) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.node = NodeCollector(traffic, drain)
        self.registry.register(self.node)
        self.broker = BrokerProbe(self.registry)
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        GCCollector(registry=self.registry)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


def bearer_token(request: Request) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def metrics_endpoint(metrics: NodeMetrics, token: str) -> Callable[[Request], Awaitable[Response]]:
    """``GET /metrics``: the Prometheus text format; with ``token`` set, only for ``Bearer <token>``."""
    expected = token.encode()

    async def endpoint(request: Request) -> Response:
        if expected and not hmac.compare_digest(bearer_token(request).encode(), expected):
            return PlainTextResponse(
                "metrics need 'Authorization: Bearer <metrics_token>'\n",
                status_code=401,
                headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
            )
        return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)

    return endpoint
