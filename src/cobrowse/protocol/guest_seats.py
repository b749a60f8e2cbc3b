"""The guest rules of :class:`~cobrowse.protocol.session.SessionCore`: waiting, admission, seats.

A mixin, so that the session's state machine stays one object with one state while each concern reads in its
own module. It uses the core's fields declared below and adds no state of its own.
"""

from __future__ import annotations

from . import messages as m
from .actions import Action, Admission, Publish
from .codec import CloseCode, ProtocolError
from .seats import Seat, State

#: Guests that may wait for admission at once in one session (more are refused with ``busy``).
MAX_WAITING_GUESTS = 20


class GuestSeats:
    # the SessionCore fields this uses
    state: State
    seats: dict[str, Seat]
    waiting_guests: dict[int, tuple[str, str]]
    _next_guestid: int

    def _require_live(self) -> None:
        raise NotImplementedError

    def guest_waiting(self, conn: str, name: str) -> tuple[int, list[Action]]:
        """A guest with a valid invitation waits: every agent is asked to admit or decline it."""
        self._require_live()
        name = name.strip()
        if not 1 <= len(name) <= m.MAX_GUEST_NAME:
            raise ProtocolError(
                CloseCode.REJECTED, "badname", f"a guest name is 1 to {m.MAX_GUEST_NAME} characters"
            )
        if len(self.waiting_guests) >= MAX_WAITING_GUESTS:
            raise ProtocolError(CloseCode.OVERLOADED, "busy", "too many guests are waiting; try again later")
        guestid = self._next_guestid
        self._next_guestid += 1
        self.waiting_guests[guestid] = (conn, name)
        return guestid, [Publish(m.GuestRequest(guestid=guestid, name=name), to_visitor=False)]

    def guest_answer(self, conn: str, guestid: int, accept: bool) -> list[Action]:
        """An agent (seated, checked for ``invite_guests`` by the caller) answers a waiting guest.

        The first answer wins; an answer for a guest no longer waiting does nothing."""
        if conn not in self.seats or self.seats[conn].entry.role != "agent" or self.state is State.ENDED:
            return []
        waiting = self.waiting_guests.pop(guestid, None)
        if waiting is None:
            return []
        guest_conn, _ = waiting
        return [
            Publish(m.GuestAnswered(guestid=guestid, accept=accept), to_visitor=False),
            Admission(guest_conn, accept),
        ]

    def guest_entry(self, guestid: int, name: str) -> m.AgentEntry:
        """The agents-list entry of an admitted guest (seated with :meth:`agent_joined`)."""
        return m.AgentEntry(name=name, role="guest", num=0, guestid=guestid)

    def guest_gone(self, conn: str) -> list[Action]:
        """A waiting guest's socket closed before any answer: agents drop the request."""
        if self.state is State.ENDED:
            return []
        for guestid, (waiting_conn, _) in list(self.waiting_guests.items()):
            if waiting_conn == conn:
                del self.waiting_guests[guestid]
                return [Publish(m.GuestAnswered(guestid=guestid, accept=False), to_visitor=False)]
        return []
