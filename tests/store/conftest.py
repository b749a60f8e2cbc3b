"""Store fixtures: every store test runs against the database named by ``database_url``.

By default that is a fresh SQLite file in the test's temporary directory. With ``COBROWSE_TEST_DATABASE_URL``
set (for example ``postgresql+asyncpg://cobrowse:cobrowse@localhost/cobrowse_test``) the same tests run
against that database instead; it is emptied (all tables dropped) before each test, so point it at a
database that holds nothing else. A test may also parametrise ``database_url`` indirectly.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Connection, MetaData

from cobrowse.store import Store

EXTERNAL_URL_ENV = "COBROWSE_TEST_DATABASE_URL"


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    param = getattr(request, "param", None)
    if param:
        return str(param)
    return os.environ.get(EXTERNAL_URL_ENV) or f"sqlite+aiosqlite:///{tmp_path / 'store.db'}"


async def drop_everything(store: Store) -> None:
    """Drop every table (ours and Alembic's) so an external test database starts empty."""

    def drop(connection: Connection) -> None:
        metadata = MetaData()
        metadata.reflect(bind=connection)
        metadata.drop_all(bind=connection)

    async with store.engine.begin() as connection:
        await connection.run_sync(drop)


@pytest.fixture
async def empty_store(database_url: str) -> AsyncIterator[Store]:
    """A store on an empty database (no schema yet)."""
    store = await Store.open(database_url)
    try:
        if not database_url.startswith("sqlite"):
            await drop_everything(store)
        yield store
    finally:
        await store.close()


@pytest.fixture
async def store(empty_store: Store) -> Store:
    """A store whose schema is at the newest revision."""
    await empty_store.upgrade()
    return empty_store


@pytest.fixture
def t0() -> datetime:
    """A fixed, timezone-aware instant (whole microseconds, as every backend keeps them)."""
    return datetime(2026, 1, 2, 3, 4, 5, 678900, tzinfo=UTC)
