"""Remote control: the rules the server applies to ``rc_request``, ``rc`` and ``control`` messages.

The server is the first of two gates. It forwards a control command only while the visitor has control
enabled and only from an agent that holds ``remote_control`` (the endpoint checks the permission; the session
core checks the rest), and it refuses a command whose fields are out of range before it reaches the page. The
visitor's page is the second gate: it checks the epoch, the node, masking and ``glance_norc`` itself, because
only it knows the page (docs/protocol.md "Remote control").
"""

from __future__ import annotations

import math

from . import messages as m
from .actions import Action, PersistState, Publish, SendTo
from .codec import CloseCode, ProtocolError
from .seats import Seat, State
from .tabs import Tabs

#: Ops that carry a node id the visitor's page must resolve (``scroll``, ``key`` and ``text`` may use 0).
_NEEDS_NODE = frozenset({"move", "click", "dblclick", "focus", "select", "selecttext"})


def _refuse(why: str) -> ProtocolError:
    return ProtocolError(CloseCode.REJECTED, "badcontrol", f"control command refused: {why}")


def check_control(msg: m.Control) -> None:
    """Raise ``badcontrol`` (close 4003) for a command no honest console sends: a node id or epoch below
    zero, a pointer outside its node's box, oversized text or key names, an endless scroll."""
    if msg.epoch < 1:
        raise _refuse("epoch must be a recording's epoch (1 or more)")
    if msg.id < 0 or msg.end_id < 0 or msg.offset < 0 or msg.end_offset < 0:
        raise _refuse("node ids and offsets are never negative")
    if msg.op in _NEEDS_NODE and msg.id == 0:
        raise _refuse(f"{msg.op} needs the id of a node")
    for name, value in (("x", msg.x), ("y", msg.y)):
        if not (math.isfinite(value) and 0.0 <= value <= 1.0):
            raise _refuse(f"{name} is a fraction of the node's box, 0 to 1")
    for name, value in (("dx", msg.dx), ("dy", msg.dy)):
        if not (math.isfinite(value) and abs(value) <= m.MAX_SCROLL_DELTA):
            raise _refuse(f"{name} is at most {m.MAX_SCROLL_DELTA:.0f} pixels either way")
    if len(msg.key) > m.MAX_KEY_NAME:
        raise _refuse(f"a key name is at most {m.MAX_KEY_NAME} characters")
    if len(msg.text) > m.MAX_CONTROL_TEXT:
        raise _refuse(f"text is at most {m.MAX_CONTROL_TEXT} characters")
    if msg.index < -1:
        raise _refuse("an option index is -1 (by value) or more")


def forwarded(msg: m.Control, agent_num: int) -> m.Control:
    """The command as the visitor receives it: re-encoded from the checked fields, with the sender's number."""
    return m.Control(
        op=msg.op,
        epoch=msg.epoch,
        id=msg.id,
        x=msg.x,
        y=msg.y,
        key=msg.key,
        shift=msg.shift,
        ctrl=msg.ctrl,
        alt=msg.alt,
        meta=msg.meta,
        text=msg.text,
        index=msg.index,
        dx=msg.dx,
        dy=msg.dy,
        offset=msg.offset,
        end_id=msg.end_id,
        end_offset=msg.end_offset,
        agent=agent_num,
    )


class RemoteControlRules:
    """The remote-control rules of :class:`~cobrowse.protocol.session.SessionCore` (a mixin: it uses the core's
    fields declared below and adds no state of its own)."""

    state: State
    seats: dict[str, Seat]
    tabs: Tabs
    visitor_conn: str | None
    rc: m.RcState

    def visitor_rc(self, conn: str, msg: m.Rc) -> list[Action]:
        """The visitor turned remote control on or off, suspended it with their own input, or declined a
        request (any of the visitor's pages: a Stop button works in every tab): every agent learns the session's
        state."""
        if conn not in self.tabs or self.state is State.ENDED:
            return []
        was = self.rc.enabled
        self.rc = m.RcState(enabled=msg.enabled, suspended=msg.enabled and msg.suspended)
        actions: list[Action] = [
            Publish(self._rc_message(declined=msg.declined and not msg.enabled), to_visitor=False)
        ]
        return actions + [PersistState()] if self.rc.enabled != was else actions

    def agent_rc_request(self, conn: str) -> list[Action]:
        """An agent (checked for ``remote_control`` by the caller) asks for control: the visitor's page asks
        the visitor. Already enabled: the agent is only told so; no visitor page: the agent is told why."""
        seat = self._agent_seat(conn)
        if seat is None:
            return []
        if self.rc.enabled:
            return [SendTo(conn, self._rc_message())]
        if self.visitor_conn is None:
            return [SendTo(conn, m.Error(code="novisitor", msg="the visitor's page is not connected"))]
        request = m.RcRequest(num=seat.entry.num, name=seat.entry.name)
        return [Publish(request, to_visitor=True, to_agents=False)]

    def agent_rc_release(self, conn: str) -> list[Action]:
        """An agent gives control back: off for everyone until the visitor enables it again."""
        if self._agent_seat(conn) is None or not self.rc.enabled:
            return []
        self.rc = m.RcState()
        return [Publish(self._rc_message(), to_visitor=True), PersistState()]

    def agent_control(self, conn: str, msg: m.Control) -> list[Action]:
        """A control command (the caller checked ``remote_control``): to the visitor's page, only while
        control is enabled; a command out of range closes the agent's socket (``badcontrol``)."""
        seat = self._agent_seat(conn)
        if seat is None:
            return []
        check_control(msg)
        if not self.rc.enabled or self.visitor_conn is None:
            if msg.op == "move":
                return []  # pointer moves racing the end of control are not worth an error each
            return [SendTo(conn, m.Error(code="rcoff", msg="remote control is not enabled by the visitor"))]
        return [Publish(forwarded(msg, seat.entry.num), to_visitor=True, to_agents=False)]

    def _agent_seat(self, conn: str) -> Seat | None:
        """The seat of ``conn`` if it is an agent's (never a guest's) in a live session."""
        seat = self.seats.get(conn)
        if seat is None or seat.entry.role != "agent" or self.state is State.ENDED:
            return None
        return seat

    def _rc_message(self, declined: bool = False) -> m.Rc:
        return m.Rc(enabled=self.rc.enabled, suspended=self.rc.suspended, declined=declined)
