"""Several cobrowse nodes on one machine sharing a real Redis and PostgreSQL, for the scale-out tests.

Node 0 is ``cobrowse demo`` (it also serves the demo website with the test pages, and seeds the database);
the others are ``cobrowse serve``. All share the database, the broker and the secret key; each announces its
own URL (``COBROWSE_NODE_URL``) so that the others can tunnel a session's sockets to it. ``public_url`` (the
URL in the website's script tag) may name a load balancer in front of the nodes.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import dataclasses
import secrets
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx

from .demo_process import CLI, REPO_ROOT, clean_env, log_tail, start_demo, stop_demo
from .services import free_port


@dataclasses.dataclass
class Node:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def kill(self) -> None:
        """SIGKILL: nothing is saved, its sockets just drop."""
        self.process.kill()
        self.process.wait()

    def log_tail(self) -> str:
        return log_tail(self.log_path)


@dataclasses.dataclass
class Cluster:
    nodes: list[Node]
    site_port: int
    env: dict[str, str]

    @property
    def site(self) -> str:
        return f"http://a.localhost:{self.site_port}"

    def logs(self) -> str:
        return "\n".join(f"--- {n.name} ---\n{n.log_tail()}" for n in self.nodes)


async def _create_database(admin_url: str, name: str) -> str:
    import asyncpg  # type: ignore[import-untyped]

    dsn = admin_url.replace("postgresql+asyncpg://", "postgresql://")
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return admin_url.rsplit("/", 1)[0] + "/" + name


def fresh_database(admin_url: str) -> str:
    """A new empty database on the PostgreSQL server of ``admin_url``; returns its URL."""
    name = f"cluster_{uuid.uuid4().hex[:12]}"
    # in a thread of its own: the caller may be inside an event loop (Playwright's sync API runs one)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, _create_database(admin_url, name)).result()


def _wait_http(node: Node, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if node.process.poll() is not None:
            raise RuntimeError(f"{node.name} exited with {node.process.returncode}:\n{node.log_tail()}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(node.url + "/agent/login", timeout=1).status_code == 200:
                return
        time.sleep(0.1)
    raise RuntimeError(f"{node.name} did not answer within {timeout:.0f} s:\n{node.log_tail()}")


@contextlib.contextmanager
def cluster(
    tmp: Path,
    redis_url: str,
    database_url: str,
    pages: Path,
    size: int = 3,
    public_url: str = "",
    ports: list[int] | None = None,
) -> Iterator[Cluster]:
    """``size`` nodes on ``ports`` (free ones by default); ``public_url`` for the website's script tag
    (default: node 0)."""
    ports = ports or [free_port() for _ in range(size)]
    env = {
        **clean_env(),
        "COBROWSE_BROKER_URL": redis_url,
        "COBROWSE_DATABASE_URL": database_url,
        "COBROWSE_SECRET_KEY": secrets.token_urlsafe(32),
        "COBROWSE_LOG_LEVEL": "info",
    }
    nodes: list[Node] = []
    try:
        log0 = tmp / "node0.log"
        demo = start_demo(
            tmp / "node0",
            pages,
            log0,
            port=ports[0],
            env={
                **env,
                "COBROWSE_NODE_URL": f"http://127.0.0.1:{ports[0]}",
                "COBROWSE_PUBLIC_URL": public_url or f"http://127.0.0.1:{ports[0]}",
            },
        )
        nodes.append(Node("node0", ports[0], demo.process, log0))
        for i, port in enumerate(ports[1:], start=1):
            log_path = tmp / f"node{i}.log"
            cmd = [str(CLI), "--data-dir", str(tmp / f"node{i}"), "serve", "--host", "127.0.0.1"]
            cmd += ["--port", str(port)]
            with log_path.open("wb") as log:
                process = subprocess.Popen(
                    cmd,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    env={
                        **env,
                        "COBROWSE_NODE_URL": f"http://127.0.0.1:{port}",
                        **({"COBROWSE_PUBLIC_URL": public_url} if public_url else {}),
                    },
                    cwd=REPO_ROOT,
                )
            nodes.append(Node(f"node{i}", port, process, log_path))
        for node in nodes[1:]:
            _wait_http(node)
        yield Cluster(nodes, demo.site_port, env)
    finally:
        for node in nodes:
            stop_demo(node.process)
