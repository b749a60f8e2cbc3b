"""``/healthz`` (liveness) and ``/readyz`` (readiness) for load balancers and orchestrators.

Liveness says only that the process serves requests: restart it if this fails. Readiness says whether the
node should get new connections: its database answers a trivial query, its broker answers a ping, and it is
not draining (:mod:`.drain`). Each check has :data:`CHECK_TIMEOUT`, so a database that hangs makes readiness
fail quickly instead of making the health checker wait; the checks run together, and concurrent requests
share one run (many load balancers polling a sick node do not multiply the connections it attempts).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from .drain import DrainState
from .metrics import BrokerProbe

if TYPE_CHECKING:
    from ..broker import Broker
    from ..store import Store

#: Longest a readiness check may take before it counts as failed.
CHECK_TIMEOUT = 2.0
_NO_CACHE = {"Cache-Control": "no-store"}


@dataclass(frozen=True)
class Check:
    ok: bool
    detail: str = ""
    ms: float | None = None

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"ok": self.ok}
        if self.ms is not None:
            out["ms"] = round(self.ms, 2)
        if self.detail:
            out["detail"] = self.detail
        return out


def _describe(exc: BaseException) -> str:
    first = (str(exc).splitlines() or [""])[0]
    return f"{exc.__class__.__name__}: {first}"[:200] if first else exc.__class__.__name__


class Readiness:
    """The readiness checks of one node; :meth:`attach` gives them the store and broker once started."""

    def __init__(self, drain: DrainState, probe: BrokerProbe, timeout: float = CHECK_TIMEOUT) -> None:
        self.drain = drain
        self.probe = probe
        self.timeout = timeout
        self.store: Store | None = None
        self.broker: Broker | None = None
        self._running: asyncio.Task[dict[str, Check]] | None = None

    def attach(self, store: Store, broker: Broker) -> None:
        self.store, self.broker = store, broker

    async def check(self) -> dict[str, Check]:
        """Every check by name; the node is ready when all are ok."""
        if self._running is None or self._running.done():
            self._running = asyncio.create_task(self._check_all(), name="cobrowse-readiness")
        return await asyncio.shield(self._running)

    async def _check_all(self) -> dict[str, Check]:
        store, broker = self.store, self.broker
        if store is None or broker is None:
            return {"startup": Check(False, "the server is starting")}
        database, broker_check = await asyncio.gather(
            self._timed(lambda: self._query(store)), self._timed(lambda: self._ping(broker))
        )
        drain = Check(False, "draining: the node is shutting down") if self.drain.draining else Check(True)
        return {"database": database, "broker": broker_check, "drain": drain}

    async def _timed(self, run: Callable[[], Awaitable[str]]) -> Check:
        started = time.perf_counter()
        try:
            detail = await asyncio.wait_for(run(), self.timeout)
        except TimeoutError:
            return Check(False, f"no answer within {self.timeout:g} s")
        except Exception as exc:
            return Check(False, _describe(exc))
        return Check(True, detail, (time.perf_counter() - started) * 1000)

    @staticmethod
    async def _query(store: Store) -> str:
        async with store.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        return ""

    async def _ping(self, broker: Broker) -> str:
        # the probe has its own (equal) timeout; this one bounds the whole check
        return "" if await self.probe.ping(broker, self.timeout) else "this broker has no ping: not checked"


async def healthz(request: Request) -> Response:
    """Liveness: 200 while the process answers requests."""
    return JSONResponse({"status": "ok"}, headers=_NO_CACHE)


def readyz_endpoint(readiness: Readiness) -> Callable[[Request], Awaitable[Response]]:
    async def readyz(request: Request) -> Response:
        """Readiness: 200 when every check passes, else 503 naming the checks that failed and why."""
        checks = await readiness.check()
        ready = all(check.ok for check in checks.values())
        body = {
            "status": "ready" if ready else "not ready",
            "checks": {name: check.as_json() for name, check in checks.items()},
        }
        return JSONResponse(body, status_code=200 if ready else 503, headers=_NO_CACHE)

    return readyz
