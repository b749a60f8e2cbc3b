"""The store's public face: one object per database, async methods, plain records in and out.

The server holds one :class:`Store`; nothing outside ``cobrowse.store`` sees an ORM object, a database session
or a transaction. Every method is one short transaction, so callers never hold a database lock across an
``await`` of their own. User input that the store refuses raises ValueError with a message fit to show.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from types import TracebackType
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from . import accounts, activity, migrate
from .engine import create_engine
from .records import Agent, Group, Participant, SessionRecord, VisitorFields

DEMO_GROUP_ID = 1
DEMO_GROUP_NAME = "Demo"
DEMO_USERNAME = "demo"
DEMO_PASSWORD = "demo-password"


class Store:
    """Groups, agents, sessions and participants in any SQLAlchemy database with an async driver."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._sessions = async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)

    @classmethod
    async def open(cls, url: str) -> Store:
        """Connect to ``url`` (checked by connecting once); ValueError for a URL that cannot work."""
        engine = create_engine(url)
        try:
            async with engine.connect():
                pass
        except BaseException:
            await engine.dispose()
            raise
        return cls(engine)

    async def close(self) -> None:
        await self.engine.dispose()

    async def __aenter__(self) -> Store:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    # --- schema ---

    async def upgrade(self) -> None:
        """Bring the schema up to the newest migration shipped with this package (``upgrade head``)."""
        async with self.engine.begin() as connection:
            await connection.run_sync(migrate.upgrade)

    async def current_revision(self) -> str | None:
        """The migration the database is at; None for a database that was never migrated."""
        async with self.engine.connect() as connection:
            return await connection.run_sync(migrate.current_revision)

    # --- groups ---

    async def create_group(self, name: str, group_id: int | None = None) -> Group:
        """Create a group; without ``group_id`` the next free id (largest + 1) is used."""
        return await accounts.create_group(self._sessions, name, group_id)

    async def get_group(self, group_id: int) -> Group | None:
        return await accounts.get_group(self._sessions, group_id)

    async def list_groups(self) -> list[Group]:
        return await accounts.list_groups(self._sessions)

    async def set_group_settings(self, group_id: int, settings: dict[str, Any]) -> Group:
        """Replace the group's settings (a JSON object)."""
        return await accounts.set_group_settings(self._sessions, group_id, settings)

    # --- agents ---

    async def create_agent(
        self,
        username: str,
        password: str,
        *,
        name: str,
        groups: Sequence[int],
        title: str = "",
        agentrole: str | None = None,
        partnerid: str | None = None,
        partneruserid: str | None = None,
        is_admin: bool = False,
    ) -> Agent:
        return await accounts.create_agent(
            self._sessions,
            username,
            password,
            name=name,
            groups=groups,
            title=title,
            agentrole=agentrole,
            partnerid=partnerid,
            partneruserid=partneruserid,
            is_admin=is_admin,
        )

    async def authenticate(self, username: str, password: str) -> Agent | None:
        """The agent for a right username and password, else None (never an exception for bad input)."""
        return await accounts.authenticate(self._sessions, username, password)

    async def get_agent(self, agent_id: int) -> Agent | None:
        return await accounts.get_agent(self._sessions, agent_id)

    async def get_agent_by_username(self, username: str) -> Agent | None:
        return await accounts.get_agent_by_username(self._sessions, username)

    async def list_agents(self) -> list[Agent]:
        return await accounts.list_agents(self._sessions)

    async def set_password(self, agent_id: int, password: str) -> None:
        await accounts.set_password(self._sessions, agent_id, password)

    # --- sessions and participants ---

    async def create_session(
        self, group_id: int, key: str, random_key: bool, visitor: VisitorFields, started_at: datetime
    ) -> SessionRecord:
        """Record a new session and its visitor participant; the record's ``id`` is the call id."""
        return await activity.create_session(self._sessions, group_id, key, random_key, visitor, started_at)

    async def end_session(self, session_id: int, reason: str, ended_at: datetime) -> bool:
        """End a session and close its open participants; True if this call ended it (the first end wins)."""
        return await activity.end_session(self._sessions, session_id, reason, ended_at)

    async def end_all_live_sessions(self, reason: str, ended_at: datetime) -> int:
        """End every session still open (at start-up of a single node); returns how many were ended."""
        return await activity.end_all_live_sessions(self._sessions, reason, ended_at)

    async def get_session(self, session_id: int) -> SessionRecord | None:
        return await activity.get_session(self._sessions, session_id)

    async def find_live_session(self, group_id: int, key: str) -> SessionRecord | None:
        """The group's live session with ``key``, if any."""
        return await activity.find_live_session(self._sessions, group_id, key)

    async def list_sessions(
        self, group_ids: Sequence[int], live_only: bool = True, limit: int = 100
    ) -> list[SessionRecord]:
        """Sessions of the given groups, newest first."""
        return await activity.list_sessions(self._sessions, group_ids, live_only, limit)

    async def record_agent_join(self, session_id: int, agent_id: int, joined_at: datetime) -> Participant:
        return await activity.record_agent_join(self._sessions, session_id, agent_id, joined_at)

    async def record_agent_leave(self, participant_id: int, left_at: datetime) -> bool:
        """Close an agent's participant row; True if this call closed it (the first leave wins)."""
        return await activity.record_agent_leave(self._sessions, participant_id, left_at)

    async def list_participants(self, session_id: int) -> list[Participant]:
        return await activity.list_participants(self._sessions, session_id)

    # --- demo ---

    async def seed_demo(self) -> tuple[Group, Agent]:
        """Group 1 "Demo" and agent ``demo`` / ``demo-password`` in it; existing ones are kept as they are."""
        group = await self.get_group(DEMO_GROUP_ID)
        if group is None:
            try:
                group = await self.create_group(DEMO_GROUP_NAME, DEMO_GROUP_ID)
            except ValueError:  # created meanwhile by another process
                group = await self.get_group(DEMO_GROUP_ID)
                assert group is not None
        agent = await self.get_agent_by_username(DEMO_USERNAME)
        if agent is None:
            try:
                agent = await self.create_agent(
                    DEMO_USERNAME,
                    DEMO_PASSWORD,
                    name="Demo Agent",
                    title="Support",
                    groups=[DEMO_GROUP_ID],
                    is_admin=True,  # so that the demo can show group settings such as masking
                )
            except ValueError:
                agent = await self.get_agent_by_username(DEMO_USERNAME)
                assert agent is not None
        return group, agent
