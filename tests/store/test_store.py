"""Store: opening, groups, agents, login and the demo seed (sessions are in test_store_sessions.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select, update

from cobrowse import passwords
from cobrowse.store import Agent, Store
from cobrowse.store.models import AgentRow

# --- opening ---


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("", "empty"),
        ("not a url", "invalid database URL"),
        ("nosuchdialect://x/y", "unknown dialect"),
        ("sqlite+pysqlite:///x.db", "async driver"),
    ],
)
async def test_open_refuses_an_unusable_url_clearly(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        await Store.open(url)


async def test_store_is_an_async_context_manager(tmp_path: Path) -> None:
    async with await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}") as store:
        await store.upgrade()
        assert await store.list_groups() == []


# --- groups ---


async def test_create_and_get_group(store: Store) -> None:
    group = await store.create_group("Support", 42)
    assert (group.id, group.name, group.settings) == (42, "Support", {})
    assert group.created_at is not None and group.created_at.utcoffset() is not None
    assert await store.get_group(42) == group
    assert await store.get_group(43) is None


async def test_group_ids_default_to_the_next_free_one(store: Store) -> None:
    assert (await store.create_group("First")).id == 1
    await store.create_group("Explicit", 10)
    assert (await store.create_group("After")).id == 11
    assert [(g.id, g.name) for g in await store.list_groups()] == [
        (1, "First"),
        (10, "Explicit"),
        (11, "After"),
    ]


async def test_duplicate_group_id_is_refused(store: Store) -> None:
    await store.create_group("One", 5)
    with pytest.raises(ValueError, match="group 5 already exists"):
        await store.create_group("Other", 5)
    assert [g.name for g in await store.list_groups()] == ["One"]


@pytest.mark.parametrize("name", ["", "   "])
async def test_empty_group_name_is_refused(store: Store, name: str) -> None:
    with pytest.raises(ValueError, match="group name is empty"):
        await store.create_group(name)


async def test_overlong_group_name_is_refused(store: Store) -> None:
    with pytest.raises(ValueError, match="at most 127"):
        await store.create_group("x" * 128)


@pytest.mark.parametrize("group_id", [0, -3, 2**31])
async def test_out_of_range_group_id_is_refused(store: Store, group_id: int) -> None:
    with pytest.raises(ValueError, match="invalid group id"):
        await store.create_group("G", group_id)


async def test_group_settings_are_kept_as_json(store: Store) -> None:
    await store.create_group("G", 3)
    settings = {"masking": {"selectors": ["#card", ".secret"]}, "enabled": True}
    assert (await store.set_group_settings(3, settings)).settings == settings
    fetched = await store.get_group(3)
    assert fetched is not None and fetched.settings == settings
    with pytest.raises(ValueError, match="no group with id 4"):
        await store.set_group_settings(4, {})


# --- agents ---


async def _agent(store: Store, username: str = "alice", **kwargs: Any) -> Agent:
    fields: dict[str, Any] = {"name": "Alice A", "groups": [1]} | kwargs
    return await store.create_agent(username, "correct horse", **fields)


async def test_create_agent_with_every_field(store: Store) -> None:
    await store.create_group("One", 1)
    await store.create_group("Two", 2)
    agent = await store.create_agent(
        "alice@example.com",
        "correct horse",
        name="Alice A",
        groups=[2, 1, 2],
        title="Support lead",
        agentrole="supervisor",
        partnerid="p-1",
        partneruserid="pu-1",
        is_admin=True,
    )
    assert agent.username == "alice@example.com"
    assert (agent.name, agent.title, agent.agentrole) == ("Alice A", "Support lead", "supervisor")
    assert (agent.partnerid, agent.partneruserid, agent.is_admin) == ("p-1", "pu-1", True)
    assert agent.group_ids == (1, 2)
    assert await store.get_agent(agent.id) == agent
    assert await store.get_agent_by_username("alice@example.com") == agent
    assert await store.list_agents() == [agent]


async def test_agent_defaults(store: Store) -> None:
    await store.create_group("One", 1)
    agent = await _agent(store)
    assert (agent.title, agent.agentrole, agent.partnerid, agent.partneruserid) == ("", None, None, None)
    assert agent.is_admin is False


async def test_missing_agents_are_none(store: Store) -> None:
    assert await store.get_agent(99) is None
    assert await store.get_agent_by_username("nobody") is None


async def test_password_is_stored_as_an_argon2id_hash(store: Store) -> None:
    await store.create_group("One", 1)
    agent = await _agent(store)
    async with store.engine.connect() as connection:
        stored = (
            await connection.execute(select(AgentRow.password_hash).where(AgentRow.id == agent.id))
        ).scalar()
    assert stored is not None and stored.startswith("$argon2id$")
    assert "correct horse" not in stored


async def test_duplicate_username_is_refused(store: Store) -> None:
    await store.create_group("One", 1)
    await _agent(store)
    with pytest.raises(ValueError, match="username 'alice' already exists"):
        await _agent(store, name="Another")
    assert len(await store.list_agents()) == 1


async def test_unknown_group_is_refused(store: Store) -> None:
    await store.create_group("One", 1)
    with pytest.raises(ValueError, match="unknown group 7, 9"):
        await _agent(store, groups=[1, 9, 7])
    assert await store.list_agents() == []


@pytest.mark.parametrize(
    ("password", "message"),
    [("", "empty"), ("short", "too short"), ("1234567", "too short"), ("x" * 1025, "too long")],
)
async def test_bad_passwords_are_refused(store: Store, password: str, message: str) -> None:
    await store.create_group("One", 1)
    with pytest.raises(ValueError, match=message):
        await store.create_agent("alice", password, name="A", groups=[1])


@pytest.mark.parametrize("username", ["", "a b", "x" * 128, "zoë", "a/b", "a:b"])
async def test_bad_usernames_are_refused(store: Store, username: str) -> None:
    await store.create_group("One", 1)
    with pytest.raises(ValueError, match="invalid username"):
        await _agent(store, username)


@pytest.mark.parametrize("username", ["a", "A.b_c-d@e.example", "x" * 127, "007"])
async def test_good_usernames_are_accepted(store: Store, username: str) -> None:
    await store.create_group("One", 1)
    assert (await _agent(store, username)).username == username


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"name": ""}, "agent name is empty"),
        ({"title": "t" * 128}, "agent title is 128 characters"),
        ({"agentrole": "r" * 64}, "agentrole is 64 characters"),
        ({"partnerid": "p" * 128}, "partnerid is 128 characters"),
    ],
)
async def test_bad_agent_fields_are_refused(store: Store, fields: dict[str, Any], message: str) -> None:
    await store.create_group("One", 1)
    with pytest.raises(ValueError, match=message):
        await _agent(store, **fields)


# --- login ---


async def test_authenticate_with_the_right_password(store: Store) -> None:
    await store.create_group("One", 1)
    agent = await _agent(store)
    assert await store.authenticate("alice", "correct horse") == agent


@pytest.mark.parametrize(
    ("username", "password"),
    [
        ("alice", "wrong horse"),
        ("alice", ""),
        ("Alice", "correct horse"),
        ("bob", "correct horse"),
        ("not a username", "correct horse"),
        ("alice", "x" * 5000),
    ],
)
async def test_authenticate_refuses_wrong_credentials(store: Store, username: str, password: str) -> None:
    await store.create_group("One", 1)
    await _agent(store)
    assert await store.authenticate(username, password) is None


async def test_login_rehashes_a_password_hashed_with_old_parameters(store: Store) -> None:
    await store.create_group("One", 1)
    agent = await _agent(store)
    old_hash = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash("correct horse")
    assert passwords.needs_rehash(old_hash)
    async with store.engine.begin() as connection:
        await connection.execute(
            update(AgentRow).where(AgentRow.id == agent.id).values(password_hash=old_hash)
        )

    assert await store.authenticate("alice", "correct horse") == agent
    async with store.engine.connect() as connection:
        new_hash = (await connection.execute(select(AgentRow.password_hash))).scalar_one()
    assert new_hash != old_hash and not passwords.needs_rehash(new_hash)
    assert await store.authenticate("alice", "correct horse") == agent


async def test_set_password(store: Store) -> None:
    await store.create_group("One", 1)
    agent = await _agent(store)
    await store.set_password(agent.id, "battery staple")
    assert await store.authenticate("alice", "correct horse") is None
    assert await store.authenticate("alice", "battery staple") == agent


async def test_set_password_errors(store: Store) -> None:
    await store.create_group("One", 1)
    agent = await _agent(store)
    with pytest.raises(ValueError, match="too short"):
        await store.set_password(agent.id, "short")
    with pytest.raises(ValueError, match="no agent with id 99"):
        await store.set_password(99, "long enough")
    assert await store.authenticate("alice", "correct horse") == agent


# --- demo ---


async def test_seed_demo_creates_the_demo_group_and_agent_once(store: Store) -> None:
    group, agent = await store.seed_demo()
    assert (group.id, group.name) == (1, "Demo")
    assert (agent.username, agent.name, agent.title, agent.group_ids) == (
        "demo",
        "Demo Agent",
        "Support",
        (1,),
    )
    assert await store.authenticate("demo", "demo-password") == agent

    again = await store.seed_demo()
    assert again == (group, agent)
    assert len(await store.list_groups()) == 1 and len(await store.list_agents()) == 1
