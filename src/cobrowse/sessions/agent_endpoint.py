"""``/ws/agent``: an agent console watching one session. Authenticated by the console login cookie.

Joining needs the ``view`` permission in the session's group and passes the group's role policy
(:func:`cobrowse.permissions.role_refusal`: ``accessdenied``, close 4403); ending and session messages are
checked again, each time, against the agent's permissions as they are then.

The agent gets ``joined``, then the late-join log (last snapshot and what followed) from the broker, then
the live channel. It subscribes before reading the log and skips events it already has by sequence number,
so nothing falls between the two. A slow agent is resynchronised from the log instead of slowing anyone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from starlette.websockets import WebSocket, WebSocketDisconnect

from ..auth import current_agent, same_origin
from ..broker import Kind, Overflow, Subscription, unpack
from ..permissions import Action, check, role_refusal
from ..protocol import messages as m
from ..protocol.codec import CloseCode, ProtocolError, decode_agent, encode
from ..protocol.session import SessionCore
from ..store.records import Agent
from .outbox import Outbox
from .runtime import SessionRuntime, agents_channel
from .socket_io import receive_frame, receive_hello, refuse

log = logging.getLogger("cobrowse.agent")


class AgentStream:
    """What one agent socket has been sent, so that the live channel and a resync never overlap."""

    def __init__(self, runtime: SessionRuntime, core: SessionCore, outbox: Outbox) -> None:
        self.runtime = runtime
        self.core = core
        self.outbox = outbox
        self.last_seq = 0

    async def resync(self, first: bytes | None = None) -> None:
        """Replace whatever is queued with the log: the last snapshot and every frame after it
        (after ``first``, the ``joined`` message when the agent has just joined)."""
        if not self.core.log_complete:
            # the log lost frames past its bound: sending it would only show a gap; the fresh snapshot the
            # core asks for below brings this agent up to date (the console waits for a snapshot frame)
            self.outbox.replace([first] if first else [])
            self.last_seq = self.core.seq
            await self.runtime.run(self.core, self.core.resync_needed())
            return
        entries = await self.runtime.broker.log_read(self.core.session_id)
        self.outbox.replace(([first] if first else []) + [frame for _, frame in entries])
        self.last_seq = entries[-1][0] if entries else self.last_seq
        await self.runtime.run(self.core, self.core.resync_needed())

    async def pump(self, subscription: Subscription) -> None:
        async with subscription:
            while True:
                try:
                    data = await subscription.get()
                except Overflow:
                    await self.resync()
                    continue
                except StopAsyncIteration:
                    return
                kind, seq, frame = unpack(data)
                if kind is Kind.EVENTS:
                    if seq <= self.last_seq:
                        continue  # already sent from the log
                    if not self.outbox.send(frame):
                        await self.resync()  # overflow policy: drop the backlog, resend from the snapshot
                        continue
                    self.last_seq = seq
                else:
                    if not self.outbox.send(frame):
                        self.outbox.replace([frame])
                    if frame.startswith(b'{"t":"ended"'):
                        self.outbox.close(CloseCode.NORMAL, "session ended")
                        return


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
    runtime: SessionRuntime = ws.app.state.runtime
    await ws.accept()
    outbox = Outbox(ws, runtime.config.agent_queue_frames)
    core: SessionCore | None = None
    pump: asyncio.Task[None] | None = None
    subscription: Subscription | None = None
    try:
        if not same_origin(ws):  # cross-site WebSocket hijacking: another site riding the agent's cookie
            raise ProtocolError(
                CloseCode.FORBIDDEN, "forbidden", "agent sockets are only accepted from the console"
            )
        agent = await current_agent(ws)
        if agent is None:
            raise ProtocolError(
                CloseCode.UNAUTHENTICATED, "unauthenticated", "log in to the agent console first"
            )
        join = decode_agent(await receive_hello(ws))
        if not isinstance(join, m.Join):
            raise ProtocolError(CloseCode.MALFORMED, "malformed", "the first message must be join")
        if join.group is not None and join.group not in agent.group_ids:
            raise ProtocolError(
                CloseCode.FORBIDDEN, "forbidden", f"you are not an agent of group {join.group}"
            )
        _permit(agent, Action.JOIN, join.group)
        groups = agent.group_ids if join.group is None else (join.group,)
        core = runtime.find(groups, join.key)
        if core is None:
            raise ProtocolError(CloseCode.NOT_FOUND, "notfound", f"no live session with key {join.key!r}")
        group = await runtime.store.get_group(core.group_id)
        subscription = await runtime.broker.subscribe(
            agents_channel(core.session_id), runtime.config.agent_queue_frames
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
        stream = AgentStream(runtime, core, outbox)
        await stream.resync(first=encode(core.joined_message()))
        pump = asyncio.create_task(stream.pump(subscription))
        while not outbox.closing:
            message = decode_agent(await receive_frame(ws))
            if isinstance(message, m.Resync):
                await stream.resync()
            elif isinstance(message, m.Leave):
                outbox.close(CloseCode.NORMAL, "left the session")
            elif isinstance(message, m.End):
                now = await _permit_now(runtime, agent, Action.END, core.group_id)
                await runtime.store.audit(
                    "session.end.request", agent_id=now.id, group_id=core.group_id, session_id=core.session_id
                )
                await runtime.end(core, "agent")
            elif isinstance(message, m.SessionMessage):
                await _permit_now(runtime, agent, Action.MESSAGE, core.group_id)
                await runtime.run(core, core.agent_message(outbox.id, message))
            else:
                raise ProtocolError(CloseCode.MALFORMED, "malformed", "already joined")
        await outbox.done.wait()
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
        if pump is not None:
            pump.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await pump
        elif subscription is not None:
            await subscription.close()
        await outbox.stop()
        runtime.unregister(outbox)
        if core is not None:
            await runtime.run(core, core.agent_left(outbox.id))
