"""Remote control in the session state machine: consent, forwarding, and what is refused (no I/O)."""

from __future__ import annotations

import math

import pytest

from cobrowse.protocol import actions as a
from cobrowse.protocol import messages as m
from cobrowse.protocol.codec import CloseCode, ProtocolError
from cobrowse.protocol.session import SessionCore


def live() -> SessionCore:
    """A session with its visitor page ``v1`` on epoch 1, agent ``a1`` (Ann) and guest ``g1`` seated."""
    c = SessionCore(session_id=7, group_id=1, key="1234", random_key=True, visitor=m.VisitorInfo())
    c.visitor_connected("v1")
    c.visitor_events("v1", m.Events(seq=1, epoch=1, snapshot=True), b"snap")
    c.agent_joined("a1", 1, m.AgentEntry(name="Ann", role="agent", num=0, username="ann"))
    c.agent_joined("g1", None, c.guest_entry(1, "Gus"))
    return c


def click(**kw: object) -> m.Control:
    return m.Control(op="click", epoch=1, id=12, **kw)  # type: ignore[arg-type]


def published(actions: list[a.Action]) -> list[a.Publish]:
    return [x for x in actions if isinstance(x, a.Publish)]


def test_a_request_goes_to_the_visitor_with_the_asking_agent() -> None:
    c = live()
    out = c.agent_rc_request("a1")
    assert out == [a.Publish(m.RcRequest(num=1, name="Ann"), to_visitor=True, to_agents=False)]


def test_guests_and_strangers_cannot_request_release_or_control() -> None:
    c = live()
    c.visitor_rc("v1", m.Rc(enabled=True))
    for conn in ("g1", "nobody"):
        assert c.agent_rc_request(conn) == []
        assert c.agent_rc_release(conn) == []
        assert c.agent_control(conn, click()) == []
    assert c.rc.enabled


def test_commands_reach_the_page_only_while_control_is_enabled() -> None:
    c = live()
    refused = c.agent_control("a1", click())
    assert refused == [
        a.SendTo("a1", m.Error(code="rcoff", msg="remote control is not enabled by the visitor"))
    ]
    assert c.agent_control("a1", m.Control(op="move", epoch=1, id=3)) == []  # moves are dropped silently

    out = c.visitor_rc("v1", m.Rc(enabled=True))
    assert out == [a.Publish(m.Rc(enabled=True), to_visitor=False), a.PersistState()]
    sent = c.agent_control("a1", click(x=0.25, text="ignored"))
    assert len(sent) == 1 and isinstance(sent[0], a.Publish)
    assert sent[0].to_visitor and not sent[0].to_agents
    assert sent[0].message == m.Control(op="click", epoch=1, id=12, x=0.25, text="ignored", agent=1)

    c.visitor_rc("v1", m.Rc(enabled=False))
    assert isinstance(c.agent_control("a1", click())[0], a.SendTo)


def test_declining_is_told_to_the_agents_and_leaves_control_off() -> None:
    c = live()
    out = c.visitor_rc("v1", m.Rc(enabled=False, declined=True))
    assert out == [a.Publish(m.Rc(enabled=False, declined=True), to_visitor=False)]
    assert not c.rc.enabled
    # "declined" with enabled true is nonsense: it is just an enable
    assert published(c.visitor_rc("v1", m.Rc(enabled=True, declined=True)))[0].message == m.Rc(enabled=True)


def test_an_agent_releasing_control_turns_it_off_for_the_visitor_and_every_agent() -> None:
    c = live()
    assert c.agent_rc_release("a1") == []  # nothing to release
    c.visitor_rc("v1", m.Rc(enabled=True))
    out = c.agent_rc_release("a1")
    assert out == [a.Publish(m.Rc(enabled=False), to_visitor=True), a.PersistState()]
    assert not c.rc.enabled


def test_asking_when_enabled_or_without_a_page_answers_the_agent_only() -> None:
    c = live()
    c.visitor_rc("v1", m.Rc(enabled=True))
    assert c.agent_rc_request("a1") == [a.SendTo("a1", m.Rc(enabled=True))]
    c.visitor_rc("v1", m.Rc(enabled=False))
    c.visitor_disconnected("v1", now=0.0)
    out = c.agent_rc_request("a1")
    assert out == [a.SendTo("a1", m.Error(code="novisitor", msg="the visitor's page is not connected"))]


def test_control_lasts_across_pages_but_a_suspension_does_not() -> None:
    c = live()
    c.visitor_rc("v1", m.Rc(enabled=True, suspended=True))
    assert c.rc == m.RcState(enabled=True, suspended=True)
    c.visitor_disconnected("v1", now=0.0)
    out = c.visitor_connected("v2")
    assert a.Publish(m.Rc(enabled=True), to_visitor=False) in out
    assert c.rc == m.RcState(enabled=True) and c.joined_message().rc == m.RcState(enabled=True)
    # an old page's socket has no say any more
    assert c.visitor_rc("v1", m.Rc(enabled=False)) == [] and c.rc.enabled


def test_a_suspension_needs_control_enabled() -> None:
    c = live()
    c.visitor_rc("v1", m.Rc(enabled=False, suspended=True))
    assert c.rc == m.RcState()


def test_nothing_after_the_end() -> None:
    c = live()
    c.visitor_rc("v1", m.Rc(enabled=True))
    c.end("agent")
    assert c.agent_control("a1", click()) == []
    assert c.agent_rc_request("a1") == [] and c.agent_rc_release("a1") == []
    assert c.visitor_rc("v1", m.Rc(enabled=False)) == []


@pytest.mark.parametrize(
    ("fields", "why"),
    [
        ({"epoch": 0}, "epoch"),
        ({"id": -1}, "negative"),
        ({"op": "click", "id": 0}, "needs the id"),
        ({"op": "selecttext", "id": 0}, "needs the id"),
        ({"x": 1.5}, "fraction"),
        ({"y": -0.1}, "fraction"),
        ({"x": math.nan}, "fraction"),
        ({"dy": math.inf}, "pixels"),
        ({"dx": 1e9}, "pixels"),
        ({"key": "K" * (m.MAX_KEY_NAME + 1)}, "key name"),
        ({"text": "t" * (m.MAX_CONTROL_TEXT + 1)}, "text"),
        ({"index": -2}, "index"),
        ({"end_offset": -3}, "negative"),
    ],
)
def test_commands_out_of_range_are_refused_with_a_reason(fields: dict[str, object], why: str) -> None:
    c = live()
    c.visitor_rc("v1", m.Rc(enabled=True))
    base: dict[str, object] = {"op": "click", "epoch": 1, "id": 12}
    with pytest.raises(ProtocolError) as caught:
        c.agent_control("a1", m.Control(**{**base, **fields}))  # type: ignore[arg-type]
    assert caught.value.code == "badcontrol" and caught.value.close_code == CloseCode.REJECTED
    assert why in caught.value.msg


def test_keys_text_and_page_scrolls_may_name_no_node() -> None:
    c = live()
    c.visitor_rc("v1", m.Rc(enabled=True))
    for op in ("key", "text", "scroll"):
        out = c.agent_control("a1", m.Control(op=op, epoch=1, id=0, key="a", text="a", dy=40))  # type: ignore[arg-type]
        assert len(published(out)) == 1
