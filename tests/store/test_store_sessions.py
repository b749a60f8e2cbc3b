"""Store: sessions (call ids, visitor fields, ending) and participants (visitor row, agents' join and leave)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone

import pytest

from cobrowse.store import Agent, Participant, SessionRecord, Store, VisitorFields

VISITOR = VisitorFields(
    name="Jane Smith", email="jsmith@example.com", phone="314-555-1212", visitorid="59204gh-42"
)


@pytest.fixture
async def agent(store: Store) -> Agent:
    await store.create_group("One", 1)
    await store.create_group("Two", 2)
    return await store.create_agent("alice", "correct horse", name="Alice A", groups=[1, 2])


async def _session(store: Store, t: datetime, key: str = "1234", group_id: int = 1) -> SessionRecord:
    return await store.create_session(group_id, key, True, VisitorFields(name="V"), t)


# --- creating ---


async def test_create_session_records_key_group_and_visitor(store: Store, agent: Agent, t0: datetime) -> None:
    record = await store.create_session(1, "59204gh-42", False, VISITOR, t0)
    assert (record.group_id, record.key, record.random_key) == (1, "59204gh-42", False)
    assert record.visitor == VISITOR
    assert (record.started_at, record.ended_at, record.end_reason) == (t0, None, None)
    assert await store.get_session(record.id) == record


async def test_create_session_adds_the_visitor_participant(store: Store, agent: Agent, t0: datetime) -> None:
    record = await store.create_session(1, "abc", False, VISITOR, t0)
    [visitor] = await store.list_participants(record.id)
    assert visitor == Participant(
        id=visitor.id,
        session_id=record.id,
        role="visitor",
        agent_id=None,
        name="Jane Smith",
        email="jsmith@example.com",
        phone="314-555-1212",
        joined_at=t0,
        left_at=None,
    )


async def test_call_ids_are_distinct_and_increasing(store: Store, agent: Agent, t0: datetime) -> None:
    ids = [(await _session(store, t0, key=f"k{i}")).id for i in range(3)]
    assert ids == sorted(set(ids)) and len(ids) == 3
    await store.end_session(ids[-1], "visitor", t0)
    assert (await _session(store, t0, key="k3")).id > ids[-1]


async def test_datetimes_come_back_as_utc(store: Store, agent: Agent, t0: datetime) -> None:
    local = t0.astimezone(timezone(timedelta(hours=-5)))
    record = await store.create_session(1, "tz", False, VisitorFields(), local)
    fetched = await store.get_session(record.id)
    assert fetched is not None
    assert fetched.started_at == t0 and fetched.started_at.tzinfo == UTC


async def test_naive_datetimes_are_refused(store: Store, agent: Agent, t0: datetime) -> None:
    naive = t0.replace(tzinfo=None)
    with pytest.raises(ValueError, match="timezone-aware"):
        await store.create_session(1, "k", False, VisitorFields(), naive)
    record = await _session(store, t0)
    with pytest.raises(ValueError, match="timezone-aware"):
        await store.end_session(record.id, "visitor", naive)
    with pytest.raises(ValueError, match="timezone-aware"):
        await store.record_agent_join(record.id, agent.id, naive)


async def test_unknown_group_is_refused(store: Store, agent: Agent, t0: datetime) -> None:
    with pytest.raises(ValueError, match="no group with id 3"):
        await _session(store, t0, group_id=3)


@pytest.mark.parametrize("key", ["", "a b", "k" * 101, "ключ", "a.b", "GLANCE_KEY<script>"])
async def test_invalid_keys_are_refused(store: Store, agent: Agent, t0: datetime, key: str) -> None:
    with pytest.raises(ValueError, match="invalid session key"):
        await _session(store, t0, key=key)
    assert await store.list_sessions([1], live_only=False) == []


async def test_longest_key_is_accepted(store: Store, agent: Agent, t0: datetime) -> None:
    assert (await _session(store, t0, key="A_z-9~" * 16 + "abcd")).key == "A_z-9~" * 16 + "abcd"


@pytest.mark.parametrize(
    ("visitor", "message"),
    [
        (VisitorFields(name="n" * 64), "name is 64 characters"),
        (VisitorFields(email="e" * 128), "email is 128 characters"),
        (VisitorFields(email="jané@例え.jp"), "email must be Latin-1"),
        (VisitorFields(phone="5" * 32), "phone is 32 characters"),
        (VisitorFields(visitorid="no spaces"), "invalid visitorid"),
    ],
)
async def test_visitor_fields_beyond_the_spec_limits_are_refused(
    store: Store, agent: Agent, t0: datetime, visitor: VisitorFields, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        await store.create_session(1, "k", False, visitor, t0)


async def test_visitor_fields_at_the_spec_limits_are_kept(store: Store, agent: Agent, t0: datetime) -> None:
    visitor = VisitorFields(name="ñ" * 63, email="é" * 127, phone="5" * 31, visitorid="v" * 100)
    record = await store.create_session(1, "k", False, visitor, t0)
    assert (await store.get_session(record.id)).visitor == visitor


# --- ending ---


async def test_end_session_sets_end_time_and_reason(store: Store, agent: Agent, t0: datetime) -> None:
    record = await _session(store, t0)
    t1 = t0 + timedelta(minutes=3)
    assert await store.end_session(record.id, "visitor", t1) is True
    ended = await store.get_session(record.id)
    assert ended is not None and (ended.ended_at, ended.end_reason) == (t1, "visitor")


async def test_end_session_is_idempotent_and_the_first_end_wins(
    store: Store, agent: Agent, t0: datetime
) -> None:
    record = await _session(store, t0)
    t1, t2 = t0 + timedelta(seconds=10), t0 + timedelta(seconds=20)
    assert await store.end_session(record.id, "agent", t1) is True
    assert await store.end_session(record.id, "visitor", t2) is False
    ended = await store.get_session(record.id)
    assert ended is not None and (ended.ended_at, ended.end_reason) == (t1, "agent")
    assert all(p.left_at == t1 for p in await store.list_participants(record.id))


async def test_end_session_closes_open_participants_only(store: Store, agent: Agent, t0: datetime) -> None:
    record = await _session(store, t0)
    early = await store.record_agent_join(record.id, agent.id, t0 + timedelta(seconds=1))
    await store.record_agent_leave(early.id, t0 + timedelta(seconds=2))
    await store.record_agent_join(record.id, agent.id, t0 + timedelta(seconds=3))
    t_end = t0 + timedelta(seconds=9)
    await store.end_session(record.id, "agent", t_end)
    left = [p.left_at for p in await store.list_participants(record.id)]
    assert left == [t_end, t0 + timedelta(seconds=2), t_end]


async def test_end_session_errors(store: Store, agent: Agent, t0: datetime) -> None:
    with pytest.raises(ValueError, match="no session with id 77"):
        await store.end_session(77, "agent", t0)
    record = await _session(store, t0)
    with pytest.raises(ValueError, match="end reason is empty"):
        await store.end_session(record.id, "", t0)
    assert (await store.get_session(record.id)).ended_at is None


async def test_end_all_live_sessions(store: Store, agent: Agent, t0: datetime) -> None:
    done = await _session(store, t0, key="done")
    await store.end_session(done.id, "visitor", t0 + timedelta(seconds=1))
    live = [await _session(store, t0, key="a"), await _session(store, t0, key="b", group_id=2)]
    await store.record_agent_join(live[0].id, agent.id, t0)
    t_restart = t0 + timedelta(hours=1)

    assert await store.end_all_live_sessions("restart", t_restart) == 2
    for record in live:
        ended = await store.get_session(record.id)
        assert ended is not None and (ended.ended_at, ended.end_reason) == (t_restart, "restart")
        assert all(p.left_at == t_restart for p in await store.list_participants(record.id))
    kept = await store.get_session(done.id)
    assert kept is not None and (kept.ended_at, kept.end_reason) == (t0 + timedelta(seconds=1), "visitor")
    assert await store.end_all_live_sessions("restart", t_restart) == 0


# --- listing ---


async def test_list_sessions_filters_by_group_and_liveness(store: Store, agent: Agent, t0: datetime) -> None:
    a = await _session(store, t0, key="a")
    b = await _session(store, t0, key="b")
    c = await _session(store, t0, key="c", group_id=2)
    await store.end_session(a.id, "visitor", t0)
    ids = [s.id for s in await store.list_sessions([1])]
    assert ids == [b.id]
    assert [s.id for s in await store.list_sessions([1], live_only=False)] == [b.id, a.id]
    assert [s.id for s in await store.list_sessions([1, 2])] == [c.id, b.id]
    assert [s.id for s in await store.list_sessions([1, 2], live_only=False, limit=2)] == [c.id, b.id]
    assert await store.list_sessions([]) == []
    assert await store.list_sessions([9]) == []


@pytest.mark.parametrize("limit", [0, -1, 1001])
async def test_list_sessions_refuses_a_bad_limit(store: Store, limit: int) -> None:
    with pytest.raises(ValueError, match="limit"):
        await store.list_sessions([1], limit=limit)


async def test_find_live_session_by_key(store: Store, agent: Agent, t0: datetime) -> None:
    old = await _session(store, t0, key="1234")
    await store.end_session(old.id, "visitor", t0)
    assert await store.find_live_session(1, "1234") is None
    new = await _session(store, t0, key="1234")
    assert await store.find_live_session(1, "1234") == new
    assert await store.find_live_session(2, "1234") is None


# --- agents joining and leaving ---


async def test_record_agent_join_and_leave(store: Store, agent: Agent, t0: datetime) -> None:
    record = await _session(store, t0)
    t1, t2 = t0 + timedelta(seconds=5), t0 + timedelta(seconds=50)
    joined = await store.record_agent_join(record.id, agent.id, t1)
    assert (joined.session_id, joined.role, joined.agent_id, joined.name) == (
        record.id,
        "agent",
        agent.id,
        "Alice A",
    )
    assert (joined.joined_at, joined.left_at) == (t1, None)
    assert await store.record_agent_leave(joined.id, t2) is True
    assert await store.record_agent_leave(joined.id, t2 + timedelta(seconds=1)) is False
    participants = await store.list_participants(record.id)
    assert [(p.role, p.left_at) for p in participants] == [("visitor", None), ("agent", t2)]


async def test_several_agents_are_recorded_in_order(store: Store, agent: Agent, t0: datetime) -> None:
    other = await store.create_agent("bob", "correct horse", name="Bob B", groups=[1])
    record = await _session(store, t0)
    await store.record_agent_join(record.id, agent.id, t0)
    await store.record_agent_join(record.id, other.id, t0)
    assert [p.name for p in await store.list_participants(record.id)] == ["V", "Alice A", "Bob B"]
    assert await store.list_participants(record.id + 100) == []


async def test_record_agent_join_errors(store: Store, agent: Agent, t0: datetime) -> None:
    record = await _session(store, t0)
    with pytest.raises(ValueError, match="no session with id 99"):
        await store.record_agent_join(99, agent.id, t0)
    with pytest.raises(ValueError, match="no agent with id 99"):
        await store.record_agent_join(record.id, 99, t0)
    await store.end_session(record.id, "visitor", t0)
    with pytest.raises(ValueError, match=f"session {record.id} has ended"):
        await store.record_agent_join(record.id, agent.id, t0)
    with pytest.raises(ValueError, match="no participant with id 99"):
        await store.record_agent_leave(99, t0)


async def test_concurrent_sessions_and_racing_ends(store: Store, agent: Agent, t0: datetime) -> None:
    """Many sessions at once; each has a visitor's Stop and an agent's End racing: exactly one wins."""

    async def one(i: int) -> list[bool]:
        record = await _session(store, t0, key=f"k{i}")
        await store.record_agent_join(record.id, agent.id, t0)
        return list(
            await asyncio.gather(
                store.end_session(record.id, "visitor", t0 + timedelta(seconds=1)),
                store.end_session(record.id, "agent", t0 + timedelta(seconds=2)),
            )
        )

    outcomes = await asyncio.gather(*(one(i) for i in range(40)))
    assert all(sorted(o) == [False, True] for o in outcomes)
    records = await store.list_sessions([1], live_only=False, limit=100)
    assert len(records) == 40 and len({r.id for r in records}) == 40
    assert await store.list_sessions([1]) == []


HUGE = 10**20  # beyond any integer column; lookups with untrusted ids must find nothing, not fail


@pytest.mark.parametrize("bad_id", [0, -1, 2**31, HUGE])
async def test_lookups_with_impossible_ids_find_nothing(
    store: Store, agent: Agent, t0: datetime, bad_id: int
) -> None:
    record = await _session(store, t0)
    assert await store.get_group(bad_id) is None
    assert await store.get_agent(bad_id) is None
    assert await store.get_session(bad_id) is None
    assert await store.find_live_session(bad_id, "1234") is None
    assert await store.list_participants(bad_id) == []
    assert await store.list_sessions([bad_id]) == []
    for call, message in [
        (store.create_session(bad_id, "k", False, VisitorFields(), t0), "no group"),
        (store.end_session(bad_id, "agent", t0), "no session"),
        (store.record_agent_join(bad_id, agent.id, t0), "no session"),
        (store.record_agent_join(record.id, bad_id, t0), "no agent"),
        (store.record_agent_leave(bad_id, t0), "no participant"),
        (store.set_password(bad_id, "long enough"), "no agent"),
        (store.set_group_settings(bad_id, {}), "no group"),
    ]:
        with pytest.raises(ValueError, match=message):
            await call
