"""Which database the tests' servers use: SQLite files (the default) or PostgreSQL (the second pass of
``scripts/test``), chosen by ``COBROWSE_TEST_DATABASE=sqlite|postgresql``.

With ``postgresql``, every server a test starts gets a database of its own on this worker's private
PostgreSQL server (tests/support/services.py), named after the server's data directory: a server restarted on
the same data directory finds its data again, and the CLI run on that directory reaches the same database.
In-process servers get it through :func:`install` (``Config.effective_database_url``), subprocesses
through :func:`env_for` (``COBROWSE_DATABASE_URL``). Tests that look inside the SQLite file itself are marked
``sqlite_only`` and skipped in that pass (the store tests run on both engines in every pass).
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import contextlib
import hashlib
import os
import threading
from pathlib import Path

MODE = os.environ.get("COBROWSE_TEST_DATABASE", "sqlite")
if MODE not in ("sqlite", "postgresql"):
    raise RuntimeError(f"COBROWSE_TEST_DATABASE must be sqlite or postgresql, not {MODE!r}")

_lock = threading.Lock()
_server: contextlib.ExitStack | None = None
_admin_url = ""
_created: set[str] = set()


def _admin() -> str:
    global _server, _admin_url
    with _lock:
        if _server is None:
            from .services import postgres

            _server = contextlib.ExitStack()
            _admin_url = _server.enter_context(postgres())
            atexit.register(_server.close)
        return _admin_url


async def _create(admin_url: str, name: str) -> None:
    import asyncpg  # type: ignore[import-untyped]

    connection = await asyncpg.connect(admin_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        exists = await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()


def database_for(data_dir: str | Path) -> str | None:
    """The PostgreSQL URL for a server on ``data_dir`` (created on first use); None in SQLite mode."""
    if MODE != "postgresql":
        return None
    admin = _admin()
    name = "t_" + hashlib.sha1(str(Path(data_dir).resolve()).encode()).hexdigest()[:20]
    if name not in _created:
        # in a thread of its own: the caller may be inside an event loop
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            pool.submit(asyncio.run, _create(admin, name)).result()
        _created.add(name)
    return admin.rsplit("/", 1)[0] + "/" + name


def env_for(data_dir: str | Path) -> dict[str, str]:
    """Environment for a ``cobrowse`` subprocess on ``data_dir``."""
    url = database_for(data_dir)
    return {"COBROWSE_DATABASE_URL": url} if url else {}


def install() -> None:
    """Make every in-process Config without an explicit database use :func:`database_for` its data_dir."""
    if MODE != "postgresql":
        return
    from cobrowse.config import Config

    def effective_database_url(self: Config) -> str:
        return self.database_url or database_for(self.data_dir) or ""

    Config.effective_database_url = property(effective_database_url)  # type: ignore[method-assign,assignment]


async def _fetch(url: str, sql: str, args: tuple[object, ...]) -> list[tuple[object, ...]]:
    import asyncpg

    connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        return [tuple(row) for row in await connection.fetch(sql, *args)]
    finally:
        await connection.close()


def query(data_dir: str | Path, sql: str, *args: object) -> list[tuple[object, ...]]:
    """Rows of ``sql`` (placeholders ``$1``, ``$2``...) in the database of the server on ``data_dir``."""
    url = database_for(data_dir)
    if url is None:
        import re
        import sqlite3

        with sqlite3.connect(Path(data_dir) / "cobrowse.db") as db:
            return db.execute(re.sub(r"\$\d+", "?", sql), args).fetchall()
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, _fetch(url, sql, args)).result()
