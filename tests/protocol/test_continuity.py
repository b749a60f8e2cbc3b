"""A session's continuity: written as JSON, read back into a fresh state machine, hostile values dropped."""

from __future__ import annotations

import json

import msgspec

from cobrowse.protocol import actions as a
from cobrowse.protocol import messages as m
from cobrowse.protocol.continuity import continuity_of, restore
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
