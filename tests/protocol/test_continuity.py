"""A session's continuity: written as JSON, read back into a fresh state machine, hostile values dropped."""

from __future__ import annotations

import json

import msgspec

from cobrowse.protocol import actions as a
from cobrowse.protocol import messages as m
from cobrowse.protocol.continuity import continuity_of, restore, resume_from_log
from cobrowse.protocol.session import SessionCore, State


def fresh() -> SessionCore:
    return SessionCore(
        session_id=7, group_id=1, key="1234", random_key=True, visitor=m.VisitorInfo(), grace=30
    )


def test_a_restored_session_continues_where_it_was() -> None:
    c = fresh()
    c.visitor_connected("v1")
    c.visitor_events("v1", m.Events(seq=4, epoch=3, snapshot=True), b"snap")
    c.visitor_page("v1", m.PageInfo(url="https://shop.example/cart", title="Cart"))
    c.visitor_user_state("v1", m.UserState(name="cart", data=msgspec.Raw(b'{"items": [1, 2]}')))
    c.visitor_rc("v1", m.Rc(enabled=True, suspended=True))
    stored = json.loads(json.dumps(continuity_of(c)))  # through a JSON column and back

    back = restore(fresh(), stored, now=100.0)
    assert (back.epoch, back.seq, back.state) == (3, 4, State.ACTIVE)
    assert back.page == m.PageInfo(url="https://shop.example/cart", title="Cart")
    assert bytes(back.userstate["cart"]) == b'{"items": [1, 2]}'
    assert back.rc == m.RcState(enabled=True)  # a suspension is not carried over
    assert back.visitor_conn is None and back.visitor_deadline == 130.0
    # the visitor's next page continues, with a higher epoch; agents are asked for nothing stale
    assert not back.log_complete
    out = back.visitor_connected("v2")
    assert a.Publish(m.VisitorStatus(connected=True, tabs=1), to_visitor=False) in out
    assert back.tick(129.0) == []


def test_a_restored_session_whose_visitor_never_returns_times_out() -> None:
    back = restore(fresh(), {}, now=0.0)
    assert back.state is State.STARTING and back.epoch == 0
    assert any(isinstance(x, a.PersistEnd) and x.reason == "timeout" for x in back.tick(31.0))


def test_hostile_or_broken_values_are_dropped() -> None:
    state = {
        "epoch": -5,
        "seq": True,
        "page": {"url": 7},
        "userstate": {"ok": "1", "": "2", "bad": "{not json", "big": json.dumps("x" * 70_000), "n": 3},
        "rc": "yes",
    }
    back = restore(fresh(), state, now=0.0)
    assert (back.epoch, back.seq, back.page, back.rc.enabled) == (0, 0, None, False)
    assert list(back.userstate) == ["ok"]
    assert restore(fresh(), {"userstate": ["a"]}, now=0.0).userstate == {}


def _frame(seq: int, epoch: int, snapshot: bool = False) -> bytes:
    return msgspec.json.encode(m.Events(seq=seq, epoch=epoch, snapshot=snapshot, data=msgspec.Raw(b"[]")))


def test_a_session_adopted_from_a_dead_node_continues_from_the_shared_log() -> None:
    """The store's continuity lags (written in the background); the broker's log has every frame logged:
    the new home continues at the log's last frame, with a complete log, so a joining agent is served from
    it and frames the page resends after that seq are taken as the next ones."""
    stored = {"epoch": 2, "seq": 10}
    core = restore(fresh(), stored, now=0.0)
    log = [(12, _frame(12, 3, snapshot=True)), (13, _frame(13, 3)), (14, _frame(14, 3))]
    assert resume_from_log(core, log)
    assert (core.epoch, core.seq, core.log_complete, core.state) == (3, 14, True, State.ACTIVE)
    assert core.log_bytes == sum(len(f) for _, f in log)
    core.visitor_connected("v")
    assert core.resync_needed() == []  # no snapshot needed: the log is whole
    forwarded = core.visitor_events("v", m.Events(seq=15, epoch=3), _frame(15, 3))
    assert forwarded == [a.Forward(15, _frame(15, 3), snapshot=False, log=True)]
    assert core.visitor_events("v", m.Events(seq=14, epoch=3), _frame(14, 3)) == []  # already had it


def test_a_log_that_cannot_be_trusted_leaves_the_restored_state_alone() -> None:
    cases = [
        [],  # nothing logged
        [(5, b"not json")],
        [(5, _frame(5, 3))],  # no snapshot first
        [(5, _frame(5, 3, snapshot=True)), (7, _frame(7, 3))],  # a hole
        [(5, _frame(5, 1, snapshot=True))],  # older than what the store says
        [(4, _frame(5, 3, snapshot=True))],  # seq of the entry and of the frame disagree
    ]
    for log in cases:
        core = restore(fresh(), {"epoch": 2, "seq": 9}, now=0.0)
        assert not resume_from_log(core, log), log
        assert (core.epoch, core.seq, core.log_complete) == (2, 9, False)
