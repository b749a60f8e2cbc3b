"""/healthz and /readyz on a real server: ready when the database and broker answer and the node is not
draining; 503 naming the failed check when the database is unreachable, hangs, or stops."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from cobrowse.ops import Operations
from cobrowse.store import Store
from cobrowse.store.engine import create_engine
from support.live_server import LiveServer, serve
from support.services import postgres, redis


def ops_of(server: LiveServer) -> Operations:
    ops: Operations = server.app.state.ops  # type: ignore[attr-defined]
    return ops


def readyz(server: LiveServer) -> tuple[int, dict[str, Any]]:
    response = httpx.get(server.url + "/readyz", timeout=10)
    return response.status_code, response.json()


def test_healthz_answers_ok(live_server: LiveServer) -> None:
    response = httpx.get(live_server.url + "/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}
    assert response.headers["cache-control"] == "no-store"


def test_readyz_is_200_with_each_check(live_server: LiveServer) -> None:
    status, body = readyz(live_server)
    assert status == 200 and body["status"] == "ready"
    assert {name: check["ok"] for name, check in body["checks"].items()} == {
        "database": True,
        "broker": True,
        "drain": True,
    }


def test_readyz_is_503_while_draining_and_liveness_stays_ok(tmp_path: Path) -> None:
    with serve(tmp_path) as server:
        ops_of(server).drain.begin()
        status, body = readyz(server)
        assert status == 503 and body["status"] == "not ready"
        assert body["checks"]["drain"] == {"ok": False, "detail": "draining: the node is shutting down"}
        assert body["checks"]["database"]["ok"] and body["checks"]["broker"]["ok"]
        assert httpx.get(server.url + "/healthz").status_code == 200


def test_readyz_is_503_when_the_database_refuses_connections(tmp_path: Path) -> None:
    closed_port = _closed_port()
    with serve(tmp_path) as server:
        readiness = ops_of(server).readiness
        readiness.store = Store(create_engine(f"postgresql+asyncpg://nobody@127.0.0.1:{closed_port}/gone"))
        status, body = readyz(server)
    assert status == 503
    database = body["checks"]["database"]
    assert database["ok"] is False and database["detail"].startswith("ConnectionRefusedError")
    assert body["checks"]["broker"]["ok"] is True


def test_readyz_fails_quickly_when_the_database_hangs(tmp_path: Path) -> None:
    with _silent_server() as port, serve(tmp_path) as server:
        readiness = ops_of(server).readiness
        readiness.timeout = 0.5
        readiness.store = Store(create_engine(f"postgresql+asyncpg://nobody@127.0.0.1:{port}/hangs"))
        status, body = readyz(server)
    assert status == 503
    assert body["checks"]["database"] == {"ok": False, "detail": "no answer within 0.5 s"}


def test_readyz_is_503_once_postgresql_stops(tmp_path: Path) -> None:
    with contextlib.ExitStack() as server_stack:
        with postgres() as url:
            _wait_until_it_answers(url)
            server = server_stack.enter_context(serve(tmp_path, database_url=url))
            assert readyz(server)[0] == 200
        status, body = readyz(server)  # the database server is gone, this node is not
        assert status == 503 and body["checks"]["database"]["ok"] is False
        assert httpx.get(server.url + "/healthz").status_code == 200


def _wait_until_it_answers(database_url: str) -> None:
    """PostgreSQL listens a moment before it takes queries ("the database system is starting up")."""

    async def answers() -> bool:
        try:
            await (await Store.open(database_url)).close()
        except Exception:
            return False
        return True

    deadline = time.monotonic() + 30
    while not asyncio.run(answers()):
        assert time.monotonic() < deadline, "PostgreSQL did not start"
        time.sleep(0.1)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # nothing listens there once this returns


@contextlib.contextmanager
def _silent_server() -> Iterator[int]:
    """A TCP server that accepts connections and never says anything (a hung database)."""
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            with contextlib.suppress(TimeoutError, OSError):
                accepted.append(listener.accept()[0])

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield int(listener.getsockname()[1])
    finally:
        stop.set()
        thread.join(5)
        for conn in accepted:
            conn.close()
        listener.close()


def test_readyz_is_503_once_redis_stops(tmp_path: Path) -> None:
    with contextlib.ExitStack() as server_stack:
        with redis() as url:
            server = server_stack.enter_context(serve(tmp_path, broker_url=url))
            assert readyz(server)[0] == 200
        status, body = readyz(server)  # the broker's server is gone, this node is not
        assert status == 503 and body["checks"]["broker"]["ok"] is False
        assert body["checks"]["database"]["ok"] is True
