"""What the session state machine asks the world to do. Plain data; the runtime carries them out."""

from __future__ import annotations

from dataclasses import dataclass

from . import messages as m


@dataclass(frozen=True)
class Forward:
    """Send the visitor's page-event frame, byte for byte, to every agent; keep it in the late-join log
    (``log``), starting the log afresh when ``snapshot``."""

    seq: int
    frame: bytes
    snapshot: bool
    log: bool


@dataclass(frozen=True)
class Publish:
    """Send a control message to every agent of the session (unless not ``to_agents``), and to the visitor
    when ``to_visitor``."""

    message: m.Message
    to_visitor: bool
    to_agents: bool = True


@dataclass(frozen=True)
class SendTo:
    """Send a control message to one connection."""

    conn: str
    message: m.Message


@dataclass(frozen=True)
class Close:
    """Close one connection."""

    conn: str
    code: int
    reason: str


@dataclass(frozen=True)
class PersistEnd:
    reason: str


@dataclass(frozen=True)
class PersistAgentJoin:
    conn: str
    agent_id: int | None


@dataclass(frozen=True)
class PersistAgentLeave:
    participant_id: int | None


@dataclass(frozen=True)
class PersistState:
    """Write what a restarted server needs to continue the session (``SessionCore.continuity()``)."""


@dataclass(frozen=True)
class ReleaseKey:
    """The session's key may be used again in its group."""


@dataclass(frozen=True)
class Admission:
    """A waiting guest's connection learns its answer: it takes its seat (``accept``) or closes."""

    conn: str
    accept: bool


Action = (
    Forward
    | Publish
    | SendTo
    | Close
    | PersistEnd
    | PersistAgentJoin
    | PersistAgentLeave
    | PersistState
    | ReleaseKey
    | Admission
)
