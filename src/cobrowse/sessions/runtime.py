"""The node's live sessions: creates and finds them, and carries out what their state machines decide.

:class:`SessionRuntime` is the only place where :class:`~cobrowse.protocol.session.SessionCore` actions meet
I/O: the broker (channels, log, key claims), the store (session and participant rows) and this node's
open sockets. Every store or broker failure is logged and contained: it never takes down another session.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol, TypeVar

import msgspec

from ..broker import Broker, Kind, channel_for
from ..config import Config
from ..permissions import origin_allowed
from ..protocol import actions as a
from ..protocol import messages as m
from ..protocol.codec import CloseCode, ProtocolError, encode
from ..protocol.continuity import continuity_of, restore
from ..protocol.rules import (
    RuleError,
    check_key,
    check_resume_token,
    check_visitor,
    clean_page,
    random_key,
    resume_token,
)
from ..protocol.session import SessionCore, State
from ..store import Store
from ..store.records import Group, SessionRecord, VisitorFields
from .adoption import Adoption
from .cluster import Cluster
from .cross_domain import Handoffs
from .guests import Invitations

log = logging.getLogger("cobrowse.sessions")
T = TypeVar("T")


class LocalConnection(Protocol):
    """A socket on this node that the runtime can address by id."""

    id: str

    def send(self, frame: bytes) -> bool:
        """Queue a frame (never blocks); False if it was refused (queue full or closing)."""

    def close(self, code: int, reason: str) -> None:
        """Close after the queued frames."""


def check_visitor_origin(group: Group | None, origin: str | None) -> None:
    """Refuse (``origin``, 4403) a visitor page whose origin the group does not allow (empty list: any)."""
    if group is not None and not origin_allowed(group.allowed_origins, origin):
        raise ProtocolError(
            CloseCode.FORBIDDEN, "origin", f"pages of {origin or 'no origin'} may not use group {group.id}"
        )


def agents_channel(session_id: int) -> str:
    return channel_for(session_id) + ":agents"


def visitor_channel(session_id: int) -> str:
    return channel_for(session_id) + ":visitor"


@dataclass
class LiveSession:
    core: SessionCore
    holder: str  # our claim on the key in the broker


class SessionRuntime(Adoption):
    def __init__(
        self, config: Config, broker: Broker, store: Store, clock: Callable[[], float] = time.monotonic
    ):
        self.config = config
        self.broker = broker
        self.store = store
        self.clock = clock
        self.node = uuid.uuid4().hex[:12]
        self._by_id: dict[int, LiveSession] = {}
        self._by_key: dict[tuple[int, str], int] = {}
        self._conns: dict[str, LocalConnection] = {}
        self._ticker: asyncio.Task[None] | None = None
        #: Sessions whose continuity is being written, and those changed again meanwhile (see _save_soon).
        self._saving: dict[int, asyncio.Task[None]] = {}
        self._resave: set[int] = set()
        self.invitations = Invitations()
        self.handoffs = Handoffs()
        #: Waiting guests' connections -> the answer they wait for (set by an ``Admission`` action).
        self.admissions: dict[str, asyncio.Future[bool]] = {}
        self.cluster = Cluster(
            broker,
            self.node,
            config.effective_node_url,
            config.secret_key,
            multi=not config.broker_url.startswith("memory://"),
        )
        #: Sessions being adopted from a dead home node, so two sockets arriving together adopt once.
        self._adopting: dict[int, asyncio.Task[SessionCore | None]] = {}

    # ---- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        self._ticker = asyncio.create_task(self._tick_forever(), name="cobrowse-session-ticker")
        await self.cluster.start(self.sweep)

    async def stop(self) -> None:
        """Shut down without ending anything: the web server has told every client to reconnect (close 1012),
        and each live session's continuity is written so that the next run continues it."""
        if self._ticker:
            self._ticker.cancel()
        await self.cluster.stop()
        await asyncio.gather(*self._saving.values(), return_exceptions=True)
        for live in list(self._by_id.values()):
            await self.contained(self.store.save_continuity(live.core.session_id, continuity_of(live.core)))
            # the sockets reconnect to other nodes at once: let the first of them become the home
            await self.contained(self.cluster.release(live.core.session_id))

    async def restore_open_sessions(self) -> int:
        """At start-up of a single node: continue every session the last run left open. Each waits the
        visitor grace period for its visitor's page to come back; agents rejoin as new participants."""
        await self.contained(self.store.close_agent_participants(datetime.now(UTC)))
        restored = 0
        for record, state in await self.store.open_sessions():
            holder = f"{self.node}:{uuid.uuid4().hex}"
            if not await self.broker.claim_key(record.group_id, record.key, holder):
                await self.contained(self.store.end_session(record.id, "error", datetime.now(UTC)))
                continue
            self._revive(record, state, holder)
            restored += 1
        return restored

    def _revive(self, record: SessionRecord, state: dict[str, object], holder: str) -> SessionCore:
        fields = record.visitor
        core = SessionCore(
            session_id=record.id,
            group_id=record.group_id,
            key=record.key,
            random_key=record.random_key,
            visitor=m.VisitorInfo(fields.name, fields.email, fields.phone, fields.visitorid),
            grace=self.config.visitor_grace_seconds,
            log_max_bytes=self.config.log_max_bytes,
        )
        restore(core, dict(state), self.clock())
        self._by_id[record.id] = LiveSession(core, holder)
        self._by_key[(record.group_id, record.key)] = record.id
        return core

    async def _tick_forever(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            now = self.clock()
            for live in list(self._by_id.values()):
                try:
                    await self.run(live.core, live.core.tick(now))
                except Exception:
                    log.exception("tick of session %s failed", live.core.session_id)

    # ---- connections --------------------------------------------------------------------------

    def register(self, conn: LocalConnection) -> None:
        self._conns[conn.id] = conn

    def unregister(self, conn: LocalConnection) -> None:
        self._conns.pop(conn.id, None)

    # ---- finding and creating sessions -------------------------------------------------------

    def get(self, session_id: int) -> SessionCore | None:
        live = self._by_id.get(session_id)
        return live.core if live else None

    def find(self, group_ids: Iterable[int], key: str) -> SessionCore | None:
        for group_id in group_ids:
            session_id = self._by_key.get((group_id, key))
            if session_id is not None:
                return self._by_id[session_id].core
        return None

    def live_sessions(self) -> list[SessionCore]:
        return [live.core for live in self._by_id.values()]

    async def start_session(self, msg: m.Start, origin: str | None = None) -> SessionCore:
        """Validate a visitor's ``start``, claim its key and create the session (row and state machine).

        ``origin`` is the page's Origin header, checked against the group's allowed origins."""
        try:
            visitor = check_visitor(msg.visitor)
            if msg.key is not None and msg.key != m.RANDOM_KEY:
                check_key(msg.key)
        except RuleError as exc:
            raise ProtocolError(CloseCode.REJECTED, exc.code, exc.msg) from None
        group = await self.store.get_group(msg.group) if msg.group > 0 else None
        if group is None:
            raise ProtocolError(CloseCode.REJECTED, "badgroup", f"group {msg.group} does not exist")
        check_visitor_origin(group, origin)
        live = (
            await self.store.count_live_sessions(group.id)
            if self.cluster.multi and group.max_live_sessions is not None
            else sum(1 for (group_id, _) in self._by_key if group_id == group.id)
        )
        if group.max_live_sessions is not None and live >= group.max_live_sessions:
            raise ProtocolError(
                CloseCode.OVERLOADED, "busy", f"group {group.id} has its most live sessions; try again later"
            )
        holder = f"{self.node}:{uuid.uuid4().hex}"
        random = msg.key is None or msg.key == m.RANDOM_KEY
        if random:
            key = await self._claim_random(msg.group, holder)
        else:
            key = msg.key or ""
            if not await self.broker.claim_key(msg.group, key, holder):
                raise ProtocolError(
                    CloseCode.DUPKEY, "dupkey", f"session key {key!r} is already in use in this group"
                )
        try:
            record = await self.store.create_session(
                msg.group,
                key,
                random,
                VisitorFields(visitor.name, visitor.email, visitor.phone, visitor.visitorid),
                datetime.now(UTC),
            )
        except Exception:
            await self.broker.release_key(msg.group, key, holder)
            raise
        core = SessionCore(
            session_id=record.id,
            group_id=msg.group,
            key=key,
            random_key=random,
            visitor=visitor,
            grace=self.config.visitor_grace_seconds,
            log_max_bytes=self.config.log_max_bytes,
            page=clean_page(msg.page),
        )
        self._by_id[record.id] = LiveSession(core, holder)
        self._by_key[(msg.group, key)] = record.id
        await self.contained(self.cluster.claim_new(record.id))
        log.info(
            "session %s started in group %s with key %s",
            record.id,
            msg.group,
            key,
            extra={"session": record.id},
        )
        return core

    async def _claim_random(self, group_id: int, holder: str) -> str:
        for attempt in range(200):
            key = random_key(None, attempt)
            if await self.broker.claim_key(group_id, key, holder):
                return key
        raise ProtocolError(CloseCode.SERVICE, "service", "could not find a free random key")

    async def resume_session(self, msg: m.Resume, origin: str | None = None) -> SessionCore:
        """Find the session a visitor's next page continues; refuse a bad token, an ended session, or a
        page of an origin the group does not allow."""
        if not check_resume_token(self.config.secret_key, msg.session, msg.token):
            raise ProtocolError(
                CloseCode.FORBIDDEN, "forbidden", "the resume token does not match the session"
            )
        core = await self.local(msg.session)
        if core is not None and core.state is not State.ENDED:
            check_visitor_origin(await self.store.get_group(core.group_id), origin)
            return core
        record = await self.store.get_session(msg.session)
        if record is not None and record.ended_at is not None:
            raise ProtocolError(CloseCode.ENDED, "ended", record.end_reason or "error")
        raise ProtocolError(
            CloseCode.NOT_FOUND, "notfound", f"session {msg.session} is not live on this server"
        )

    async def started_message(self, core: SessionCore, resumed: bool) -> m.Started | m.Resumed:
        """The answer to ``start`` / ``resume``: where to continue, the group's masking rules and user state."""
        cls = m.Resumed if resumed else m.Started
        group = await self.store.get_group(core.group_id)
        return cls(
            session=core.session_id,
            key=core.key,
            random=core.random_key,
            token=self.token(core.session_id),
            epoch=core.epoch,
            seq=core.seq,
            masking=await self.masking_config(core.group_id),
            userstate=dict(core.userstate),
            rc=m.RcState(enabled=core.rc.enabled),  # a suspension lasts for one page only
            xdomains=list(group.trusted_domains) if group else [],
        )

    async def masking_config(self, group_id: int) -> m.MaskingConfig:
        group = await self.store.get_group(group_id)
        raw = group.settings.get("masking") if group else None
        if not raw:
            return m.MaskingConfig()
        try:
            return msgspec.convert(raw, m.MaskingConfig)
        except msgspec.ValidationError:
            log.error("group %s has invalid masking settings; masking every page", group_id)
            return m.MaskingConfig(pages=m.MaskingPages(allow=["-invalid-group-settings-"]))

    def token(self, session_id: int) -> str:
        return resume_token(self.config.secret_key, session_id)

    async def end(self, core: SessionCore, reason: str) -> None:
        await self.run(core, core.end(reason))

    # ---- carrying out actions -----------------------------------------------------------------

    async def run(self, core: SessionCore, actions: list[a.Action]) -> None:
        for action in actions:
            await self._do(core, action)

    async def _do(self, core: SessionCore, action: a.Action) -> None:  # noqa: C901 - one branch per action
        sid = core.session_id
        match action:
            case a.Forward(seq=seq, frame=frame, snapshot=snapshot, log=keep):
                if keep:  # logged first: an agent reading the log has every frame published before
                    await self.broker.log_append(sid, seq, frame, reset=snapshot)
                elif snapshot:  # too big for the log: the old recording's log is no use any more
                    await self.broker.log_drop(sid)
                await self.broker.publish_frame(agents_channel(sid), Kind.EVENTS, seq, frame)
            case a.Publish(message=message, to_visitor=to_visitor, to_agents=to_agents):
                frame = encode(message)
                if to_agents:
                    await self.broker.publish_frame(agents_channel(sid), Kind.ALL, 0, frame)
                if to_visitor:
                    await self.broker.publish_frame(visitor_channel(sid), Kind.ALL, 0, frame)
            case a.SendTo(conn=conn_id, message=message):
                conn = self._conns.get(conn_id)
                if conn is not None:
                    conn.send(encode(message))
            case a.Close(conn=conn_id, code=code, reason=reason):
                conn = self._conns.get(conn_id)
                if conn is not None:
                    conn.close(code, reason)
            case a.PersistAgentJoin(conn=conn_id, agent_id=agent_id):
                seat = core.seats.get(conn_id)
                if seat is not None and agent_id is not None:
                    participant = await self.contained(
                        self.store.record_agent_join(sid, agent_id, datetime.now(UTC))
                    )
                    seat.participant_id = participant.id if participant else None
            case a.PersistAgentLeave(participant_id=pid):
                if pid is not None:
                    await self.contained(self.store.record_agent_leave(pid, datetime.now(UTC)))
            case a.PersistState():
                self._save_soon(core)
            case a.PersistEnd(reason=reason):
                await self.contained(self.store.end_session(sid, reason, datetime.now(UTC)))
                log.info("session %s ended: %s", sid, reason)
            case a.Admission(conn=conn_id, accept=accept):
                waiter = self.admissions.get(conn_id)
                if waiter is not None and not waiter.done():
                    waiter.set_result(accept)
            case a.ReleaseKey():
                self.invitations.drop_session(sid)
                self.handoffs.drop_session(sid)
                for waiting_conn, _ in core.waiting_guests.values():
                    waiter = self.admissions.get(waiting_conn)
                    if waiter is not None and not waiter.done():
                        waiter.set_result(False)
                live = self._by_id.pop(sid, None)
                self._by_key.pop((core.group_id, core.key), None)
                if live is not None:
                    await self.broker.release_key(core.group_id, core.key, live.holder)
                await self.broker.log_drop(sid)
                await self.contained(self.cluster.release(sid))

    def _save_soon(self, core: SessionCore) -> None:
        """Write the session's continuity in the background: the socket that changed it (a visitor's snapshot
        frame, its page, its user state) goes on at once instead of waiting for the database, and changes
        that come while a write is under way are written together, once, right after it."""
        sid = core.session_id
        if sid in self._saving:
            self._resave.add(sid)
            return
        self._saving[sid] = asyncio.create_task(self._save_continuity(core), name=f"continuity-{sid}")

    async def _save_continuity(self, core: SessionCore) -> None:
        sid = core.session_id
        try:
            while True:
                self._resave.discard(sid)
                await self.contained(self.store.save_continuity(sid, continuity_of(core)))
                if sid not in self._resave:
                    return
        finally:
            self._saving.pop(sid, None)

    async def contained(self, aw: Awaitable[T]) -> T | None:
        """Await a store call; a failure is logged, not raised (the live session matters more)."""
        try:
            return await aw
        except Exception:
            log.exception("store call failed")
            return None
