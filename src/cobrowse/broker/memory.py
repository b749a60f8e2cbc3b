"""In-process broker (``memory://``): the embedded default for a single node. Needs no service.

Listeners are called from ``publish_frame`` itself with the frame as it is (no packing, no queue): the
listener's own bound (an agent's outbox) is the overflow policy. Nodes, homes and key claims are plain
dictionaries: one process is one node, so what is atomic across nodes elsewhere is trivially atomic here.
"""

from __future__ import annotations

import time

from .local import LocalDelivery


class _Log:
    """A session's log as two lists: ints and bytes are not tracked by the garbage collector, while a
    (seq, frame) tuple per frame would be, and would set off a collection every few hundred frames."""

    __slots__ = ("frames", "seqs")

    def __init__(self) -> None:
        self.seqs: list[int] = []
        self.frames: list[bytes] = []


class MemoryBroker(LocalDelivery):
    def __init__(self) -> None:
        super().__init__()
        self._logs: dict[int, _Log] = {}
        self._keys: dict[tuple[int, str], str] = {}
        #: node -> (url, monotonic deadline of its heartbeat)
        self._nodes: dict[str, tuple[str, float]] = {}
        self._homes: dict[int, str] = {}

    async def connect(self) -> None:
        return None

    async def disconnect(self) -> None:
        await self._close_local()

    async def ping(self) -> None:
        return None

    async def log_append(self, session_id: int, seq: int, frame: bytes, reset: bool) -> None:
        log = self._logs.get(session_id)
        if reset or log is None:
            self._logs[session_id] = log = _Log()
        log.seqs.append(seq)
        log.frames.append(frame)

    async def log_read(self, session_id: int) -> list[tuple[int, bytes]]:
        log = self._logs.get(session_id)
        return list(zip(log.seqs, log.frames, strict=True)) if log else []

    async def log_drop(self, session_id: int) -> None:
        self._logs.pop(session_id, None)

    async def claim_key(self, group_id: int, key: str, holder: str) -> bool:
        return self._keys.setdefault((group_id, key), holder) == holder

    async def release_key(self, group_id: int, key: str, holder: str) -> None:
        if self._keys.get((group_id, key)) == holder:
            del self._keys[(group_id, key)]

    async def transfer_key(self, group_id: int, key: str, holder: str) -> None:
        self._keys[(group_id, key)] = holder

    async def heartbeat(self, node: str, url: str, ttl: float) -> None:
        self._nodes[node] = (url, time.monotonic() + ttl)

    async def node_url(self, node: str) -> str | None:
        return self._live_url(node)

    def _live_url(self, node: str) -> str | None:
        entry = self._nodes.get(node)
        if entry is None:
            return None
        if entry[1] <= time.monotonic():
            del self._nodes[node]
            return None
        return entry[0]

    async def claim_home(self, session_id: int, node: str) -> str:
        home = self._homes.get(session_id)
        if home is None or (home != node and self._live_url(home) is None):
            self._homes[session_id] = home = node
        return home

    async def home_of(self, session_id: int) -> str | None:
        home = self._homes.get(session_id)
        return home if home is not None and self._live_url(home) is not None else None

    async def drop_home(self, session_id: int, node: str) -> None:
        if self._homes.get(session_id) == node:
            del self._homes[session_id]
