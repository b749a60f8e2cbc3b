"""The plain data a session's state machine is made of: its lifecycle state and its agents' seats."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from . import messages as m


class State(enum.Enum):
    STARTING = "starting"  # created, no page uploaded yet
    ACTIVE = "active"  # a snapshot has arrived: agents can watch
    ENDED = "ended"


@dataclass
class Seat:
    """One agent connection in the session."""

    conn: str
    agent_id: int | None
    entry: m.AgentEntry
    participant_id: int | None = None
