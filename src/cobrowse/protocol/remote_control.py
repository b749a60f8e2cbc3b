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
from .codec import CloseCode, ProtocolError

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
