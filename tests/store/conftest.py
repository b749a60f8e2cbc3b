"""Store fixtures: every store test runs twice, against SQLite and against PostgreSQL, with the same assertions.

``database_url`` is a fresh SQLite file in the test's temporary directory, or a database on this worker's
private PostgreSQL server (tests/support/services.py; or the server named by ``COBROWSE_TEST_POSTGRES_URL``),
emptied (all tables dropped) before each test.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Connection, MetaData

from cobrowse.store import Store
from support.services import postgres


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """This worker's PostgreSQL server (started once per worker)."""
    with postgres() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgresql":
        return str(request.getfixturevalue("postgres_url"))
    return f"sqlite+aiosqlite:///{tmp_path / 'store.db'}"


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
