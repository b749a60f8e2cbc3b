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

from sqlalchemy.ext.asyncio import AsyncEngine

from . import accounts, activity, audit, continuity, credentials, governance, migrate
from .engine import create_engine, session_factory
from .records import Agent, ApiToken, AuditEntry, Group, Participant, SessionRecord, VisitorFields

DEMO_GROUP_ID = 1
DEMO_GROUP_NAME = "Demo"
DEMO_USERNAME = "demo"
DEMO_PASSWORD = "demo-password"


class Store:
    """Groups, agents, sessions and participants in any SQLAlchemy database with an async driver."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._sessions = session_factory(engine)

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

    async def set_group_options(
        self,
        group_id: int,
        *,
        by: int | None = None,
        name: str | None = None,
        allowed_origins: Sequence[str] | None = None,
        allow_mixed_roles: bool | None = None,
        max_live_sessions: int | None = None,
        trusted_domains: Sequence[str] | None = None,
    ) -> Group:
        """Change the group options given (None: unchanged; ``max_live_sessions=0``: no limit); audited."""
        return await governance.set_group_options(
            self._sessions,
            group_id,
            by=by,
            name=name,
            allowed_origins=allowed_origins,
            allow_mixed_roles=allow_mixed_roles,
            max_live_sessions=max_live_sessions,
            trusted_domains=trusted_domains,
        )

    async def rotate_sso_secret(self, group_id: int, *, by: int | None = None) -> str:
        """A new secret for the group's signed login keys; returned once, used to verify keys."""
        return await governance.rotate_sso_secret(self._sessions, group_id, by=by)

    async def sso_secret(self, group_id: int) -> str | None:
        return await governance.sso_secret(self._sessions, group_id)

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
        permissions: Sequence[str] | None = None,
    ) -> Agent:
        """A new agent; ``permissions`` None gives the defaults (every permission but ``admin``)."""
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
            permissions=permissions,
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

    async def set_permissions(
        self, agent_id: int, permissions: Sequence[str], *, by: int | None = None
    ) -> Agent:
        """Replace the agent's permissions (``admin`` among them makes it an administrator); audited."""
        return await governance.set_permissions(self._sessions, agent_id, permissions, by=by)

    async def update_agent(
        self,
        agent_id: int,
        *,
        by: int | None = None,
        groups: Sequence[int] | None = None,
        **fields: str | None,
    ) -> Agent:
        """Change name, title, agentrole, partnerid, partneruserid, groups (those given); audited."""
        return await governance.update_agent(self._sessions, agent_id, by=by, groups=groups, **fields)

    async def delete_agent(self, agent_id: int, *, by: int | None = None) -> None:
        await governance.delete_agent(self._sessions, agent_id, by=by)

    async def find_partner_agent(self, group_id: int, partnerid: str, partneruserid: str) -> Agent | None:
        return await credentials.find_partner_agent(self._sessions, group_id, partnerid, partneruserid)

    # --- API tokens and login keys ---

    async def create_token(self, agent_id: int, name: str = "") -> tuple[ApiToken, str]:
        """A new API token: its record and the token itself, which is shown once and stored hashed."""
        return await credentials.create_token(self._sessions, agent_id, name)

    async def agent_for_token(self, token: str) -> Agent | None:
        return await credentials.agent_for_token(self._sessions, token)

    async def list_tokens(self, agent_id: int | None = None) -> list[ApiToken]:
        return await credentials.list_tokens(self._sessions, agent_id)

    async def get_token(self, token_id: int) -> ApiToken | None:
        return await credentials.get_token(self._sessions, token_id)

    async def revoke_token(self, token_id: int, *, by: int | None = None) -> ApiToken:
        return await credentials.revoke_token(self._sessions, token_id, by=by)

    async def use_login_key(self, digest: str, expires_at: datetime) -> bool:
        """Mark a signed login key used until it expires; False if it was already used (a replay)."""
        return await credentials.use_login_key(self._sessions, digest, expires_at)

    # --- audit log ---

    async def audit(
        self,
        action: str,
        *,
        agent_id: int | None = None,
        actor: str | None = None,
        group_id: int | None = None,
        session_id: int | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        await audit.record(
            self._sessions,
            action,
            agent_id=agent_id,
            actor=actor,
            group_id=group_id,
            session_id=session_id,
            details=details,
        )

    async def audit_entries(
        self,
        *,
        group_ids: Sequence[int] | None = None,
        include_ungrouped: bool = False,
        session_id: int | None = None,
        agent_id: int | None = None,
        action: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 100,
    ) -> list[AuditEntry]:
        return await audit.entries(
            self._sessions,
            group_ids=group_ids,
            include_ungrouped=include_ungrouped,
            session_id=session_id,
            agent_id=agent_id,
            action=action,
            since=since,
            until=until,
            limit=limit,
        )

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

    async def save_continuity(self, session_id: int, state: dict[str, Any]) -> bool:
        """What a restarted server needs to continue this live session (store/continuity.py)."""
        return await continuity.save(self._sessions, session_id, state)

    async def open_sessions(self) -> list[tuple[SessionRecord, dict[str, Any]]]:
        """Every session not ended, with its continuity: what a restarted single node continues."""
        return await continuity.open_sessions(self._sessions)

    async def close_agent_participants(self, left_at: datetime, session_id: int | None = None) -> int:
        """Agents of open sessions (or of ``session_id``) are gone (a restart): close their participant rows."""
        return await continuity.close_agent_participants(self._sessions, left_at, session_id)

    async def session_continuity(self, session_id: int) -> tuple[SessionRecord, dict[str, Any]] | None:
        """One open session with its continuity: what a node adopting it from a dead node needs."""
        return await continuity.session_continuity(self._sessions, session_id)

    async def open_session_ids(self) -> list[int]:
        return await continuity.open_session_ids(self._sessions)

    async def count_live_sessions(self, group_id: int) -> int:
        """Open sessions of the group, on every node (its ``max_live_sessions`` limit)."""
        return await continuity.count_live_sessions(self._sessions, group_id)

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

    async def search_sessions(
        self,
        group_ids: Sequence[int],
        *,
        live_only: bool = False,
        key: str | None = None,
        agent_id: int | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 100,
    ) -> list[SessionRecord]:
        """Session history of the groups, newest first, filtered by start time, key and joining agent."""
        return await activity.search_sessions(
            self._sessions,
            group_ids,
            live_only=live_only,
            key=key,
            agent_id=agent_id,
            since=since,
            until=until,
            limit=limit,
        )

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
