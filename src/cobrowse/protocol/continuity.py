"""A live session's state as plain JSON, so that a restarted server continues it (issue 7).

What is kept is what the visitor's next page and the agents' rejoin need: the recording's epoch and sequence
at its last snapshot (a restarted session hands out higher ones, so no console mixes two recordings), the page
the visitor was on, the site's user state (byte for byte) and whether remote control is on. Seats, logs and
queues are not kept: agents rejoin and the visitor's page sends a fresh snapshot.

The store treats this as opaque JSON (``sessions.continuity``); everything read back is checked here, and a
value that does not check is dropped rather than trusted.
"""

from __future__ import annotations

from typing import Any

import msgspec

from . import messages as m
from .rules import clean_page
from .session import SessionCore, State


def continuity_of(core: SessionCore) -> dict[str, Any]:
    """The JSON object to store for ``core``."""
    return {
        "epoch": core.epoch,
        "seq": core.seq,
        "page": None if core.page is None else {"url": core.page.url, "title": core.page.title},
        "userstate": {name: bytes(raw).decode() for name, raw in core.userstate.items()},
        "rc": core.rc.enabled,
    }


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def _userstate(value: object) -> dict[str, msgspec.Raw]:
    out: dict[str, msgspec.Raw] = {}
    if not isinstance(value, dict):
        return out
    for name, text in list(value.items())[: m.MAX_USER_STATES]:
        if not (isinstance(name, str) and 1 <= len(name) <= m.MAX_NAME and isinstance(text, str)):
            continue
        try:
            msgspec.json.decode(text)  # still JSON: it goes to pages as it is
        except msgspec.DecodeError:
            continue
        if len(text.encode()) <= m.MAX_MESSAGE_DATA:
            out[name] = msgspec.Raw(text.encode())
    return out


def restore(core: SessionCore, state: dict[str, Any], now: float) -> SessionCore:
    """Put ``state`` back into a fresh ``core`` of the same session; its visitor has ``core.grace`` seconds
    from ``now`` to come back (as after a page unload), else the session ends with ``timeout``."""
    core.epoch = _int(state.get("epoch"))
    core.seq = _int(state.get("seq"))
    page = state.get("page")
    if isinstance(page, dict) and isinstance(page.get("url"), str) and isinstance(page.get("title"), str):
        core.page = clean_page(m.PageInfo(url=page["url"], title=page["title"]))
    core.userstate = _userstate(state.get("userstate"))
    core.rc = m.RcState(enabled=state.get("rc") is True)
    core.state = State.ACTIVE if core.epoch > 0 else State.STARTING
    core.visitor_conn = None
    core.visitor_deadline = now + core.grace
    core.log_complete = False  # the log died with the old process: the next snapshot starts it again
    return core


def resume_from_log(core: SessionCore, entries: list[tuple[int, bytes]]) -> bool:
    """After a node died, its session's log survives in a shared broker: continue from it rather than from
    the continuity last written (which may lag a snapshot or a few frames). ``entries`` is the log as
    :meth:`~cobrowse.broker.Broker.log_read` returns it: a snapshot frame and the frames after it.

    Returns True if the log was usable (the core then continues at its last frame with a complete log, so
    agents joining are served from it and the visitor's page resends only what came after); False leaves the
    core as :func:`restore` made it (a fresh snapshot will be asked for)."""
    if not entries:
        return False
    try:
        first = msgspec.json.decode(entries[0][1], type=m.Events)
    except msgspec.DecodeError:
        return False
    seqs = [seq for seq, _ in entries]
    if not first.snapshot or first.seq != seqs[0] or seqs != list(range(seqs[0], seqs[0] + len(seqs))):
        return False
    if first.epoch < core.epoch or (first.epoch == core.epoch and seqs[-1] < core.seq):
        return False  # older than what the store knows: not this recording's log
    core.epoch = first.epoch
    core.seq = seqs[-1]
    core.log_bytes = sum(len(frame) for _, frame in entries)
    core.snapshot_bytes = len(entries[0][1])
    core.since_snapshot_bytes = core.log_bytes - core.snapshot_bytes
    core.log_complete = True
    core.state = State.ACTIVE
    return True
