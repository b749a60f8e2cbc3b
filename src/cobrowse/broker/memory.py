"""In-process broker (``memory://``): the embedded default for a single node. Needs no service."""

from __future__ import annotations

import asyncio
from collections import defaultdict, deque

from .base import Broker, Overflow, Subscription


class _MemorySubscription(Subscription):
    def __init__(self, broker: MemoryBroker, channel: str, max_queue: int) -> None:
        self._broker = broker
        self._channel = channel
        self._max = max_queue
        self._queue: deque[bytes] = deque()
        self._ready = asyncio.Event()
        self._overflowed = False
        self._closed = False

    def _deliver(self, payload: bytes) -> None:
        if len(self._queue) >= self._max:
            self._queue.clear()  # overflow policy: drop the backlog, the consumer resyncs from the log
            self._overflowed = True
        else:
            self._queue.append(payload)
        self._ready.set()

    async def get(self) -> bytes:
        while True:
            if self._overflowed:
                self._overflowed = False
                raise Overflow(f"subscriber of {self._channel} fell more than {self._max} messages behind")
            if self._queue:
                return self._queue.popleft()
            if self._closed:
                raise StopAsyncIteration
            self._ready.clear()
            await self._ready.wait()

    async def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._broker._subscribers[self._channel].discard(self)
            if not self._broker._subscribers[self._channel]:
                del self._broker._subscribers[self._channel]
            self._ready.set()


class MemoryBroker(Broker):
    def __init__(self) -> None:
        self._subscribers: defaultdict[str, set[_MemorySubscription]] = defaultdict(set)
        self._logs: dict[int, list[tuple[int, bytes]]] = {}
        self._keys: dict[tuple[int, str], str] = {}

    async def connect(self) -> None:
        return None

    async def disconnect(self) -> None:
        for subs in list(self._subscribers.values()):
            for sub in list(subs):
                await sub.close()

    async def publish(self, channel: str, payload: bytes) -> None:
        for sub in tuple(self._subscribers.get(channel, ())):
            sub._deliver(payload)

    async def subscribe(self, channel: str, max_queue: int) -> Subscription:
        if max_queue < 1:
            raise ValueError("max_queue must be at least 1")
        sub = _MemorySubscription(self, channel, max_queue)
        self._subscribers[channel].add(sub)
        return sub

    async def log_append(self, session_id: int, seq: int, frame: bytes, reset: bool) -> None:
        if reset or session_id not in self._logs:
            self._logs[session_id] = []
        self._logs[session_id].append((seq, frame))

    async def log_read(self, session_id: int) -> list[tuple[int, bytes]]:
        return list(self._logs.get(session_id, ()))

    async def log_drop(self, session_id: int) -> None:
        self._logs.pop(session_id, None)

    async def claim_key(self, group_id: int, key: str, holder: str) -> bool:
        return self._keys.setdefault((group_id, key), holder) == holder

    async def release_key(self, group_id: int, key: str, holder: str) -> None:
        if self._keys.get((group_id, key)) == holder:
            del self._keys[(group_id, key)]
