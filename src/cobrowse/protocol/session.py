"""The per-session state machine: no I/O, no clock, no sockets.

A :class:`SessionCore` is fed what happened (a visitor frame, an agent joining, the time passing) and answers
with :mod:`actions <cobrowse.protocol.actions>` saying what to send, to whom, and what to store. The ASGI
endpoints and the broker carry those out. Keeping the rules here means they are tested without a server,
and a later multi-node runtime reuses them unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import msgspec

from . import messages as m
from .actions import (
    Action,
    Forward,
    PersistAgentJoin,
    PersistAgentLeave,
    PersistEnd,
    PersistState,
    Publish,
    ReleaseKey,
    SendTo,
)
from .codec import CloseCode, ProtocolError
from .guest_seats import MAX_WAITING_GUESTS, GuestSeats
from .remote_control import RemoteControlRules
from .rules import clean_page
from .seats import Seat, State
from .tabs import Tabs

__all__ = ["MAX_WAITING_GUESTS", "Seat", "SessionCore", "State"]


@dataclass
class SessionCore(GuestSeats, RemoteControlRules):
    session_id: int
    group_id: int
    key: str
    random_key: bool
    visitor: m.VisitorInfo
    #: How long the session waits for a disconnected visitor before it ends.
    grace: float = 120.0
    #: Soft bound of the late-join log: past it the visitor is asked for a fresh snapshot (see
    #: :meth:`visitor_events` for the policy); twice it is the hard bound, past which nothing is logged.
    log_max_bytes: int = 8 * 1024 * 1024

    state: State = State.STARTING
    epoch: int = 0
    seq: int = 0
    page: m.PageInfo | None = None
    visitor_conn: str | None = None
    visitor_deadline: float | None = None
    end_reason: str | None = None
    seats: dict[str, Seat] = field(default_factory=dict)
    #: Bytes in the late-join log, and whether it still holds everything since the last snapshot.
    log_bytes: int = 0
    log_complete: bool = False
    #: Bytes of the last snapshot, and of the frames forwarded since (logged or not).
    snapshot_bytes: int = 0
    since_snapshot_bytes: int = 0
    snapshot_requested: bool = False
    pause: m.PauseState = field(default_factory=m.PauseState)
    #: The visitor's connected pages; ``visitor_conn`` is the one agents see.
    tabs: Tabs = field(default_factory=Tabs)
    #: Remote control: on for the whole session (every page) until the visitor or an agent turns it off.
    rc: m.RcState = field(default_factory=m.RcState)
    userstate: dict[str, msgspec.Raw] = field(default_factory=dict)
    _next_num: int = 1
    #: Guests waiting for an agent's answer: guestid -> (connection, name). At most MAX_WAITING_GUESTS.
    waiting_guests: dict[int, tuple[str, str]] = field(default_factory=dict)
    _next_guestid: int = 1

    # ---- visitor side -------------------------------------------------------------------------

    def visitor_connected(self, conn: str, page: m.PageInfo | None = None) -> list[Action]:
        """A visitor page connected (the first, the next after a navigation or a reconnect, or another tab):
        it carries the session from now on, and a page that carried it before stops (``tab`` inactive)."""
        self._require_live()
        self.tabs.add(conn, clean_page(page) if page is not None else self.page)
        actions = self._show_tab(conn)
        self.visitor_deadline = None
        if self.seats:
            actions.append(SendTo(conn, self.agents_message()))
        return actions

    def visitor_focus(self, conn: str, focused: bool) -> list[Action]:
        """A page got or lost the visitor's focus: agents see the tab focused last."""
        if conn not in self.tabs or self.state is State.ENDED:
            return []
        self.tabs.focus(conn, focused)
        shown = self.tabs.choose(self.visitor_conn)
        if shown is None or shown == self.visitor_conn:
            return []
        return self._show_tab(shown, switch=True)

    def visitor_disconnected(self, conn: str, now: float) -> list[Action]:
        """A page's socket closed. Another tab takes over if there is one; with none, the session waits
        ``grace`` seconds for the visitor's next page before ending."""
        if conn not in self.tabs or self.state is State.ENDED:
            return []
        self.tabs.remove(conn)
        if conn != self.visitor_conn:
            return [Publish(self._visitor_status(), to_visitor=False)]
        self.visitor_conn = None
        shown = self.tabs.choose(None)
        if shown is None:
            self.visitor_deadline = now + self.grace
            return [Publish(self._visitor_status(), to_visitor=False)]
        return self._show_tab(shown, switch=True)

    def _show_tab(self, conn: str, switch: bool = False) -> list[Action]:
        """Make ``conn`` the page agents see: the one shown before (if any) stops recording, the new one
        uploads a snapshot as its first frame (a page already connected is told so: ``switch``; a new page
        does it anyway). A pause or a suspension of control was the old page's."""
        actions: list[Action] = []
        old = self.visitor_conn
        if old is not None and old != conn and old in self.tabs:
            actions.append(SendTo(old, m.TabState(active=False)))
        self.visitor_conn = conn
        self.page = self.tabs.page_of(conn) or self.page
        actions.append(Publish(self._visitor_status(), to_visitor=False))
        if switch:
            self.snapshot_requested = True  # a tab shown again starts with a snapshot (TabState)
            actions.append(SendTo(conn, m.TabState(active=True, epoch=self.epoch, seq=self.seq)))
            if self.page is not None:
                actions.append(Publish(m.Page(url=self.page.url, title=self.page.title), to_visitor=False))
        else:
            # A new connection: a new page starts with a snapshot anyway, a page that reconnects may go on
            # with the frames the server missed; either way it is asked for a snapshot when the log cannot
            # serve agents (a restarted server, an overflowed log).
            self.snapshot_requested = False
            if self.state is State.ACTIVE and not self.log_complete:
                actions += self._request_snapshot()
        if self.pause.pause:  # a pause lasts for one page only
            self.pause = m.PauseState()
            actions.append(Publish(m.Pause(pause=False), to_visitor=False))
        if self.rc.suspended:  # so does a suspension by the visitor's own input
            self.rc = m.RcState(enabled=self.rc.enabled)
            actions.append(Publish(self._rc_message(), to_visitor=False))
        return actions

    def _visitor_status(self) -> m.VisitorStatus:
        return m.VisitorStatus(connected=self.visitor_conn is not None, tabs=len(self.tabs))

    def visitor_events(self, conn: str, ev: m.Events, frame: bytes) -> list[Action]:
        """A page-event frame: check its place in the sequence and forward the same bytes.

        The late-join log (what a joining agent is sent) is the last snapshot and the frames after it, within
        a hard bound of ``2 * log_max_bytes``:

        - A snapshot starts the log afresh, whatever its size up to the hard bound: a joining agent cannot do
          without it. A larger one is forwarded to the agents present but not logged; the log is then
          incomplete, and an agent that joins asks the page for a snapshot of its own.
        - A frame after it is logged while the log stays within the hard bound; past it the log stops
          growing (incomplete) until the next snapshot.
        - The page is asked for a fresh snapshot once the log is past ``log_max_bytes`` (the soft bound) and
          the frames since the snapshot add up to at least the snapshot itself: the fresh one, about as big,
          then at least halves the log. Asking sooner could not shrink it: a snapshot that alone is past the
          soft bound used to have every following frame ask for another, as big, for ever. So the page
          uploads at most one snapshot's worth for each snapshot's worth of frames it sent.
        """
        if conn != self.visitor_conn or self.state is State.ENDED:
            return []
        if ev.seq <= self.seq:
            return []  # duplicate of a frame already forwarded (resent after a reconnect)
        if ev.snapshot:
            if ev.epoch <= self.epoch:
                raise ProtocolError(
                    CloseCode.MALFORMED, "malformed", f"snapshot epoch {ev.epoch} must exceed {self.epoch}"
                )
            self.epoch = ev.epoch
            self.state = State.ACTIVE
            self.snapshot_requested = False
            self.seq = ev.seq
            self.snapshot_bytes, self.since_snapshot_bytes = len(frame), 0
            log = len(frame) <= 2 * self.log_max_bytes
            self.log_bytes = len(frame) if log else 0
            self.log_complete = log
            return [Forward(ev.seq, frame, snapshot=True, log=log), PersistState()]
        if ev.epoch != self.epoch:
            return []  # an old recording's frame: its node ids mean nothing now
        if ev.seq != self.seq + 1:
            return self._request_snapshot()  # a gap: only a fresh snapshot heals it
        self.seq = ev.seq
        self.since_snapshot_bytes += len(frame)
        actions: list[Action] = []
        log = self.log_complete and self.log_bytes + len(frame) <= 2 * self.log_max_bytes
        if log:
            self.log_bytes += len(frame)
        else:
            self.log_complete = False
        actions.append(Forward(ev.seq, frame, snapshot=False, log=log))
        if (
            self.snapshot_bytes + self.since_snapshot_bytes > self.log_max_bytes
            and self.since_snapshot_bytes >= self.snapshot_bytes
        ):
            actions += self._request_snapshot()
        return actions

    def visitor_page(self, conn: str, page: m.PageInfo) -> list[Action]:
        """The page the visitor is on, cut to the documented URL and title limits like at start and resume."""
        if conn not in self.tabs or self.state is State.ENDED:
            return []
        page = clean_page(page)
        self.tabs.set_page(conn, page)
        if conn != self.visitor_conn:
            return []  # a tab agents do not see: its page is shown when it is
        self.page = page
        return [Publish(m.Page(url=page.url, title=page.title), to_visitor=False), PersistState()]

    def visitor_message(self, conn: str, msg: m.SessionMessage) -> list[Action]:
        """A session message from any of the visitor's pages: to every agent, unchanged."""
        if conn not in self.tabs or self.state is State.ENDED:
            return []
        _check_named_data("session message", msg.name, msg.data)
        return [Publish(msg, to_visitor=False)]

    def visitor_user_state(self, conn: str, msg: m.UserState) -> list[Action]:
        """``setUserState`` (any of the visitor's pages): kept for the session's life and handed to each new
        page of the visitor."""
        if conn not in self.tabs or self.state is State.ENDED:
            return []
        _check_named_data("user state", msg.name, msg.data)
        if msg.name not in self.userstate and len(self.userstate) >= m.MAX_USER_STATES:
            raise ProtocolError(
                CloseCode.REJECTED, "badstate", f"a session keeps at most {m.MAX_USER_STATES} user states"
            )
        self.userstate[msg.name] = msg.data
        return [PersistState()]

    def visitor_pause(self, conn: str, msg: m.Pause) -> list[Action]:
        """``pauseSession``: agents see the frozen view under the message; late joiners too."""
        if conn != self.visitor_conn or self.state is State.ENDED:
            return []
        if msg.message is not None and len(msg.message) > m.MAX_PAUSE_MESSAGE:
            raise ProtocolError(
                CloseCode.REJECTED, "badpause", f"a pause message is at most {m.MAX_PAUSE_MESSAGE} characters"
            )
        self.pause = m.PauseState(pause=msg.pause, message=msg.message if msg.pause else None)
        return [Publish(m.Pause(pause=self.pause.pause, message=self.pause.message), to_visitor=False)]

    def _request_snapshot(self) -> list[Action]:
        if self.snapshot_requested or self.visitor_conn is None:
            return []
        self.snapshot_requested = True
        return [SendTo(self.visitor_conn, m.SnapshotRequest())]

    # ---- agent side ---------------------------------------------------------------------------

    def agent_joined(self, conn: str, agent_id: int | None, entry: m.AgentEntry) -> list[Action]:
        """An authorised agent joins; everyone learns the new agents list."""
        self._require_live()
        entry.num = self._next_num
        self._next_num += 1
        self.seats[conn] = Seat(conn, agent_id, entry)
        actions: list[Action] = [
            Publish(self.agents_message(), to_visitor=True),
            PersistAgentJoin(conn, agent_id),
        ]
        if not self.log_complete and self.state is State.ACTIVE:
            actions += self._request_snapshot()
        return actions

    def agent_left(self, conn: str) -> list[Action]:
        seat = self.seats.pop(conn, None)
        if seat is None:
            return []
        actions: list[Action] = [PersistAgentLeave(seat.participant_id)]
        if self.state is not State.ENDED:
            actions.insert(0, Publish(self.agents_message(), to_visitor=True))
        return actions

    def agent_message(self, conn: str, msg: m.SessionMessage) -> list[Action]:
        """A session message from an agent's console (never a guest's): to the visitor's page only."""
        if conn not in self.seats or self.seats[conn].entry.role != "agent" or self.state is State.ENDED:
            return []
        _check_named_data("session message", msg.name, msg.data)
        return [Publish(msg, to_visitor=True, to_agents=False)]

    def resync_needed(self) -> list[Action]:
        """An agent saw a gap; if the log cannot cover it, ask the visitor for a snapshot."""
        if self.log_complete or self.state is State.ENDED:
            return []
        return self._request_snapshot()

    def joined_message(self) -> m.Joined:
        return m.Joined(
            session=self.session_id,
            key=self.key,
            group=self.group_id,
            visitor=self.visitor,
            page=self.page,
            visitor_connected=self.visitor_conn is not None,
            visitor_tabs=len(self.tabs),
            agents=self.agents_message(),
            epoch=self.epoch,
            seq=self.seq,
            pause=self.pause,
            rc=self.rc,
        )

    def agents_message(self) -> m.Agents:
        entries = [seat.entry for seat in self.seats.values()]
        return m.Agents(count=len(entries), agentlist=entries)

    # ---- both ---------------------------------------------------------------------------------

    def end(self, reason: str) -> list[Action]:
        """End the session for everyone; later calls do nothing (the first reason wins)."""
        if self.state is State.ENDED:
            return []
        self.state = State.ENDED
        self.end_reason = reason
        # recorded before anyone is told, so that whoever hears "ended" finds it ended in the store too
        actions: list[Action] = [PersistEnd(reason), Publish(m.Ended(reason=reason), to_visitor=True)]
        actions += [PersistAgentLeave(seat.participant_id) for seat in self.seats.values()]
        actions.append(ReleaseKey())
        return actions

    def tick(self, now: float) -> list[Action]:
        """Time passed: end the session if its visitor has been gone longer than the grace period."""
        if (
            self.state is not State.ENDED
            and self.visitor_deadline is not None
            and now >= self.visitor_deadline
        ):
            return self.end("timeout")
        return []

    def _require_live(self) -> None:
        if self.state is State.ENDED:
            raise ProtocolError(CloseCode.ENDED, "ended", f"session {self.session_id} has ended")


def _check_named_data(what: str, name: str, data: msgspec.Raw) -> None:
    """Names are 1 to 100 characters; values are JSON (checked by the decoder) of at most 64 KiB."""
    if not 1 <= len(name) <= m.MAX_NAME:
        raise ProtocolError(
            CloseCode.REJECTED, "badmessage", f"a {what} name is 1 to {m.MAX_NAME} characters"
        )
    if len(memoryview(data)) > m.MAX_MESSAGE_DATA:
        raise ProtocolError(
            CloseCode.REJECTED, "badmessage", f"a {what} value is at most {m.MAX_MESSAGE_DATA} bytes of JSON"
        )
