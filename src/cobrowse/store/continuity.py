"""Live sessions across a server restart: the state a restarted node needs, and the sessions to continue.

A session's ``continuity`` is a JSON object the session runtime writes whenever it changes (a new recording
epoch, user state, remote control, the page). The store keeps it opaque: its shape belongs to
:meth:`cobrowse.protocol.session.SessionCore.continuity`. At start-up a node reads every session still open
with its continuity and closes the agent participants the old process left open: the agents rejoin as new
participants.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from . import convert, validate
from .accounts import Sessions
from .models import ParticipantRow, SessionRow
from .records import SessionRecord


async def save(sessions: Sessions, session_id: int, state: dict[str, Any]) -> bool:
    """Replace a live session's continuity; False if the session is unknown or has ended."""
    if not validate.is_row_id(session_id):
        return False
    async with sessions.begin() as db:
        result = await db.execute(
            update(SessionRow)
            .where(SessionRow.id == session_id, SessionRow.ended_at.is_(None))
            .values(continuity=state)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0))


async def open_sessions(sessions: Sessions) -> list[tuple[SessionRecord, dict[str, Any]]]:
    """Every session not ended, oldest first, with its continuity (empty if never written)."""
    async with sessions() as db:
        rows = await db.scalars(
            select(SessionRow).where(SessionRow.ended_at.is_(None)).order_by(SessionRow.id)
        )
        return [(convert.session(row), dict(row.continuity or {})) for row in rows]


async def close_agent_participants(sessions: Sessions, left_at: datetime) -> int:
    """Mark every agent still "in" an open session as gone at ``left_at`` (their sockets died with the old
    process); returns how many."""
    validate.aware("left_at", left_at)
    async with sessions.begin() as db:
        live = select(SessionRow.id).where(SessionRow.ended_at.is_(None))
        result = await db.execute(
            update(ParticipantRow)
            .where(
                ParticipantRow.session_id.in_(live),
                ParticipantRow.role == "agent",
                ParticipantRow.left_at.is_(None),
            )
            .values(left_at=left_at)
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0)
