"""Creating the async engine from a configured database URL.

Any SQLAlchemy URL with an async driver works. Plain ``sqlite://`` and ``postgresql://`` URLs are given the
usual async driver (aiosqlite, asyncpg) so that a configuration written for a synchronous tool still works.
SQLite gets what a small server needs: its directory is created, write-ahead logging lets readers and the
writer proceed together, and foreign keys are enforced (SQLite ignores them unless asked, per connection).

SQLite has one writer at a time, and the pool gives the server several connections, each its own thread. A
write transaction holds SQLite's lock from its first write to its commit, across the event-loop turns between
its statements; the others wait in SQLite's busy handler, which polls with sleeps of up to 100 ms and gives
up after ``busy_timeout`` ("database is locked"). On a loaded server (thousands of sockets, every turn of the
loop long) a burst of session starts used to run into that. So :func:`session_factory` serialises the
process's write transactions (``sessions.begin()``) on an asyncio lock for SQLite: a writer waits its turn in
the event loop (first come, first served, no polling, no timeout) and holds no pooled connection meanwhile;
SQLite's busy timeout is left for other processes (the CLI) writing to the same file. Reads (``sessions()``)
are not serialised: under WAL they never wait for the writer. WAL with ``synchronous=NORMAL`` commits without
a sync of the disk each time (a power loss can lose the last commits, never the database's consistency),
which keeps each write transaction, and so the lock, short.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, InvalidRequestError, NoSuchModuleError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.ext.asyncio.session import _AsyncSessionContextManager

_ASYNC_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
}


def normalise_url(url: str) -> URL:
    """Parse ``url`` and give a bare dialect its async driver; ValueError names a URL that cannot work."""
    if not url:
        raise ValueError("the database URL is empty")
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ValueError(f"invalid database URL {url!r}: {exc}") from exc
    driver = _ASYNC_DRIVERS.get(parsed.drivername)
    if driver is not None:
        parsed = parsed.set(drivername=driver)
    return parsed


def _sqlite_file(url: URL) -> Path | None:
    database = url.database or ""
    if url.get_backend_name() != "sqlite" or database in ("", ":memory:") or database.startswith("file:"):
        return None
    return Path(database)


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=5000")
    finally:
        cursor.close()


def create_engine(url: str) -> AsyncEngine:
    """Create the async engine for ``url`` (see the module docstring); ValueError for an unusable URL."""
    parsed = normalise_url(url)
    path = _sqlite_file(parsed)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        engine = create_async_engine(parsed, pool_pre_ping=parsed.get_backend_name() != "sqlite")
    except NoSuchModuleError as exc:
        raise ValueError(f"database URL {parsed.render_as_string()!r}: unknown dialect or driver") from exc
    except InvalidRequestError as exc:  # a synchronous driver
        raise ValueError(f"database URL {parsed.render_as_string()!r} needs an async driver: {exc}") from exc
    except ModuleNotFoundError as exc:
        raise ValueError(
            f"database URL {parsed.render_as_string()!r} needs the Python package {exc.name!r}; install it"
        ) from exc
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_on_connect)
    return engine


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """The store's session factory for ``engine``: for SQLite one whose write transactions take turns (see
    the module docstring), for any other database SQLAlchemy's own (it has row locks and many writers)."""
    if engine.dialect.name == "sqlite":
        return SerialWriteSessions(engine, class_=AsyncSession, expire_on_commit=False)
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


class SerialWriteSessions(async_sessionmaker[AsyncSession]):
    """An ``async_sessionmaker`` whose ``begin()`` transactions run one at a time in this process.

    Write transactions are never nested in the store (each store function is one short transaction), so the
    lock is not reentrant. Written against SQLAlchemy 2.1 (pinned): ``begin()`` returns its private
    ``_AsyncSessionContextManager``, subclassed here to take the lock around it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._write_lock = asyncio.Lock()

    def begin(self) -> _AsyncSessionContextManager[AsyncSession]:
        return _TakingTurns(self(), self._write_lock)


class _TakingTurns(_AsyncSessionContextManager[AsyncSession]):
    __slots__ = ("lock",)

    def __init__(self, session: AsyncSession, lock: asyncio.Lock) -> None:
        super().__init__(session)
        self.lock = lock

    async def __aenter__(self) -> AsyncSession:
        await self.lock.acquire()
        try:
            return await super().__aenter__()
        except BaseException:
            self.lock.release()
            raise

    async def __aexit__(self, type_: Any, value: Any, traceback: Any) -> None:
        try:
            await super().__aexit__(type_, value, traceback)
        finally:
            self.lock.release()
