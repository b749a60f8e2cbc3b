"""REST API ``/api/v1/agents``: agent accounts, managed by administrators of the agents' groups.

An administrator sees and changes agents who share a group with it, and gives agents only groups it belongs
to itself (so an administrator of one customer group cannot reach into another). Every change is audited.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Response
from pydantic import BaseModel, Field

from ..permissions import PERMISSIONS, Action
from ..store import Store
from ..store.records import Agent
from .v1 import AgentDep, AgentOut, StoreDep, agent_out, csrf_guard, permit

router = APIRouter(prefix="/api/v1/agents", tags=["agents"], dependencies=[Depends(csrf_guard)])


class AgentCreate(BaseModel):
    username: str
    password: str = Field(description="at least 8 characters")
    name: str = ""
    title: str = ""
    groups: list[int]
    agentrole: str | None = None
    partnerid: str | None = None
    partneruserid: str | None = None
    permissions: list[str] | None = Field(
        None, description=f"any of {', '.join(PERMISSIONS)}; default: all but admin"
    )


class AgentUpdate(BaseModel):
    name: str | None = None
    title: str | None = None
    agentrole: str | None = None
    partnerid: str | None = None
    partneruserid: str | None = None
    groups: list[int] | None = None
    permissions: list[str] | None = None


def _admin(agent: Agent) -> Agent:
    permit(agent, Action.MANAGE)
    return agent


def _check_groups(admin: Agent, groups: list[int]) -> None:
    foreign = sorted(set(groups) - set(admin.group_ids))
    if foreign:
        raise HTTPException(403, f"you may only give agents your own groups, not {foreign}")


async def _target(admin: Agent, store: Store, agent_id: int) -> Agent:
    target = await store.get_agent(agent_id)
    if target is None or not set(target.group_ids) & set(admin.group_ids):
        raise HTTPException(404, f"no agent {agent_id} in your groups")
    return target


def _bad(exc: ValueError) -> HTTPException:
    return HTTPException(422, str(exc))


@router.get("", summary="Agents of your groups (administrators)")
async def list_agents(agent: AgentDep, store: StoreDep) -> list[AgentOut]:
    _admin(agent)
    mine = set(agent.group_ids)
    return [agent_out(a) for a in await store.list_agents() if set(a.group_ids) & mine]


@router.post("", status_code=201, summary="Create an agent (administrators)")
async def create_agent(body: AgentCreate, agent: AgentDep, store: StoreDep) -> AgentOut:
    _admin(agent)
    _check_groups(agent, body.groups)
    try:
        created = await store.create_agent(
            body.username,
            body.password,
            name=body.name or body.username,
            groups=body.groups,
            title=body.title,
            agentrole=body.agentrole,
            partnerid=body.partnerid,
            partneruserid=body.partneruserid,
            permissions=body.permissions,
        )
    except ValueError as exc:
        raise _bad(exc) from None
    await store.audit(
        "agent.create",
        agent_id=agent.id,
        group_id=created.group_ids[0],
        details={"agent": created.username, "permissions": list(created.permissions)},
    )
    return agent_out(created)


@router.get("/{agent_id}", summary="One agent (administrators)")
async def get_agent(agent_id: int, agent: AgentDep, store: StoreDep) -> AgentOut:
    _admin(agent)
    return agent_out(await _target(agent, store, agent_id))


@router.patch("/{agent_id}", summary="Change an agent's details, groups or permissions (administrators)")
async def update_agent(agent_id: int, body: AgentUpdate, agent: AgentDep, store: StoreDep) -> AgentOut:
    _admin(agent)
    target = await _target(agent, store, agent_id)
    if body.groups is not None:
        # groups outside the admin's reach stay as they are; the admin chooses among its own
        _check_groups(agent, body.groups)
        kept = [g for g in target.group_ids if g not in agent.group_ids]
        groups: list[int] | None = sorted(set(kept) | set(body.groups))
    else:
        groups = None
    fields = body.model_dump(exclude_unset=True, exclude={"groups", "permissions"})
    try:
        updated = await store.update_agent(agent_id, by=agent.id, groups=groups, **fields)
        if body.permissions is not None:
            if agent_id == agent.id and "admin" not in body.permissions:
                raise HTTPException(409, "you cannot take your own admin permission")
            updated = await store.set_permissions(agent_id, body.permissions, by=agent.id)
    except ValueError as exc:
        raise _bad(exc) from None
    return agent_out(updated)


@router.delete("/{agent_id}", status_code=204, summary="Delete an agent (administrators)")
async def delete_agent(agent_id: int, agent: AgentDep, store: StoreDep) -> Response:
    _admin(agent)
    target = await _target(agent, store, agent_id)
    if set(target.group_ids) - set(agent.group_ids):
        raise HTTPException(403, f"agent {agent_id} also works in groups you do not administer")
    if agent_id == agent.id:
        raise HTTPException(409, "you cannot delete yourself")
    await store.delete_agent(agent_id, by=agent.id)
    return Response(status_code=204)
