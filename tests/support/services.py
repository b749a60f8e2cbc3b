"""Real PostgreSQL and Redis servers for the tests, started privately and thrown away afterwards.

Each pytest worker starts its own: a PostgreSQL cluster made with ``initdb`` in a temporary directory (owned by
the ``postgres`` user when the tests run as root, because PostgreSQL refuses to run as root) listening on a
free port of 127.0.0.1, with fsync off; a ``redis-server`` on a free port with persistence off. Nothing is
shared with a system-wide server, so the tests never touch real data and workers never collide.

The binaries come from Debian's ``postgresql`` and ``redis-server`` packages (``scripts/setup
--with-services``, which ``scripts/test`` runs). Set ``COBROWSE_TEST_POSTGRES_URL`` /
``COBROWSE_TEST_REDIS_URL`` to use servers of your own instead.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path


class ServiceError(RuntimeError):
    """A test service could not be started (with what it printed)."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_port(
    port: int, process: subprocess.Popen[bytes], log: Path, what: str, timeout: float = 30
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ServiceError(f"{what} exited with {process.returncode}:\n{log.read_text(errors='replace')}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return
        time.sleep(0.05)
    process.kill()
    raise ServiceError(f"{what} did not listen on port {port} within {timeout:.0f} s:\n{log.read_text()}")


def _postgres_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}")) or (
        [shutil.which(name)] if shutil.which(name) else []
    )
    if not found:
        raise ServiceError(f"PostgreSQL's {name} is not installed: run scripts/setup --with-services")
    return str(found[-1])


@contextlib.contextmanager
def postgres() -> Iterator[str]:
    """A private PostgreSQL server; yields its admin URL (``postgresql+asyncpg://postgres@127.0.0.1:P/postgres``)."""
    if os.environ.get("COBROWSE_TEST_POSTGRES_URL"):
        yield os.environ["COBROWSE_TEST_POSTGRES_URL"]
        return
    root = Path(tempfile.mkdtemp(prefix="cobrowse-pg-"))
    data, log = root / "data", root / "postgres.log"
    as_root = os.geteuid() == 0
    user = pwd.getpwnam("postgres") if as_root else None

    def run_as(cmd: list[str]) -> list[str]:
        return ["runuser", "-u", "postgres", "--", *cmd] if as_root else cmd

    if user is not None:
        os.chown(root, user.pw_uid, user.pw_gid)
    done = subprocess.run(
        run_as(
            [
                _postgres_bin("initdb"),
                "-D",
                str(data),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
            ]
        ),
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise ServiceError(f"initdb failed:\n{done.stdout}\n{done.stderr}")
    port = free_port()
    options = ["-p", str(port), "-k", str(root), "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"]
    options += ["-c", "synchronous_commit=off", "-c", "full_page_writes=off", "-c", "max_connections=200"]
    with log.open("wb") as out:
        if user is not None:
            os.chown(log, user.pw_uid, user.pw_gid)
        process = subprocess.Popen(
            run_as([_postgres_bin("postgres"), "-D", str(data), *options]), stdout=out, stderr=out
        )
    try:
        _wait_port(port, process, log, "postgres")
        yield f"postgresql+asyncpg://postgres@127.0.0.1:{port}/postgres"
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(root, ignore_errors=True)


@contextlib.contextmanager
def redis() -> Iterator[str]:
    """A private Redis server with persistence off; yields its URL (``redis://127.0.0.1:P/0``)."""
    if os.environ.get("COBROWSE_TEST_REDIS_URL"):
        yield os.environ["COBROWSE_TEST_REDIS_URL"]
        return
    binary = shutil.which("redis-server")
    if binary is None:
        raise ServiceError("redis-server is not installed: run scripts/setup --with-services")
    root = Path(tempfile.mkdtemp(prefix="cobrowse-redis-"))
    log = root / "redis.log"
    port = free_port()
    cmd = [
        binary,
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        str(root),
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(cmd, stdout=out, stderr=out)
    try:
        _wait_port(port, process, log, "redis-server")
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=15)
        shutil.rmtree(root, ignore_errors=True)
