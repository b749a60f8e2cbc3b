"""Sessions of a dead node continue on a live one (see :mod:`.cluster`): a mixin of the session runtime.

A node becomes the home of a session whose home died when a socket of that session reaches it (clients
reconnect by themselves) or when its sweep finds the session with no live home. It rebuilds the session's
core from the store (what :mod:`~cobrowse.protocol.continuity` keeps: page, user state, remote control) and
from the broker's log, which outlived the node: the recording continues at its last frame, so agents joining
are served from the log and the visitor's page only resends what the dead node never logged.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable
from datetime import UTC, datetime
from typing import Any, TypeVar

from ..broker import Broker
from ..protocol.continuity import resume_from_log
from ..protocol.session import SessionCore
from ..store import Store
from ..store.records import SessionRecord
from .cluster import Cluster

log = logging.getLogger("cobrowse.sessions")
T = TypeVar("T")


class Adoption:
    broker: Broker
    store: Store
    node: str
    cluster: Cluster
    _adopting: dict[int, asyncio.Task[SessionCore | None]]

    def get(self, session_id: int) -> SessionCore | None:
        raise NotImplementedError

    def is_local(self, session_id: int) -> bool:
        return self.get(session_id) is not None

    def _revive(self, record: SessionRecord, state: dict[str, Any], holder: str) -> SessionCore:
        raise NotImplementedError

    async def contained(self, aw: Awaitable[T]) -> T | None:
        raise NotImplementedError

    async def local(self, session_id: int) -> SessionCore | None:
        """The session's core on this node, its home (the caller made sure: see :mod:`.cluster`). If the
        session was running on a node that died, it is rebuilt here first: from the store (user state,
        page, remote control) and the broker's log (the recording up to its last frame)."""
        core = self.get(session_id)
        if core is not None or not self.cluster.multi:
            return core
        adopting = self._adopting.get(session_id)
        if adopting is None:
            adopting = asyncio.create_task(self._adopt(session_id), name=f"adopt-{session_id}")
            self._adopting[session_id] = adopting
            adopting.add_done_callback(lambda _: self._adopting.pop(session_id, None))
        return await asyncio.shield(adopting)

    async def _adopt(self, session_id: int) -> SessionCore | None:
        found = await self.store.session_continuity(session_id)
        if found is None:
            await self.cluster.release(session_id)
            return None
        record, state = found
        holder = f"{self.node}:{uuid.uuid4().hex}"
        await self.broker.transfer_key(record.group_id, record.key, holder)
        await self.contained(self.store.close_agent_participants(datetime.now(UTC), session_id))
        core = self._revive(record, state, holder)
        try:
            resume_from_log(core, await self.broker.log_read(session_id))
        except Exception:
            log.exception(
                "the log of session %s could not be read: a fresh snapshot will be asked for", session_id
            )
        log.info(
            "session %s continues on node %s (its home node is gone)",
            session_id,
            self.node,
            extra={"session": session_id},
        )
        return core

    async def sweep(self) -> None:
        """Adopt the open sessions whose home node is gone and that no client came back for: they end
        after their visitor's grace period here, like any other (instead of staying open for ever)."""
        for session_id in await self.store.open_session_ids():
            if self.is_local(session_id) or await self.broker.home_of(session_id) is not None:
                continue
            if await self.cluster.home_url(session_id) is None:
                await self.local(session_id)
