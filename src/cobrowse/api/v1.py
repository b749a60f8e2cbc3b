"""REST API ``/api/v1``: sessions and the caller's identity, for the console and partner systems.

Authenticated by an API token (``Authorization: Bearer ...``) or the console login cookie; with the cookie,
a request that changes state must come from the server's own origin (``csrf_guard``, on every router).
Every action is checked by :mod:`cobrowse.permissions`. Every route returns JSON; errors are
``{"detail": "..."}`` with a 4xx status that says what was refused and why.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from pydantic import BaseModel

from ..auth import csrf_safe, current_agent
from ..permissions import Action, check
from ..sessions.runtime import SessionRuntime
from ..store import Store
from ..store.records import Agent, SessionRecord
from .at_home import answered_at_home


async def csrf_guard(request: Request) -> None:
    """Refuse a state-changing request from another site riding the console cookie."""
    if not csrf_safe(request, request.method):
        raise HTTPException(403, "cross-site request refused: send it from the console or with an API token")


router = APIRouter(prefix="/api/v1", dependencies=[Depends(csrf_guard)])


class Health(BaseModel):
    status: str
    live_sessions: int


class AgentOut(BaseModel):
    id: int
    username: str
    name: str
    title: str
    agentrole: str | None
    groups: list[int]
    partnerid: str | None = None
    partneruserid: str | None = None
    permissions: list[str] = []


class VisitorOut(BaseModel):
    name: str | None
    email: str | None
    phone: str | None
    visitorid: str | None


class ParticipantOut(BaseModel):
    role: str
    agent_id: int | None
    name: str | None
    joined_at: datetime
    left_at: datetime | None


class SessionOut(BaseModel):
    id: int
    group: int
    key: str
    random_key: bool
    started_at: datetime
    ended_at: datetime | None
    end_reason: str | None
    live: bool
    visitor: VisitorOut
    participants: list[ParticipantOut] | None = None
    #: The visitor's current page (live sessions on this node only).
    page_url: str | None = None
    page_title: str | None = None


async def require_agent(request: Request) -> Agent:
    agent = await current_agent(request)
    if agent is None:
        raise HTTPException(401, "log in to the agent console first, or send a valid API token")
    return agent


def permit(agent: Agent, action: Action, group_id: int | None = None) -> None:
    """Raise the HTTP error of :func:`cobrowse.permissions.check` if ``agent`` may not do ``action``."""
    refusal = check(agent, action, group_id)
    if refusal is not None:
        raise HTTPException(refusal.status, refusal.msg)


def agent_out(agent: Agent) -> AgentOut:
    return AgentOut(
        id=agent.id,
        username=agent.username,
        name=agent.name,
        title=agent.title,
        agentrole=agent.agentrole,
        groups=list(agent.group_ids),
        partnerid=agent.partnerid,
        partneruserid=agent.partneruserid,
        permissions=list(agent.permissions),
    )


def store_of(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


def runtime_of(request: Request) -> SessionRuntime:
    runtime: SessionRuntime = request.app.state.runtime
    return runtime


AgentDep = Annotated[Agent, Depends(require_agent)]
StoreDep = Annotated[Store, Depends(store_of)]
RuntimeDep = Annotated[SessionRuntime, Depends(runtime_of)]


def session_out(record: SessionRecord, runtime: SessionRuntime) -> SessionOut:
    v = record.visitor
    core = runtime.get(record.id)
    # on a cluster the session may run on another node: the store says whether it is live
    live = core is not None or (runtime.cluster.multi and record.ended_at is None)
    page = core.page if core is not None else None
    return SessionOut(
        page_url=page.url if page else None,
        page_title=page.title if page else None,
        id=record.id,
        group=record.group_id,
        key=record.key,
        random_key=record.random_key,
        started_at=record.started_at,
        ended_at=record.ended_at,
        end_reason=record.end_reason,
        live=live,
        visitor=VisitorOut(name=v.name, email=v.email, phone=v.phone, visitorid=v.visitorid),
    )


@router.get("/health", summary="Liveness of this server node")
async def health(runtime: RuntimeDep) -> Health:
    return Health(status="ok", live_sessions=len(runtime.live_sessions()))


@router.get("/me", summary="The logged-in agent")
async def me(agent: AgentDep) -> AgentOut:
    return agent_out(agent)


@router.get("/sessions", summary="Sessions of the agent's groups, newest first (history with filters)")
async def list_sessions(
    agent: AgentDep,
    store: StoreDep,
    runtime: RuntimeDep,
    live: Annotated[bool, Query(description="only sessions that have not ended")] = True,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    group: Annotated[int | None, Query(description="only this group (one of yours)")] = None,
    key: Annotated[str | None, Query(description="only sessions with this key")] = None,
    agent_username: Annotated[
        str | None, Query(alias="agent", description="only sessions this agent (username) joined")
    ] = None,
    since: Annotated[
        datetime | None, Query(alias="from", description="started at or after (ISO 8601)")
    ] = None,
    until: Annotated[datetime | None, Query(alias="to", description="started before (ISO 8601)")] = None,
) -> list[SessionOut]:
    permit(agent, Action.WATCH, group)
    for name, value in (("from", since), ("to", until)):
        if value is not None and value.tzinfo is None:
            raise HTTPException(422, f"'{name}' needs a timezone, e.g. 2026-01-02T03:04:05Z")
    agent_id = None
    if agent_username is not None:
        joined_by = await store.get_agent_by_username(agent_username)
        if joined_by is None:
            return []
        agent_id = joined_by.id
    records = await store.search_sessions(
        [group] if group is not None else list(agent.group_ids),
        live_only=live,
        key=key,
        agent_id=agent_id,
        since=since,
        until=until,
        limit=limit,
    )
    return [session_out(r, runtime) for r in records]


async def _session_for(
    agent: Agent, store: Store, session_id: int, action: Action = Action.WATCH
) -> SessionRecord:
    record = await store.get_session(session_id)
    if record is None or record.group_id not in agent.group_ids:
        raise HTTPException(404, f"no session {session_id} in your groups")
    permit(agent, action, record.group_id)
    return record


@router.get("/sessions/{session_id}", summary="One session with its participants")
async def get_session(session_id: int, agent: AgentDep, store: StoreDep, runtime: RuntimeDep) -> SessionOut:
    record = await _session_for(agent, store, session_id)
    out = session_out(record, runtime)
    out.participants = [
        ParticipantOut(
            role=p.role, agent_id=p.agent_id, name=p.name, joined_at=p.joined_at, left_at=p.left_at
        )
        for p in await store.list_participants(session_id)
    ]
    return out


@router.post("/sessions/{session_id}/end", status_code=204, summary="End a live session (reason: agent)")
async def end_session(
    session_id: int, request: Request, agent: AgentDep, store: StoreDep, runtime: RuntimeDep
) -> Response:
    if not csrf_safe(request, request.method):
        raise HTTPException(403, "cross-site request refused")
    record = await _session_for(agent, store, session_id, Action.END)
    if (answer := await answered_at_home(request, runtime, session_id)) is not None:
        return answer
    core = runtime.get(session_id)
    if core is None:
        raise HTTPException(409, f"session {session_id} is not live")
    await store.audit(
        "session.end.request", agent_id=agent.id, group_id=record.group_id, session_id=session_id
    )
    await runtime.end(core, "agent")
    return Response(status_code=204)


def _site_url(request: Request, runtime: SessionRuntime) -> str:
    """Where browsers reach this service: the configured public URL, else the host the caller used (on a
    cluster, the entry node's, passed on by it)."""
    if runtime.config.public_url:
        return runtime.config.public_url.rstrip("/")
    host = request.headers.get("x-forwarded-host") if runtime.cluster.tunnelled(request.headers) else None
    return f"{request.url.scheme}://{host}" if host else str(request.base_url).rstrip("/")


class GuestInvitationOut(BaseModel):
    url: str
    expires_at: datetime


@router.post(
    "/sessions/{session_id}/guests",
    status_code=201,
    summary="Invite a guest: a single-use link into a live session, valid 15 minutes",
)
async def invite_guest(
    session_id: int, request: Request, agent: AgentDep, store: StoreDep, runtime: RuntimeDep
) -> GuestInvitationOut:
    record = await _session_for(agent, store, session_id, Action.INVITE)
    if (answer := await answered_at_home(request, runtime, session_id)) is not None:
        return answer  # type: ignore[return-value]  # the home's GuestInvitationOut, as JSON
    if runtime.get(session_id) is None:
        raise HTTPException(409, f"session {session_id} is not live")
    try:
        token, invitation = runtime.invitations.create(session_id, agent.id)
    except OverflowError as exc:
        raise HTTPException(429, str(exc)) from None
    await store.audit("guest.invite", agent_id=agent.id, group_id=record.group_id, session_id=session_id)
    return GuestInvitationOut(
        url=_site_url(request, runtime) + f"/guest/{token}",
        expires_at=datetime.fromtimestamp(invitation.expires_at, UTC),
    )
