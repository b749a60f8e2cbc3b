"""Store: permissions, group options, API tokens, used login keys, the audit log and session history."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import text

from cobrowse.store import Store, VisitorFields


async def test_permissions_default_set_and_admin_is_is_admin(store: Store) -> None:
    await store.create_group("G", 1)
    agent = await store.create_agent("a", "password-1", name="A", groups=[1])
    assert agent.permissions == ("view", "remote_control", "video", "documents", "invite_guests")
    assert not agent.is_admin
    changed = await store.set_permissions(agent.id, ["admin", "view"])
    assert changed.permissions == ("view", "admin") and changed.is_admin
    assert (await store.get_agent(agent.id)) == changed
    with pytest.raises(ValueError, match="unknown permission"):
        await store.set_permissions(agent.id, ["root"])
    entries = await store.audit_entries(action="agent.permissions")
    assert entries[0].actor == "cli" and entries[0].details["after"] == ["view", "admin"]


async def test_group_options_are_validated(store: Store) -> None:
    await store.create_group("G", 1)
    group = await store.set_group_options(
        1,
        allowed_origins=["https://A.example/", "https://a.example"],
        allow_mixed_roles=True,
        max_live_sessions=2,
    )
    assert group.allowed_origins == ("https://a.example",) and group.allow_mixed_roles
    assert group.max_live_sessions == 2
    assert (await store.set_group_options(1, max_live_sessions=0)).max_live_sessions is None
    with pytest.raises(ValueError, match="invalid origin"):
        await store.set_group_options(1, allowed_origins=["a.example"])
    with pytest.raises(ValueError, match="no group with id 5"):
        await store.set_group_options(5, name="x")
    assert not group.sso_enabled
    secret = await store.rotate_sso_secret(1)
    assert await store.sso_secret(1) == secret and (await store.get_group(1)).sso_enabled  # type: ignore[union-attr]


async def test_tokens_are_stored_hashed_and_revocable(store: Store) -> None:
    await store.create_group("G", 1)
    agent = await store.create_agent("a", "password-1", name="A", groups=[1])
    record, token = await store.create_token(agent.id, "ci")
    assert (await store.agent_for_token(token)) == agent
    assert (await store.list_tokens(agent.id))[0].last_used_at is not None
    async with store.engine.connect() as connection:
        stored = (await connection.execute(text("SELECT token_hash, prefix FROM api_tokens"))).all()
    assert token not in str(stored) and stored[0][1] == token[:12]
    await store.revoke_token(record.id)
    assert await store.agent_for_token(token) is None
    assert await store.agent_for_token("cbt_" + "x" * 43) is None
    assert await store.agent_for_token("not a token") is None


async def test_a_login_key_is_used_once_until_it_expires(store: Store, t0: datetime) -> None:
    later = datetime.now(t0.tzinfo) + timedelta(minutes=5)
    assert await store.use_login_key("d" * 64, later)
    assert not await store.use_login_key("d" * 64, later)
    assert await store.use_login_key("e" * 64, later)


async def test_session_history_filters_and_audit(store: Store, t0: datetime) -> None:
    await store.create_group("G", 1)
    agent = await store.create_agent("a", "password-1", name="A", groups=[1])
    first = await store.create_session(1, "k1", False, VisitorFields(), t0)
    second = await store.create_session(1, "k2", False, VisitorFields(), t0 + timedelta(hours=1))
    participant = await store.record_agent_join(second.id, agent.id, t0 + timedelta(hours=1, minutes=1))
    await store.record_agent_leave(participant.id, t0 + timedelta(hours=1, minutes=2))
    await store.end_session(first.id, "visitor", t0 + timedelta(minutes=3))
    assert [s.id for s in await store.search_sessions([1])] == [second.id, first.id]
    assert [s.id for s in await store.search_sessions([1], key="k1")] == [first.id]
    assert [s.id for s in await store.search_sessions([1], agent_id=agent.id)] == [second.id]
    assert [s.id for s in await store.search_sessions([1], since=t0 + timedelta(minutes=30))] == [second.id]
    assert [s.id for s in await store.search_sessions([1], until=t0 + timedelta(minutes=30))] == [first.id]
    assert [s.id for s in await store.search_sessions([1], live_only=True)] == [second.id]
    assert await store.search_sessions([2]) == []
    actions = [(e.action, e.actor) for e in reversed(await store.audit_entries(session_id=second.id))]
    assert actions == [("session.start", "visitor"), ("session.join", "a"), ("session.leave", "a")]
    assert [
        e.action
        for e in await store.audit_entries(
            group_ids=[1], since=t0 + timedelta(minutes=2), until=t0 + timedelta(minutes=4)
        )
    ] == ["session.end"]
    assert await store.audit_entries(group_ids=[2]) == []
