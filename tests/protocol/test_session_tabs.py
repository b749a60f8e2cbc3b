"""Several tabs in one session: agents see the tab the visitor focused last (no I/O)."""

from __future__ import annotations

import msgspec

from cobrowse.protocol import actions as a
from cobrowse.protocol import messages as m
from cobrowse.protocol.session import SessionCore


def two_tabs() -> SessionCore:
    """Tab ``t1`` (the shop, epoch 1) and then tab ``t2`` (the cart, epoch 2) connected; ``t2`` is shown and
    ``t1`` in the background."""
    c = SessionCore(session_id=7, group_id=1, key="1234", random_key=True, visitor=m.VisitorInfo(), grace=30)
    c.visitor_connected("t1", m.PageInfo(url="https://shop.example/", title="Shop"))
    c.visitor_events("t1", m.Events(seq=1, epoch=1, snapshot=True), b"s1")
    c.visitor_connected("t2", m.PageInfo(url="https://shop.example/cart", title="Cart"))
    c.visitor_events("t2", m.Events(seq=2, epoch=2, snapshot=True), b"s2")
    assert c.visitor_focus("t1", False) == []  # the first tab went to the background
    return c


def sent_to(actions: list[a.Action], conn: str) -> list[m.Message]:
    return [x.message for x in actions if isinstance(x, a.SendTo) and x.conn == conn]


def published(actions: list[a.Action]) -> list[m.Message]:
    return [x.message for x in actions if isinstance(x, a.Publish)]


def test_a_new_tab_is_shown_and_the_old_one_stops_recording() -> None:
    c = SessionCore(session_id=7, group_id=1, key="1234", random_key=True, visitor=m.VisitorInfo())
    c.visitor_connected("t1", m.PageInfo(url="https://shop.example/", title="Shop"))
    out = c.visitor_connected("t2", m.PageInfo(url="https://shop.example/cart", title="Cart"))
    assert sent_to(out, "t1") == [m.TabState(active=False)]
    assert m.VisitorStatus(connected=True, tabs=2) in published(out)
    assert c.visitor_conn == "t2" and c.page == m.PageInfo(url="https://shop.example/cart", title="Cart")


def test_focusing_the_other_tab_switches_what_agents_see() -> None:
    c = two_tabs()
    assert c.visitor_focus("t2", False) == []  # nothing else focused: t2 stays shown
    out = c.visitor_focus("t1", True)
    assert sent_to(out, "t2") == [m.TabState(active=False)]
    assert sent_to(out, "t1") == [m.TabState(active=True, epoch=2, seq=2)]
    assert m.Page(url="https://shop.example/", title="Shop") in published(out)
    assert c.visitor_conn == "t1"
    # t1 continues the numbering with a snapshot; t2's late frames are ignored
    assert c.visitor_events("t2", m.Events(seq=3, epoch=2), b"late") == []
    forwarded = c.visitor_events("t1", m.Events(seq=3, epoch=3, snapshot=True), b"s3")
    assert isinstance(forwarded[0], a.Forward) and c.epoch == 3
    # focusing the shown tab again changes nothing
    assert c.visitor_focus("t1", True) == []


def test_closing_the_shown_tab_shows_the_other_instead_of_waiting() -> None:
    c = two_tabs()
    c.visitor_focus("t2", False)
    c.visitor_focus("t1", True)
    out = c.visitor_disconnected("t1", now=0.0)  # closed while shown
    assert sent_to(out, "t2") == [m.TabState(active=True, epoch=2, seq=2)]
    assert m.VisitorStatus(connected=True, tabs=1) in published(out)
    assert c.visitor_conn == "t2" and c.visitor_deadline is None
    out = c.visitor_disconnected("t2", now=5.0)
    assert published(out) == [m.VisitorStatus(connected=False, tabs=0)]
    assert c.visitor_deadline == 35.0


def test_pages_of_hidden_tabs_are_remembered_not_published() -> None:
    c = two_tabs()
    assert c.visitor_page("t1", m.PageInfo(url="https://shop.example/help", title="Help")) == []
    assert c.page is not None and c.page.url.endswith("/cart")
    out = c.visitor_focus("t1", True)
    assert m.Page(url="https://shop.example/help", title="Help") in published(out)


def test_every_tab_may_set_user_state_send_messages_and_stop_control() -> None:
    c = two_tabs()
    c.visitor_rc("t2", m.Rc(enabled=True))
    assert c.visitor_user_state("t1", m.UserState(name="n", data=msgspec.Raw(b"1"))) == [a.PersistState()]
    assert published(c.visitor_message("t1", m.SessionMessage(name="hi", data=msgspec.Raw(b"2"))))
    c.visitor_rc("t1", m.Rc(enabled=False))
    assert not c.rc.enabled
    # but only the shown tab pauses what agents see
    assert c.visitor_pause("t1", m.Pause(pause=True)) == []


def test_strangers_have_no_say() -> None:
    c = two_tabs()
    assert c.visitor_focus("nobody", True) == []
    assert c.visitor_disconnected("nobody", now=0.0) == []
    assert c.visitor_page("nobody", m.PageInfo(url="x", title="y")) == []
