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

from sqlalchemy import func, select, update

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


async def session_continuity(
    sessions: Sessions, session_id: int
) -> tuple[SessionRecord, dict[str, Any]] | None:
    """One open session with its continuity (a node adopting it from a dead node); None if ended or unknown."""
    if not validate.is_row_id(session_id):
        return None
    async with sessions() as db:
        row = await db.get(SessionRow, session_id)
        if row is None or row.ended_at is not None:
            return None
        return convert.session(row), dict(row.continuity or {})


async def open_session_ids(sessions: Sessions) -> list[int]:
    async with sessions() as db:
        return list(await db.scalars(select(SessionRow.id).where(SessionRow.ended_at.is_(None))))


async def count_live_sessions(sessions: Sessions, group_id: int) -> int:
    async with sessions() as db:
        count = await db.scalar(
            select(func.count())
            .select_from(SessionRow)
            .where(SessionRow.group_id == group_id, SessionRow.ended_at.is_(None))
        )
        return int(count or 0)


async def close_agent_participants(
    sessions: Sessions, left_at: datetime, session_id: int | None = None
) -> int:
    """Mark every agent still "in" an open session (or in ``session_id`` only) as gone at ``left_at``
    (their sockets died with the old process); returns how many."""
    validate.aware("left_at", left_at)
    async with sessions.begin() as db:
        live = select(SessionRow.id).where(SessionRow.ended_at.is_(None))
        if session_id is not None:
            live = live.where(SessionRow.id == session_id)
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
