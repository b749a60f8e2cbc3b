"""``/ws/agent``: an agent console watching one session. Authenticated by the console login cookie.

Joining needs the ``view`` permission in the session's group and passes the group's role policy
(:func:`cobrowse.permissions.role_refusal`: ``accessdenied``, close 4403); ending and session messages are
checked again, each time, against the agent's permissions as they are then.

``/ws/guest`` is the same socket for an invited guest (no login): its hello ``guestjoin`` spends the
invitation (:mod:`.guests`), the session's agents are asked, and once one with ``invite_guests`` admits it
the guest is served exactly like an agent; it may only watch (:func:`cobrowse.permissions.check_guest`).

The agent gets ``joined``, then the late-join log (last snapshot and what followed) from the broker, then
the live channel. It listens to the channel before reading the log and skips events it already has by
sequence number, so nothing falls between the two (:class:`AgentStream`). A slow agent is resynchronised
from the log instead of slowing anyone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from starlette.websockets import WebSocket, WebSocketDisconnect

from ..auth import current_agent, same_origin
from ..broker import Kind, Listening
from ..ops import logs
from ..permissions import Action, check, check_guest, role_refusal
from ..protocol import messages as m
from ..protocol.codec import CloseCode, ProtocolError, decode_agent, encode
from ..protocol.session import SessionCore, State
from ..store.records import Agent
from .cross_domain import session_of_token
from .outbox import Outbox
from .runtime import SessionRuntime, agents_channel
from .socket_io import receive_frame, receive_hello, refuse
from .tunnel import carried_home

log = logging.getLogger("cobrowse.agent")


class AgentStream:
    """What one agent socket has been sent, so that the live channel and a resync never overlap.

    It is the agent's :class:`~cobrowse.broker.Listener`: the broker hands it each message of the session's
    agents channel as it is published, and it queues the frame in the agent's outbox in the publisher's
    own call (no queue or task in between). It listens before the first :meth:`resync` (the log read after
    ``joined``): until then it keeps the control messages and drops the events, which the log holds (the
    runtime logs an events frame before publishing it); while a resync waits for the log it keeps
    everything, and afterwards skips by sequence number the events the log had.

    Overflow: when the outbox refuses an events frame, the backlog is dropped and the agent is *behind*:
    live events are not queued (the log has them) until the writer has handed everything else to the
    socket; then it resynchronises once from the log. An agent that stopped reading costs nothing per frame
    meanwhile, and its queue never holds more than ``limit`` live frames besides one log replay.
    """

    def __init__(self, runtime: SessionRuntime, core: SessionCore, outbox: Outbox) -> None:
        self.runtime = runtime
        self.core = core
        self.outbox = outbox
        self.last_seq = 0
        self.behind = False
        #: Deliveries kept until the log has been read (None: deliver at once).
        self._held: list[tuple[Kind, int, bytes]] | None = []
        self._reading = False

    def deliver(self, kind: Kind, seq: int, frame: bytes) -> None:
        if self._held is not None:
            if self._reading or kind is not Kind.EVENTS:
                self._held.append((kind, seq, frame))
            return
        if kind is Kind.EVENTS:
            if seq <= self.last_seq or self.behind:
                return  # already sent from the log, or the resync to come sends it
            if self.outbox.send(frame):
                self.last_seq = seq
            else:
                self.overflowed()
            return
        if not self.outbox.send(frame):
            self.overflowed()  # drops the backlog of events: room for a message the log cannot repeat
            self.outbox.send(frame)
        if frame.startswith(b'{"t":"ended"'):
            self.outbox.close(CloseCode.NORMAL, "session ended")

    def overflowed(self) -> None:
        """Too far behind: drop the backlog and resynchronise from the log once the socket takes more."""
        if self.behind or self.outbox.closing:
            return
        self.behind = True
        self.outbox.replace([])
        self.outbox.when_drained(self._catch_up)

    async def _catch_up(self) -> None:
        if self.behind:  # unless a resync the console asked for came first
            await self.resync()

    async def resync(self, first: bytes | None = None) -> None:
        """Replace whatever is queued with the log: the last snapshot and every frame after it
        (after ``first``, the ``joined`` message when the agent has just joined)."""
        if self._held is None:
            self._held = []
        self._reading = True
        try:
            if not self.core.log_complete:
                # the log lost frames past its bound: sending it would only show a gap; the fresh snapshot the
                # core asks for below brings this agent up to date (the console waits for a snapshot frame)
                self.outbox.replace([first] if first else [])
                self.last_seq = self.core.seq
            else:
                entries = await self.runtime.broker.log_read(self.core.session_id)
                self.outbox.replace(([first] if first else []) + [frame for _, frame in entries])
                self.last_seq = entries[-1][0] if entries else self.last_seq
        finally:
            held, self._held, self._reading = self._held or [], None, False
            self.behind = False
        for message in held:
            self.deliver(*message)
        await self.runtime.run(self.core, self.core.resync_needed())


def _permit(agent: Agent | None, action: Action, group_id: int | None) -> Agent:
    refusal = check(agent, action, group_id)
    if refusal is not None or agent is None:
        code = CloseCode.UNAUTHENTICATED if agent is None else CloseCode.FORBIDDEN
        raise ProtocolError(
            code, refusal.code if refusal else "unauthenticated", refusal.msg if refusal else ""
        )
    return agent


async def _permit_now(runtime: SessionRuntime, agent: Agent, action: Action, group_id: int) -> Agent:
    """Check ``action`` against the agent's permissions as they are now (they may change mid-session)."""
    return _permit(await runtime.store.get_agent(agent.id), action, group_id)


async def _live_session_id(runtime: SessionRuntime, group_ids: tuple[int, ...], key: str) -> int | None:
    """The live session with ``key`` in one of the groups, wherever it runs (the store knows every node's)."""
    for group_id in group_ids:
        record = await runtime.store.find_live_session(group_id, key)
        if record is not None:
            return record.id
    return None


def entry_for(agent: Agent) -> m.AgentEntry:
    return m.AgentEntry(
        name=agent.name,
        role="agent",
        num=0,
        username=agent.username,
        title=agent.title,
        agentrole=agent.agentrole,
        partnerid=agent.partnerid,
        partneruserid=agent.partneruserid,
    )


async def agent_endpoint(ws: WebSocket) -> None:
    """``/ws/agent``: a logged-in agent's console."""
    await _endpoint(ws, guest=False)


async def guest_endpoint(ws: WebSocket) -> None:
    """``/ws/guest``: a guest with an invitation (no login); it watches once an agent admits it."""
    await _endpoint(ws, guest=True)


async def _wait_for_answer(ws: WebSocket, waiter: asyncio.Future[bool]) -> bool:
    """The agents' answer for a waiting guest; a message from the guest meanwhile is refused, and a
    closed socket ends the wait (WebSocketDisconnect)."""
    receiving: asyncio.Future[object] = asyncio.ensure_future(receive_frame(ws))
    either: set[asyncio.Future[object]] = {receiving, waiter}  # type: ignore[arg-type]
    try:
        done, _ = await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
        if waiter in done:
            return waiter.result()
        receiving.result()  # raises WebSocketDisconnect if it closed
        raise ProtocolError(CloseCode.MALFORMED, "malformed", "wait for an agent to admit you")
    finally:
        receiving.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await receiving


async def _guest_seat(
    ws: WebSocket, runtime: SessionRuntime, outbox: Outbox, hello: m.GuestJoin
) -> tuple[SessionCore, m.AgentEntry] | None:
    """Spend the invitation, ask the session's agents, and wait for their answer (None: declined, and
    the guest has been told)."""
    invitation = runtime.invitations.spend(hello.token)
    core = await runtime.local(invitation.session_id)
    if core is None:
        raise ProtocolError(CloseCode.ENDED, "ended", "the session of this guest link has ended")
    runtime.register(outbox)
    outbox.start()
    waiter: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
    runtime.admissions[outbox.id] = waiter
    try:
        guestid, actions = core.guest_waiting(outbox.id, hello.name)
        await runtime.store.audit(
            "guest.request",
            group_id=core.group_id,
            session_id=core.session_id,
            details={"guestid": guestid, "name": hello.name.strip(), "invited_by": invitation.agent_id},
        )
        await runtime.run(core, actions)
        try:
            accepted = await _wait_for_answer(ws, waiter)
        finally:
            await runtime.run(core, core.guest_gone(outbox.id))
    finally:
        runtime.admissions.pop(outbox.id, None)
    if not accepted and core.state is State.ENDED:
        raise ProtocolError(CloseCode.ENDED, "ended", "the session ended before an agent admitted you")
    if not accepted:
        outbox.send(encode(m.AddGuestDeclined(guestid=guestid)))
        outbox.close(CloseCode.FORBIDDEN, "declined")
        await outbox.done.wait()
        return None
    outbox.send(encode(m.AddGuestAccepted(guestid=guestid)))
    return core, core.guest_entry(guestid, hello.name.strip())


async def _endpoint(ws: WebSocket, guest: bool) -> None:  # noqa: C901 - the socket's whole life
    runtime: SessionRuntime = ws.app.state.runtime
    await ws.accept()
    outbox = Outbox(ws, runtime.config.agent_queue_frames)
    core: SessionCore | None = None
    listening: Listening | None = None
    agent: Agent | None = None
    try:
        if not same_origin(ws):  # cross-site WebSocket hijacking: another site riding the agent's cookie
            raise ProtocolError(
                CloseCode.FORBIDDEN, "forbidden", "agent sockets are only accepted from the console"
            )
        if guest:
            first = await receive_hello(ws)
            hello = decode_agent(first)
            if not isinstance(hello, m.GuestJoin):
                raise ProtocolError(CloseCode.MALFORMED, "malformed", "the first message must be guestjoin")
            home = session_of_token(hello.token)
            if home is not None and await carried_home(
                ws, runtime.cluster, home, first, runtime.config.max_message_bytes
            ):
                return
            seat = await _guest_seat(ws, runtime, outbox, hello)
            if seat is None:
                return
            core, entry = seat
            logs.bind(session=core.session_id, conn=outbox.id)
            stream = AgentStream(runtime, core, outbox)
            listening = await runtime.broker.listen(
                agents_channel(core.session_id), stream, runtime.config.agent_queue_frames
            )
            await runtime.run(core, core.agent_joined(outbox.id, None, entry))
            await runtime.store.audit(
                "guest.join",
                group_id=core.group_id,
                session_id=core.session_id,
                details={"guestid": entry.guestid, "name": entry.name},
            )
            await _serve(ws, stream, None)
            return
        agent = await current_agent(ws)
        if agent is None:
            raise ProtocolError(
                CloseCode.UNAUTHENTICATED, "unauthenticated", "log in to the agent console first"
            )
        first = await receive_hello(ws)
        join = decode_agent(first)
        if not isinstance(join, m.Join):
            raise ProtocolError(CloseCode.MALFORMED, "malformed", "the first message must be join")
        if join.group is not None and join.group not in agent.group_ids:
            raise ProtocolError(
                CloseCode.FORBIDDEN, "forbidden", f"you are not an agent of group {join.group}"
            )
        _permit(agent, Action.JOIN, join.group)
        groups = agent.group_ids if join.group is None else (join.group,)
        core = runtime.find(groups, join.key)
        if core is None and runtime.cluster.multi:
            session_id = await _live_session_id(runtime, groups, join.key)
            if session_id is not None:
                if await carried_home(
                    ws, runtime.cluster, session_id, first, runtime.config.max_message_bytes
                ):
                    return
                core = await runtime.local(session_id)
        if core is None:
            raise ProtocolError(CloseCode.NOT_FOUND, "notfound", f"no live session with key {join.key!r}")
        group = await runtime.store.get_group(core.group_id)
        logs.bind(session=core.session_id, conn=outbox.id)
        stream = AgentStream(runtime, core, outbox)
        listening = await runtime.broker.listen(
            agents_channel(core.session_id), stream, runtime.config.agent_queue_frames
        )
        # the role check and the seat are taken with no await between them: no one sits down meanwhile
        seated = [seat.entry.agentrole for seat in core.seats.values() if seat.entry.role == "agent"]
        refusal = role_refusal(agent.agentrole, seated, group.allow_mixed_roles if group else False)
        if refusal is not None:
            await runtime.store.audit(
                "session.join.refused",
                agent_id=agent.id,
                group_id=core.group_id,
                session_id=core.session_id,
                details={"reason": refusal.msg},
            )
            raise ProtocolError(CloseCode.FORBIDDEN, refusal.code, refusal.msg)
        runtime.register(outbox)
        await runtime.run(core, core.agent_joined(outbox.id, agent.id, entry_for(agent)))
        outbox.start()
        await _serve(ws, stream, agent)
    except ProtocolError as exc:
        await outbox.stop()
        await refuse(ws, exc)
    except WebSocketDisconnect:
        pass
    except Exception as exc:
        log.exception("agent socket failed")
        await outbox.stop()
        await refuse(
            ws, ProtocolError(CloseCode.SERVICE, "service", f"server error: {exc.__class__.__name__}")
        )
    finally:
        await outbox.stop()
        runtime.unregister(outbox)
        if listening is not None:
            await listening.close()
        if core is not None:
            await runtime.run(core, core.agent_left(outbox.id))


async def _remote_control(
    runtime: SessionRuntime,
    core: SessionCore,
    outbox: Outbox,
    agent: Agent,
    message: m.RcRequest | m.RcRelease | m.Control,
) -> None:
    """``rc_request``, ``rc_release`` and ``control``: each checked against the agent's permissions as they
    are now. Without ``remote_control`` the agent is told (``error`` accessdenied) and the socket stays open:
    a permission taken away mid-session stops the commands, not the agent's view."""
    refusal = check(await runtime.store.get_agent(agent.id), Action.CONTROL, core.group_id)
    if refusal is not None:
        if not isinstance(message, m.Control) or message.op != "move":
            outbox.send(encode(m.Error(code=refusal.code, msg=refusal.msg)))
        if isinstance(message, m.RcRequest):
            await runtime.store.audit(
                "rc.request.refused",
                agent_id=agent.id,
                group_id=core.group_id,
                session_id=core.session_id,
                details={"reason": refusal.msg},
            )
        return
    if isinstance(message, m.Control):
        await runtime.run(core, core.agent_control(outbox.id, message))
        return
    name = "rc.request" if isinstance(message, m.RcRequest) else "rc.release"
    await runtime.store.audit(name, agent_id=agent.id, group_id=core.group_id, session_id=core.session_id)
    if isinstance(message, m.RcRequest):
        await runtime.run(core, core.agent_rc_request(outbox.id))
    else:
        await runtime.run(core, core.agent_rc_release(outbox.id))


async def _serve(ws: WebSocket, stream: AgentStream, agent: Agent | None) -> None:
    """A seated agent (or guest, ``agent`` None): joined, the log, the live channel, and its requests."""
    runtime, core, outbox = stream.runtime, stream.core, stream.outbox
    await stream.resync(first=encode(core.joined_message()))
    while not outbox.closing:
        message = decode_agent(await receive_frame(ws))
        if isinstance(message, m.Resync):
            await stream.resync()
        elif isinstance(message, m.Leave):
            outbox.close(CloseCode.NORMAL, "left the session")
        elif agent is None:  # a guest: it watches, nothing more (permissions.check_guest)
            action = Action.INVITE if isinstance(message, m.Admit) else Action.END
            action = Action.MESSAGE if isinstance(message, m.SessionMessage) else action
            action = Action.CONTROL if isinstance(message, m.RcRequest | m.RcRelease | m.Control) else action
            refusal = check_guest(action)
            if refusal is None or isinstance(message, m.Join | m.GuestJoin):
                raise ProtocolError(CloseCode.MALFORMED, "malformed", "already joined")
            outbox.send(encode(m.Error(code=refusal.code, msg=refusal.msg)))
        elif isinstance(message, m.Admit):
            now = await _permit_now(runtime, agent, Action.INVITE, core.group_id)
            await runtime.store.audit(
                "guest.admit" if message.accept else "guest.decline",
                agent_id=now.id,
                group_id=core.group_id,
                session_id=core.session_id,
                details={"guestid": message.guestid},
            )
            await runtime.run(core, core.guest_answer(outbox.id, message.guestid, message.accept))
        elif isinstance(message, m.End):
            now = await _permit_now(runtime, agent, Action.END, core.group_id)
            await runtime.store.audit(
                "session.end.request", agent_id=now.id, group_id=core.group_id, session_id=core.session_id
            )
            await runtime.end(core, "agent")
        elif isinstance(message, m.SessionMessage):
            await _permit_now(runtime, agent, Action.MESSAGE, core.group_id)
            await runtime.run(core, core.agent_message(outbox.id, message))
        elif isinstance(message, m.RcRequest | m.RcRelease | m.Control):
            await _remote_control(runtime, core, outbox, agent, message)
        else:
            raise ProtocolError(CloseCode.MALFORMED, "malformed", "already joined")
    await outbox.done.wait()
