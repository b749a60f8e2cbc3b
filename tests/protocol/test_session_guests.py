"""Guest admission in the session state machine: waiting, the agents' answer, and what guests may not do."""

from __future__ import annotations

import msgspec
import pytest

from cobrowse.protocol import actions as a
from cobrowse.protocol import messages as m
from cobrowse.protocol.codec import ProtocolError
from cobrowse.protocol.session import MAX_WAITING_GUESTS, SessionCore


def core() -> SessionCore:
    c = SessionCore(session_id=7, group_id=1, key="1234", random_key=True, visitor=m.VisitorInfo())
    c.visitor_connected("v1")
    c.agent_joined("a1", 1, m.AgentEntry(name="Ann", role="agent", num=0, username="ann"))
    return c


def published(actions: list[a.Action]) -> list[m.Message]:
    return [x.message for x in actions if isinstance(x, a.Publish)]


def test_a_waiting_guest_is_announced_to_agents_only() -> None:
    c = core()
    guestid, out = c.guest_waiting("g1", "  Gus  ")
    assert out == [a.Publish(m.GuestRequest(guestid=guestid, name="Gus"), to_visitor=False)]
    assert c.waiting_guests == {guestid: ("g1", "Gus")}


def test_admitted_guest_is_seated_with_role_guest_and_listed_for_the_visitor() -> None:
    c = core()
    guestid, _ = c.guest_waiting("g1", "Gus")
    out = c.guest_answer("a1", guestid, True)
    assert a.Admission("g1", True) in out
    assert m.GuestAnswered(guestid=guestid, accept=True) in published(out)
    seated = c.agent_joined("g1", None, c.guest_entry(guestid, "Gus"))
    agents = published(seated)[0]
    assert isinstance(agents, m.Agents) and agents.count == 2
    guest = agents.agentlist[1]
    assert (guest.role, guest.guestid, guest.name, guest.num) == ("guest", guestid, "Gus", 2)
    assert any(isinstance(x, a.Publish) and x.to_visitor for x in seated)


def test_declined_guest_gets_a_negative_admission_and_first_answer_wins() -> None:
    c = core()
    guestid, _ = c.guest_waiting("g1", "Gus")
    assert a.Admission("g1", False) in c.guest_answer("a1", guestid, False)
    assert c.guest_answer("a1", guestid, True) == []  # already answered
    assert c.waiting_guests == {}


def test_only_a_seated_agent_answers_and_a_guest_never_does() -> None:
    c = core()
    first, _ = c.guest_waiting("g1", "Gus")
    c.guest_answer("a1", first, True)
    c.agent_joined("g1", None, c.guest_entry(first, "Gus"))
    second, _ = c.guest_waiting("g2", "Eve")
    assert c.guest_answer("g1", second, True) == []  # a guest admits no one
    assert c.guest_answer("nobody", second, True) == []
    assert second in c.waiting_guests


def test_a_guest_sends_no_session_messages() -> None:
    c = core()
    guestid, _ = c.guest_waiting("g1", "Gus")
    c.guest_answer("a1", guestid, True)
    c.agent_joined("g1", None, c.guest_entry(guestid, "Gus"))
    msg = m.SessionMessage(name="x", data=msgspec.Raw(b"1"))
    assert c.agent_message("g1", msg) == []
    assert c.agent_message("a1", msg) != []


def test_a_guest_leaving_while_waiting_withdraws_the_request() -> None:
    c = core()
    guestid, _ = c.guest_waiting("g1", "Gus")
    assert published(c.guest_gone("g1")) == [m.GuestAnswered(guestid=guestid, accept=False)]
    assert c.waiting_guests == {} and c.guest_gone("g1") == []


@pytest.mark.parametrize("name", ["", "   ", "x" * 101])
def test_a_guest_name_is_1_to_100_characters(name: str) -> None:
    with pytest.raises(ProtocolError) as exc:
        core().guest_waiting("g1", name)
    assert exc.value.code == "badname"


def test_waiting_guests_are_bounded() -> None:
    c = core()
    for i in range(MAX_WAITING_GUESTS):
        c.guest_waiting(f"g{i}", "G")
    with pytest.raises(ProtocolError) as exc:
        c.guest_waiting("one-more", "G")
    assert exc.value.code == "busy"
