"""``/ws/visitor``: one socket per visitor page. Moves bytes; the session rules live in SessionCore."""

from __future__ import annotations

import logging

from starlette.websockets import WebSocket, WebSocketDisconnect

from ..broker import Kind, Listening
from ..ops import logs
from ..protocol import messages as m
from ..protocol.actions import Publish
from ..protocol.codec import CloseCode, ProtocolError, decode_visitor, encode
from ..protocol.session import SessionCore, State
from .cross_domain import destination_origin, session_of_token, trusted
from .outbox import Outbox
from .runtime import SessionRuntime, visitor_channel
from .socket_io import as_bytes, check_events_payload, receive_frame, receive_hello, refuse
from .tunnel import carried_home

log = logging.getLogger("cobrowse.visitor")

#: Control frames a visitor socket may have waiting; more means the page stopped reading: it is closed.
VISITOR_QUEUE = 256


async def visitor_endpoint(ws: WebSocket) -> None:
    runtime: SessionRuntime = ws.app.state.runtime
    await ws.accept()
    outbox = Outbox(ws, VISITOR_QUEUE)
    core: SessionCore | None = None
    listening: Listening | None = None
    try:
        first = await receive_hello(ws)
        hello = decode_visitor(first)
        origin = ws.headers.get("origin")
        home = _session_named(hello)
        if home is not None and await carried_home(
            ws, runtime.cluster, home, first, runtime.config.max_message_bytes
        ):
            return
        if isinstance(hello, m.XRedeem):
            await _redeem(ws, runtime, outbox, hello, origin)
            return
        if isinstance(hello, m.Start):
            core = await runtime.start_session(hello, origin)
            greeting = await runtime.started_message(core, resumed=False)
        elif isinstance(hello, m.Resume):
            core = await runtime.resume_session(hello, origin)
            greeting = await runtime.started_message(core, resumed=True)
        else:
            raise ProtocolError(CloseCode.MALFORMED, "malformed", "the first message must be start or resume")
        logs.bind(session=core.session_id, conn=outbox.id)
        outbox.start()
        outbox.send(encode(greeting))
        listening = await runtime.broker.listen(
            visitor_channel(core.session_id), VisitorFeed(outbox), VISITOR_QUEUE
        )
        runtime.register(outbox)
        await runtime.run(core, core.visitor_connected(outbox.id, hello.page))
        while not outbox.closing:
            frame = await receive_frame(ws)
            message = decode_visitor(frame)
            if isinstance(message, m.Events):
                check_events_payload(message)
                await runtime.run(core, core.visitor_events(outbox.id, message, as_bytes(frame)))
            elif isinstance(message, m.Page):
                await runtime.run(core, core.visitor_page(outbox.id, m.PageInfo(message.url, message.title)))
            elif isinstance(message, m.Stop):
                await runtime.end(core, "visitor")
            elif isinstance(message, m.SessionMessage):
                await runtime.run(core, core.visitor_message(outbox.id, message))
            elif isinstance(message, m.UserState):
                await runtime.run(core, core.visitor_user_state(outbox.id, message))
            elif isinstance(message, m.Pause):
                await runtime.run(core, core.visitor_pause(outbox.id, message))
            elif isinstance(message, m.Rc):
                await _remote_control(runtime, core, outbox.id, message)
            elif isinstance(message, m.Focus):
                await runtime.run(core, core.visitor_focus(outbox.id, message.focused))
            elif isinstance(message, m.XDomain):
                outbox.send(encode(await _handoff(runtime, core, message)))
            else:
                raise ProtocolError(
                    CloseCode.MALFORMED,
                    "malformed",
                    f"{message.__class__.__name__.lower()} is not allowed after the session started",
                )
            # an idle page must not keep its last frame (often a snapshot, already in the log) alive
            del frame, message
        await outbox.done.wait()
    except ProtocolError as exc:
        await outbox.stop()
        await refuse(ws, exc)
    except WebSocketDisconnect:
        pass
    except Exception as exc:
        log.exception("visitor socket failed")
        await outbox.stop()
        await refuse(
            ws, ProtocolError(CloseCode.SERVICE, "service", f"server error: {exc.__class__.__name__}")
        )
    finally:
        if listening is not None:
            await listening.close()
        await outbox.stop()
        runtime.unregister(outbox)
        if core is not None:
            await runtime.run(core, core.visitor_disconnected(outbox.id, runtime.clock()))


def _session_named(hello: m.VisitorMessage) -> int | None:
    """The session a first message is about, if it names one that may live on another node (a page that
    starts a session starts it here)."""
    if isinstance(hello, m.Resume):
        return hello.session
    if isinstance(hello, m.XRedeem):
        return session_of_token(hello.token)
    return None


async def _remote_control(runtime: SessionRuntime, core: SessionCore, conn: str, message: m.Rc) -> None:
    """The visitor's answer or change of mind about remote control. Turning it on or off is audited first,
    so that whoever hears of the change finds it in the audit log."""
    if conn == core.visitor_conn and (core.rc.enabled != message.enabled or message.declined):
        action = "rc.enabled" if message.enabled else ("rc.declined" if message.declined else "rc.disabled")
        audit = runtime.store.audit(
            action, actor="visitor", group_id=core.group_id, session_id=core.session_id
        )
        await runtime.contained(audit)  # a store failure must not cost the visitor their session
    await runtime.run(core, core.visitor_rc(conn, message))


async def _handoff(
    runtime: SessionRuntime, core: SessionCore, message: m.XDomain
) -> m.XDomainToken | m.XDomainRefused:
    """A one-time token to continue the session at ``message.url``, if its origin is trusted
    (sessions/cross_domain.py); otherwise why not. Never anything for an untrusted origin."""
    try:
        origin = destination_origin(message.url)
    except ValueError as exc:
        return m.XDomainRefused(id=message.id, origin="", reason=str(exc))
    group = await runtime.store.get_group(core.group_id)
    if group is None or not trusted(group.trusted_domains, origin):
        return m.XDomainRefused(id=message.id, origin=origin, reason=f"{origin} is not a trusted domain")
    try:
        token = runtime.handoffs.issue(core.session_id, origin)
    except OverflowError as exc:
        return m.XDomainRefused(id=message.id, origin=origin, reason=str(exc))
    await runtime.contained(
        runtime.store.audit(
            "session.crossdomain",
            actor="visitor",
            group_id=core.group_id,
            session_id=core.session_id,
            details={"origin": origin},
        )
    )
    return m.XDomainToken(id=message.id, origin=origin, token=token)


async def _redeem(
    ws: WebSocket, runtime: SessionRuntime, outbox: Outbox, hello: m.XRedeem, origin: str | None
) -> None:
    """A page of a trusted domain presents its cross-domain token: it gets what its own session cookie needs
    (then resumes on a new socket like any page of the session), and the session's pages learn it arrived."""
    handoff = runtime.handoffs.redeem(hello.token, origin)
    core = await runtime.local(handoff.session_id)
    if core is None or core.state is State.ENDED:
        raise ProtocolError(CloseCode.ENDED, "ended", "the session of this cross-domain link has ended")
    outbox.start()
    outbox.send(
        encode(
            m.XRedeemed(
                session=core.session_id,
                key=core.key,
                random=core.random_key,
                token=runtime.token(core.session_id),
                group=core.group_id,
            )
        )
    )
    await runtime.run(core, [Publish(m.XDomainDone(origin=handoff.origin), to_visitor=True, to_agents=False)])
    outbox.close(CloseCode.NORMAL, "redeemed")
    await outbox.done.wait()


class VisitorFeed:
    """The page's :class:`~cobrowse.broker.Listener` of the session's visitor channel (agents, ended, ...):
    each message goes straight to the page's outbox; a page that stopped reading is closed (4429)."""

    def __init__(self, outbox: Outbox) -> None:
        self.outbox = outbox

    def deliver(self, kind: Kind, seq: int, frame: bytes) -> None:
        if not self.outbox.send(frame):
            self.overflowed()
        elif frame.startswith(b'{"t":"ended"'):
            self.outbox.close(CloseCode.NORMAL, "session ended")

    def overflowed(self) -> None:
        self.outbox.close(CloseCode.OVERLOADED, "the page stopped reading")
