"""A real ``cobrowse serve`` process for the operations tests (signals, log output on stderr)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import dataclasses
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx

from cobrowse.config import Config
from cobrowse.store import Store
from support.services import free_port
from support.test_database import env_for

CLI = Path(sys.executable).parent / "cobrowse"


@dataclasses.dataclass
class NodeProcess:
    process: subprocess.Popen[bytes]
    url: str
    log: Path

    @property
    def ws(self) -> str:
        return "ws" + self.url.removeprefix("http")

    def log_lines(self) -> list[str]:
        return self.log.read_text(errors="replace").splitlines()


def wait_until(predicate: Callable[[], bool], timeout: float = 15.0, what: str = "condition") -> None:
    """Poll ``predicate`` (a cheap check against a real process) until it holds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def _create_group(database_url: str, group_id: int) -> None:
    async def create() -> None:
        async with await Store.open(database_url) as store:
            await store.upgrade()
            await store.create_group("Shop", group_id)

    # in a thread of its own: the caller may be inside an event loop (an async test)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, create()).result()


def _answers(url: str) -> bool:
    try:
        return httpx.get(url + "/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


@contextlib.contextmanager
def node_processes(tmp_path: Path) -> Iterator[Callable[..., NodeProcess]]:
    """``start(*flags, group=None, **settings)`` runs ``cobrowse serve`` (flags, ``COBROWSE_*`` settings; a
    group of that id created first) on a free port and waits for /healthz; nodes still running at the end are
    killed."""
    started: list[NodeProcess] = []

    def start(*flags: str, group: int | None = None, **settings: str) -> NodeProcess:
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("COBROWSE_")}
        env.update(env_for(tmp_path / "data"))  # the PostgreSQL pass: the database this test process uses too
        env.update({f"COBROWSE_{name.upper()}": value for name, value in settings.items()})
        log = tmp_path / f"node-{port}.log"
        data = ["--data-dir", str(tmp_path / "data")]
        if group is not None:
            _create_group(Config(data_dir=data[1]).effective_database_url, group)
        cmd = [str(CLI), "serve", "--host", "127.0.0.1", "--port", str(port), *data]
        with log.open("wb") as out:
            process = subprocess.Popen([*cmd, *flags], stdout=out, stderr=out, env=env)
        node = NodeProcess(process, f"http://127.0.0.1:{port}", log)
        started.append(node)
        try:
            wait_until(lambda: process.poll() is not None or _answers(node.url), 30, "the node to answer")
        except AssertionError:
            raise AssertionError("\n".join(node.log_lines()[-30:])) from None
        assert process.poll() is None, "\n".join(node.log_lines()[-30:])
        return node

    try:
        yield start
    finally:
        for node in started:
            if node.process.poll() is None:
                node.process.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                node.process.wait(10)
