"""Persistent state: groups, agents, sessions and participants (SQLAlchemy 2 async, Alembic migrations).

Use :class:`Store`; it hands out the plain records of :mod:`cobrowse.store.records`. Page content is never
stored here.
"""

from .records import Agent, ApiToken, AuditEntry, Group, Participant, SessionRecord, VisitorFields
from .store import Store

__all__ = [
    "Agent",
    "ApiToken",
    "AuditEntry",
    "Group",
    "Participant",
    "SessionRecord",
    "Store",
    "VisitorFields",
]
