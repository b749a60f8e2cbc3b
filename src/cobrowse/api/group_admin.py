"""REST API: a group's settings, its SSO secret, its live sessions, and the audit log.

Settings and the audit log are for administrators of the group; the live sessions for its agents with the
``view`` permission. A settings change applies to visitor connections from their next start or page load.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel, Field

from ..permissions import Action
from ..store.records import AuditEntry, Group
from .v1 import AgentDep, RuntimeDep, SessionOut, StoreDep, csrf_guard, permit, session_out

router = APIRouter(prefix="/api/v1", tags=["administration"], dependencies=[Depends(csrf_guard)])


class GroupSettings(BaseModel):
    id: int
    name: str
    allowed_origins: list[str] = Field(
        description="origins whose pages may start sessions (https://shop.example, https://*.shop.example); "
        "empty: any origin"
    )
    allow_mixed_roles: bool = Field(description="whether agents of different roles may share a session")
    max_live_sessions: int | None = Field(description="most live sessions at once; null: no limit")
    trusted_domains: list[str] = Field(
        description="origins a session may continue on (cross-domain); empty: none"
    )
    sso_enabled: bool = Field(description="whether the group has a secret for signed login keys")


class GroupSettingsUpdate(BaseModel):
    name: str | None = None
    allowed_origins: list[str] | None = None
    allow_mixed_roles: bool | None = None
    max_live_sessions: int | None = Field(None, description="0 removes the limit")
    trusted_domains: list[str] | None = None


class SsoSecret(BaseModel):
    group: int
    secret: str = Field(description="shown once; sign login keys with it (docs/sso.md)")


class AuditOut(BaseModel):
    id: int
    at: datetime
    agent_id: int | None
    actor: str
    action: str
    group: int | None
    session: int | None
    details: dict[str, object]


def _settings(group: Group) -> GroupSettings:
    return GroupSettings(
        id=group.id,
        name=group.name,
        allowed_origins=list(group.allowed_origins),
        allow_mixed_roles=group.allow_mixed_roles,
        max_live_sessions=group.max_live_sessions,
        trusted_domains=list(group.trusted_domains),
        sso_enabled=group.sso_enabled,
    )


def _audit_out(entry: AuditEntry) -> AuditOut:
    return AuditOut(
        id=entry.id,
        at=entry.at,
        agent_id=entry.agent_id,
        actor=entry.actor,
        action=entry.action,
        group=entry.group_id,
        session=entry.session_id,
        details=entry.details,
    )


@router.get("/groups/{group_id}/settings", summary="A group's settings (administrators)")
async def get_settings(group_id: int, agent: AgentDep, store: StoreDep) -> GroupSettings:
    permit(agent, Action.MANAGE, group_id)
    group = await store.get_group(group_id)
    if group is None:
        raise HTTPException(404, f"no group {group_id}")
    return _settings(group)


@router.patch("/groups/{group_id}/settings", summary="Change a group's settings (administrators)")
async def patch_settings(
    group_id: int, body: GroupSettingsUpdate, agent: AgentDep, store: StoreDep
) -> GroupSettings:
    permit(agent, Action.MANAGE, group_id)
    try:
        group = await store.set_group_options(group_id, by=agent.id, **body.model_dump(exclude_unset=True))
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    return _settings(group)


@router.post(
    "/groups/{group_id}/sso-secret", summary="New secret for the group's login keys (administrators)"
)
async def rotate_sso_secret(group_id: int, agent: AgentDep, store: StoreDep) -> SsoSecret:
    permit(agent, Action.MANAGE, group_id)
    return SsoSecret(group=group_id, secret=await store.rotate_sso_secret(group_id, by=agent.id))


@router.get("/groups/{group_id}/sessions", summary="The group's live sessions (on every node of a cluster)")
async def live_sessions(
    group_id: int, agent: AgentDep, store: StoreDep, runtime: RuntimeDep
) -> list[SessionOut]:
    permit(agent, Action.WATCH, group_id)
    records = await store.search_sessions([group_id], live_only=True, limit=500)
    return [out for out in (session_out(r, runtime) for r in records) if out.live]


@router.get("/audit", summary="The audit log of your groups, newest first (administrators)")
async def audit_log(
    agent: AgentDep,
    store: StoreDep,
    group: Annotated[int | None, Query(description="only this group")] = None,
    session: Annotated[int | None, Query(description="only this session")] = None,
    agent_id: Annotated[int | None, Query(alias="agent", description="only what this agent (id) did")] = None,
    action: Annotated[str | None, Query(description="e.g. session.join, agent.permissions")] = None,
    since: Annotated[datetime | None, Query(alias="from")] = None,
    until: Annotated[datetime | None, Query(alias="to")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[AuditOut]:
    permit(agent, Action.MANAGE, group)
    for name, value in (("from", since), ("to", until)):
        if value is not None and value.tzinfo is None:
            raise HTTPException(422, f"'{name}' needs a timezone, e.g. 2026-01-02T03:04:05Z")
    entries = await store.audit_entries(
        group_ids=[group] if group is not None else list(agent.group_ids),
        session_id=session,
        agent_id=agent_id,
        action=action,
        since=since,
        until=until,
        limit=limit,
    )
    return [_audit_out(e) for e in entries]
