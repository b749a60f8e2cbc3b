"""SQLite: the server's own write transactions take turns instead of racing for SQLite's lock.

A burst of session starts is a burst of write transactions. Each used to wait for SQLite's lock in its busy
handler and, on a loaded server, to give up ("database is locked"). Here SQLite's busy timeout is set to 0,
so that any two of the store's write transactions that overlapped in SQLite would fail at once: they must
all succeed.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from cobrowse.store import Store, VisitorFields

BURST = 200


def _no_busy_wait(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA busy_timeout=0")
    finally:
        cursor.close()


@pytest.fixture
async def impatient_store(tmp_path: Path) -> AsyncIterator[Store]:
    """A migrated SQLite store with one group and one agent, whose connections never wait for a lock."""
    store = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'burst.db'}")
    try:
        await store.upgrade()
        await store.create_group("Burst", 1)
        await store.create_agent("ann", "correct horse", name="Ann", groups=[1])
        await store.engine.dispose()  # the pool's next connections get the listener below
        event.listen(store.engine.sync_engine, "connect", _no_busy_wait)
        yield store
    finally:
        await store.close()


async def test_a_burst_of_session_starts_on_sqlite_all_succeed(impatient_store: Store) -> None:
    store = impatient_store
    agent = await store.get_agent_by_username("ann")
    assert agent is not None

    async def start(n: int) -> int:
        """What the server writes when a visitor starts a session and an agent joins it."""
        assert await store.get_group(1) is not None
        now = datetime.now(UTC)
        record = await store.create_session(1, f"key-{n}", False, VisitorFields(name=f"V{n}"), now)
        assert await store.save_continuity(record.id, {"epoch": 1, "n": n})
        await store.record_agent_join(record.id, agent.id, now)
        return record.id

    outcomes = await asyncio.gather(*(start(n) for n in range(BURST)), return_exceptions=True)

    failures = [repr(o) for o in outcomes if isinstance(o, BaseException)]
    assert failures == []
    ids = [o for o in outcomes if isinstance(o, int)]
    assert len(set(ids)) == BURST
    assert len(await store.open_sessions()) == BURST


async def test_a_failed_write_transaction_lets_the_next_one_run(impatient_store: Store) -> None:
    """The turn is handed on when a transaction fails (here: a group that does not exist), not only on commit."""
    store = impatient_store
    now = datetime.now(UTC)
    with pytest.raises(ValueError, match="no group"):
        await store.create_session(99, "nope", False, VisitorFields(), now)
    record = await asyncio.wait_for(store.create_session(1, "next", False, VisitorFields(), now), 10)
    assert record.key == "next"
