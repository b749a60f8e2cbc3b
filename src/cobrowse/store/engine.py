"""Creating the async engine from a configured database URL.

Any SQLAlchemy URL with an async driver works. Plain ``sqlite://`` and ``postgresql://`` URLs are given the
usual async driver (aiosqlite, asyncpg) so that a configuration written for a synchronous tool still works.
SQLite gets what a small server needs: its directory is created, write-ahead logging lets readers and the
writer proceed together, and foreign keys are enforced (SQLite ignores them unless asked, per connection).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, InvalidRequestError, NoSuchModuleError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

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
