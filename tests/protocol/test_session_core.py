"""The session state machine, without sockets, clock or browser."""

from __future__ import annotations

import msgspec
import pytest

from cobrowse.protocol import actions as a
from cobrowse.protocol import messages as m
from cobrowse.protocol.codec import CloseCode, ProtocolError
from cobrowse.protocol.session import SessionCore, State


def core(**kw: object) -> SessionCore:
    return SessionCore(session_id=7, group_id=1, key="1234", random_key=True, visitor=m.VisitorInfo(), **kw)  # type: ignore[arg-type]


def ev(seq: int, epoch: int, snapshot: bool = False) -> m.Events:
    return m.Events(seq=seq, epoch=epoch, snapshot=snapshot)


def forwards(actions: list[a.Action]) -> list[a.Forward]:
    return [x for x in actions if isinstance(x, a.Forward)]


def entry(name: str = "Ann") -> m.AgentEntry:
    return m.AgentEntry(name=name, role="agent", num=0, username=name.lower())


def test_snapshot_activates_and_starts_epoch() -> None:
    c = core()
    c.visitor_connected("v1")
    assert c.state is State.STARTING
    out = c.visitor_events("v1", ev(1, 1, snapshot=True), b"snap")
    assert forwards(out) == [a.Forward(1, b"snap", snapshot=True, log=True)]
    assert (c.state, c.epoch, c.seq) == (State.ACTIVE, 1, 1)


def test_events_are_forwarded_as_the_same_bytes_in_order() -> None:
    c = core()
    c.visitor_connected("v1")
    c.visitor_events("v1", ev(1, 1, True), b"snap")
    frame = b'{"t":"events","data":[1,2,3]}'
    assert forwards(c.visitor_events("v1", ev(2, 1), frame))[0].frame is frame


def test_duplicate_is_dropped_and_gap_requests_snapshot_once() -> None:
    c = core()
    c.visitor_connected("v1")
    c.visitor_events("v1", ev(1, 1, True), b"s")
    c.visitor_events("v1", ev(2, 1), b"e2")
    assert c.visitor_events("v1", ev(2, 1), b"e2") == []  # duplicate
    gap = c.visitor_events("v1", ev(5, 1), b"e5")
    assert gap == [a.SendTo("v1", m.SnapshotRequest())]
    assert c.visitor_events("v1", ev(6, 1), b"e6") == []  # still a gap; asked already
    healed = c.visitor_events("v1", ev(7, 2, True), b"s2")
    assert forwards(healed)[0].snapshot and c.epoch == 2


def test_old_epoch_frames_are_dropped() -> None:
    c = core()
    c.visitor_connected("v1")
    c.visitor_events("v1", ev(1, 1, True), b"s")
    c.visitor_events("v1", ev(2, 2, True), b"s2")
    assert c.visitor_events("v1", ev(3, 1), b"old") == []


def test_snapshot_must_raise_the_epoch() -> None:
    c = core()
    c.visitor_connected("v1")
    c.visitor_events("v1", ev(1, 3, True), b"s")
    with pytest.raises(ProtocolError) as err:
        c.visitor_events("v1", ev(2, 3, True), b"s")
    assert err.value.close_code == CloseCode.MALFORMED


def test_log_bound_requests_snapshot_then_stops_logging() -> None:
    c = core(log_max_bytes=10)
    c.visitor_connected("v1")
    c.visitor_events("v1", ev(1, 1, True), b"12345")
    first = c.visitor_events("v1", ev(2, 1), b"1234567")  # 12 bytes > 10: ask for a snapshot
    assert forwards(first)[0].log and a.SendTo("v1", m.SnapshotRequest()) in first
    second = c.visitor_events("v1", ev(3, 1), b"123456789")  # past 2x: not logged any more
    assert not forwards(second)[0].log and not c.log_complete
    c.visitor_events("v1", ev(4, 2, True), b"s")
    assert c.log_complete and c.log_bytes == 1


def requests(actions: list[a.Action]) -> int:
    return sum(1 for x in actions if isinstance(x, a.SendTo) and isinstance(x.message, m.SnapshotRequest))


def test_a_snapshot_past_the_soft_bound_is_logged_and_not_asked_for_again_at_once() -> None:
    """A page whose snapshot alone is past ``log_max_bytes``: asking for another at every frame (as it was)
    only brings one as big. The log keeps it (a late joiner needs it) and the frames after it; a fresh
    snapshot is asked for once the frames since add up to the snapshot's size."""
    c = core(log_max_bytes=100)
    c.visitor_connected("v1")
    out = c.visitor_events("v1", ev(1, 1, True), b"s" * 150)  # past the soft bound, within the hard (200)
    assert forwards(out) == [a.Forward(1, b"s" * 150, snapshot=True, log=True)]
    asked = 0
    for seq in range(2, 6):  # 40 bytes of frames: less than the snapshot
        out = c.visitor_events("v1", ev(seq, 1), b"e" * 10)
        assert forwards(out)[0].log
        asked += requests(out)
    assert asked == 0 and c.log_complete and c.log_bytes == 190
    for seq in range(6, 30):  # past the hard bound: the log stops growing; one request when 150 B have come
        asked += requests(c.visitor_events("v1", ev(seq, 1), b"e" * 10))
    assert asked == 1 and not c.log_complete
    out = c.visitor_events("v1", ev(30, 2, True), b"s" * 150)  # the fresh snapshot starts the log again
    assert forwards(out)[0].log and c.log_complete and c.log_bytes == 150
    assert requests(c.visitor_events("v1", ev(31, 2), b"e" * 10)) == 0


def test_a_snapshot_past_the_hard_bound_is_forwarded_not_logged_and_joiners_ask_for_their_own() -> None:
    c = core(log_max_bytes=100)
    c.visitor_connected("v1")
    c.agent_joined("a1", 1, entry())
    out = c.visitor_events("v1", ev(1, 1, True), b"s" * 250)  # past 2 x 100: the log cannot hold it
    assert forwards(out) == [a.Forward(1, b"s" * 250, snapshot=True, log=False)]
    assert not c.log_complete and c.log_bytes == 0
    out = c.visitor_events("v1", ev(2, 1), b"e" * 10)
    assert forwards(out) == [a.Forward(2, b"e" * 10, snapshot=False, log=False)] and requests(out) == 0
    assert requests(c.agent_joined("a2", 2, entry("Bob"))) == 1  # the joiner needs a snapshot
    c.visitor_events("v1", ev(3, 2, True), b"s" * 250)  # it comes, as big: the agents see it live
    assert all(requests(c.visitor_events("v1", ev(seq, 2), b"e" * 10)) == 0 for seq in range(4, 20))


def test_the_soft_bound_asks_for_a_snapshot_once_frames_outweigh_a_small_one() -> None:
    c = core(log_max_bytes=100)
    c.visitor_connected("v1")
    c.visitor_events("v1", ev(1, 1, True), b"s" * 20)
    asked = [requests(c.visitor_events("v1", ev(seq, 1), b"e" * 10)) for seq in range(2, 12)]
    assert asked == [0] * 8 + [1, 0]  # past 100 bytes at the 9th frame (20 + 90), asked once


def test_frames_from_a_page_no_longer_shown_are_ignored() -> None:
    c = core()
    c.visitor_connected("old")
    out = c.visitor_connected("new")
    assert a.SendTo("old", m.TabState(active=False)) in out
    assert c.visitor_events("old", ev(1, 1, True), b"s") == []
    assert c.visitor_disconnected("old", now=0.0) == [
        a.Publish(m.VisitorStatus(connected=True, tabs=1), to_visitor=False)
    ]
    assert c.visitor_conn == "new" and c.visitor_deadline is None


def test_agents_join_and_leave_publish_the_list_to_everyone() -> None:
    c = core()
    c.visitor_connected("v1")
    out = c.agent_joined("a1", 10, entry("Ann"))
    published = [x for x in out if isinstance(x, a.Publish)]
    assert published[0].to_visitor
    assert published[0].message == m.Agents(count=1, agentlist=[c.seats["a1"].entry])
    c.agent_joined("a2", 11, entry("Bob"))
    assert [e.num for e in c.agents_message().agentlist] == [1, 2]
    left = c.agent_left("a1")
    agents = next(x.message for x in left if isinstance(x, a.Publish))
    assert isinstance(agents, m.Agents) and agents.count == 1 and agents.agentlist[0].name == "Bob"
    assert c.agent_left("a1") == []


def test_end_is_once_and_releases_the_key() -> None:
    c = core()
    c.visitor_connected("v1")
    c.agent_joined("a1", 10, entry())
    out = c.end("agent")
    assert a.Publish(m.Ended(reason="agent"), to_visitor=True) in out
    assert a.PersistEnd("agent") in out and a.ReleaseKey() in out
    assert c.end("visitor") == [] and c.end_reason == "agent"
    with pytest.raises(ProtocolError) as err:
        c.agent_joined("a2", 11, entry())
    assert err.value.close_code == CloseCode.ENDED


def test_visitor_grace_period_ends_with_timeout() -> None:
    c = core(grace=30.0)
    c.visitor_connected("v1")
    out = c.visitor_disconnected("v1", now=100.0)
    assert out == [a.Publish(m.VisitorStatus(connected=False), to_visitor=False)]
    assert c.tick(129.0) == []
    c.visitor_connected("v2")  # the next page came back in time
    assert c.tick(1000.0) == []
    c.visitor_disconnected("v2", now=1000.0)
    assert a.PersistEnd("timeout") in c.tick(1030.0)


def test_late_join_with_incomplete_log_asks_for_snapshot() -> None:
    c = core(log_max_bytes=1)
    c.visitor_connected("v1")
    c.visitor_events("v1", ev(1, 1, True), b"s")
    c.visitor_events("v1", ev(2, 1), b"xxx")  # past 2x the bound
    c.snapshot_requested = False  # as if the request was lost
    out = c.agent_joined("a1", 1, entry())
    assert a.SendTo("v1", m.SnapshotRequest()) in out


def test_session_messages_go_to_the_other_side_only() -> None:
    c = core()
    c.visitor_connected("v1")
    c.agent_joined("a1", 10, entry())
    msg = m.SessionMessage(name="greet", data=msgspec.Raw(b'{"hi":1}'))
    assert c.visitor_message("v1", msg) == [a.Publish(msg, to_visitor=False)]
    assert c.agent_message("a1", msg) == [a.Publish(msg, to_visitor=True, to_agents=False)]
    assert c.agent_message("not-seated", msg) == []
    assert c.visitor_message("old-page", msg) == []


@pytest.mark.parametrize(
    "msg",
    [
        m.SessionMessage(name="", data=msgspec.Raw(b"1")),
        m.SessionMessage(name="n" * 101, data=msgspec.Raw(b"1")),
        m.SessionMessage(name="big", data=msgspec.Raw(b'"' + b"x" * (64 * 1024) + b'"')),
    ],
)
def test_bad_session_messages_are_refused(msg: m.SessionMessage) -> None:
    c = core()
    c.visitor_connected("v1")
    with pytest.raises(ProtocolError) as err:
        c.visitor_message("v1", msg)
    assert err.value.code == "badmessage" and err.value.close_code == CloseCode.REJECTED


def test_user_state_is_kept_and_bounded() -> None:
    c = core()
    c.visitor_connected("v1")
    c.visitor_user_state("v1", m.UserState(name="cart", data=msgspec.Raw(b"[1,2]")))
    c.visitor_user_state("v1", m.UserState(name="cart", data=msgspec.Raw(b"[3]")))
    assert bytes(c.userstate["cart"]) == b"[3]"
    for i in range(99):
        c.visitor_user_state("v1", m.UserState(name=f"k{i}", data=msgspec.Raw(b"1")))
    with pytest.raises(ProtocolError) as err:
        c.visitor_user_state("v1", m.UserState(name="one-too-many", data=msgspec.Raw(b"1")))
    assert err.value.code == "badstate"
    c.visitor_user_state("v1", m.UserState(name="cart", data=msgspec.Raw(b"[]")))  # replacing is fine


def test_pause_is_shown_to_late_joiners_and_lasts_one_page() -> None:
    c = core()
    c.visitor_connected("v1")
    out = c.visitor_pause("v1", m.Pause(pause=True, message="<b>Paused</b>"))
    assert out == [a.Publish(m.Pause(pause=True, message="<b>Paused</b>"), to_visitor=False)]
    assert c.joined_message().pause == m.PauseState(pause=True, message="<b>Paused</b>")
    next_page = c.visitor_connected("v2")
    assert a.Publish(m.Pause(pause=False), to_visitor=False) in next_page
    assert c.joined_message().pause == m.PauseState()
    with pytest.raises(ProtocolError):
        c.visitor_pause("v2", m.Pause(pause=True, message="x" * (16 * 1024 + 1)))


def test_page_messages_are_cut_to_the_limits() -> None:
    from cobrowse.protocol.rules import MAX_TITLE, MAX_URL

    c = core()
    c.visitor_connected("v1")
    out = c.visitor_page("v1", m.PageInfo(url="u" * (MAX_URL + 10), title="t" * (MAX_TITLE + 10)))
    assert out == [
        a.Publish(m.Page(url="u" * MAX_URL, title="t" * MAX_TITLE), to_visitor=False),
        a.PersistState(),
    ]
    assert c.page == m.PageInfo(url="u" * MAX_URL, title="t" * MAX_TITLE)
