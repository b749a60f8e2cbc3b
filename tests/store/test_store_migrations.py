"""Schema migrations: from an empty database to head, idempotent, matching the ORM models, reversible."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, inspect, text

from cobrowse.store import Store
from cobrowse.store.migrate import alembic_config, head_revision
from cobrowse.store.models import Base

TABLES = {
    "groups",
    "agents",
    "agent_groups",
    "sessions",
    "participants",
    "api_tokens",
    "used_login_keys",
    "audit_log",
}


async def _tables(store: Store) -> set[str]:
    async with store.engine.connect() as connection:
        names = await connection.run_sync(lambda c: inspect(c).get_table_names())
    return set(names) - {"alembic_version"}


async def test_empty_database_has_no_revision(empty_store: Store) -> None:
    assert await empty_store.current_revision() is None
    assert await _tables(empty_store) == set()


async def test_upgrade_from_empty_database_creates_the_schema(empty_store: Store) -> None:
    await empty_store.upgrade()
    assert head_revision() == "0003"
    assert await empty_store.current_revision() == head_revision()
    assert await _tables(empty_store) == TABLES


async def test_upgrade_twice_changes_nothing(store: Store) -> None:
    group = await store.create_group("Kept", 7)
    await store.upgrade()
    assert await store.current_revision() == head_revision()
    assert await store.get_group(7) == group


async def test_migrations_produce_exactly_the_models_schema(store: Store) -> None:
    def diff(connection: Connection) -> list[object]:
        return list(compare_metadata(MigrationContext.configure(connection), Base.metadata))

    async with store.engine.connect() as connection:
        assert await connection.run_sync(diff) == []


async def test_downgrade_to_empty_and_up_again(store: Store) -> None:
    def downgrade(connection: Connection) -> None:
        command.downgrade(alembic_config(connection=connection), "base")

    async with store.engine.begin() as connection:
        await connection.run_sync(downgrade)
    assert await _tables(store) == set()
    assert await store.current_revision() is None
    await store.upgrade()
    assert await _tables(store) == TABLES


COLUMNS = {
    "groups": {
        "id",
        "name",
        "settings",
        "created_at",
        "allowed_origins",
        "allow_mixed_roles",
        "max_live_sessions",
        "trusted_domains",
        "sso_secret",
    },
    "agents": {
        "id",
        "username",
        "password_hash",
        "name",
        "title",
        "agentrole",
        "partnerid",
        "partneruserid",
        "is_admin",
        "created_at",
        "permissions",
    },
    "agent_groups": {"agent_id", "group_id"},
    "sessions": {
        "id",
        "group_id",
        "key",
        "random_key",
        "visitor_name",
        "visitor_email",
        "visitor_phone",
        "visitorid",
        "started_at",
        "ended_at",
        "end_reason",
        # epoch/sequence numbers, the page's URL and title, the site's user state, remote control on/off:
        # what a restarted server needs to continue the session (store/continuity.py), no page content
        "continuity",
    },
    "participants": {
        "id",
        "session_id",
        "role",
        "agent_id",
        "name",
        "email",
        "phone",
        "joined_at",
        "left_at",
    },
    # credentials: only a token's hash and prefix; a used login key's digest until it expires
    "api_tokens": {
        "id",
        "agent_id",
        "name",
        "prefix",
        "token_hash",
        "created_at",
        "last_used_at",
        "revoked_at",
    },
    "used_login_keys": {"digest", "expires_at"},
    # who did what and when; details hold reasons and settings, never page content
    "audit_log": {"id", "at", "agent_id", "actor", "action", "group_id", "session_id", "details"},
}


async def test_schema_holds_who_and_when_and_no_page_content(store: Store) -> None:
    """Exactly these columns: a column that could hold page content would have to be added here knowingly."""

    def columns(connection: Connection) -> dict[str, set[str]]:
        inspector = inspect(connection)
        return {t: {c["name"] for c in inspector.get_columns(t)} for t in TABLES}

    async with store.engine.connect() as connection:
        assert await connection.run_sync(columns) == COLUMNS


async def test_sqlite_file_gets_its_directory_wal_and_foreign_keys(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "dir" / "cobrowse.db"
    store = await Store.open(f"sqlite:///{path}")  # a plain sqlite URL gets the async driver
    try:
        assert path.parent.is_dir()
        async with store.engine.connect() as connection:
            assert (await connection.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
            assert (await connection.execute(text("PRAGMA foreign_keys"))).scalar() == 1
    finally:
        await store.close()


async def test_alembic_can_run_from_a_url_outside_an_event_loop(tmp_path: Path) -> None:
    """``env.py`` without a shared connection (Alembic by hand) opens the URL itself."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'by-hand.db'}"
    await asyncio.to_thread(command.upgrade, alembic_config(url), "head")
    store = await Store.open(url)
    try:
        assert await store.current_revision() == "0003"
    finally:
        await store.close()


async def test_upgrade_from_0001_keeps_agents_working_with_default_permissions(empty_store: Store) -> None:
    """A database of the first release: its agents get every permission but admin, its groups the defaults."""

    def to_0001(connection: Connection) -> None:
        command.upgrade(alembic_config(connection=connection), "0001")

    async with empty_store.engine.begin() as connection:
        await connection.run_sync(to_0001)
        await connection.execute(
            text("INSERT INTO groups (id, name, settings, created_at) VALUES (1, 'G', '{}', '2026-01-01')")
        )
        await connection.execute(
            text(
                "INSERT INTO agents (id, username, password_hash, name, title, is_admin, created_at) "
                "VALUES (1, 'old', 'x', 'Old', '', TRUE, '2026-01-01')"
            )
        )
        await connection.execute(text("INSERT INTO agent_groups (agent_id, group_id) VALUES (1, 1)"))
    await empty_store.upgrade()
    agent = await empty_store.get_agent(1)
    assert agent is not None
    assert agent.permissions == ("view", "remote_control", "video", "documents", "invite_guests", "admin")
    group = await empty_store.get_group(1)
    assert group is not None
    assert (group.allowed_origins, group.allow_mixed_roles, group.max_live_sessions, group.sso_enabled) == (
        (),
        False,
        None,
        False,
    )
