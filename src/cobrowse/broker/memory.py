"""In-process broker (``memory://``): the embedded default for a single node. Needs no service.

Listeners are called from ``publish_frame`` itself with the frame as it is (no packing, no queue): the
listener's own bound (an agent's outbox) is the overflow policy.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict, deque

from .base import Broker, Kind, Listener, Listening, Overflow, Subscription, pack, unpack

log = logging.getLogger("cobrowse.broker")


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


class _Log:
    """A session's log as two lists: ints and bytes are not tracked by the garbage collector, while a
    (seq, frame) tuple per frame would be, and would set off a collection every few hundred frames."""

    __slots__ = ("frames", "seqs")

    def __init__(self) -> None:
        self.seqs: list[int] = []
        self.frames: list[bytes] = []


class _MemoryListening(Listening):
    def __init__(self, broker: MemoryBroker, channel: str, listener: Listener) -> None:
        self._broker = broker
        self._channel = channel
        self.listener = listener

    async def close(self) -> None:
        listeners = self._broker._listeners
        remaining = tuple(x for x in listeners.get(self._channel, ()) if x is not self.listener)
        if remaining:
            listeners[self._channel] = remaining
        else:
            listeners.pop(self._channel, None)


class MemoryBroker(Broker):
    def __init__(self) -> None:
        self._subscribers: defaultdict[str, set[_MemorySubscription]] = defaultdict(set)
        #: channel -> its listeners; a new tuple on every change, so a delivery loop never sees one change
        self._listeners: dict[str, tuple[Listener, ...]] = {}
        self._logs: dict[int, _Log] = {}
        self._keys: dict[tuple[int, str], str] = {}

    async def connect(self) -> None:
        return None

    async def disconnect(self) -> None:
        for subs in list(self._subscribers.values()):
            for sub in list(subs):
                await sub.close()
        self._listeners.clear()

    async def publish(self, channel: str, payload: bytes) -> None:
        for sub in tuple(self._subscribers.get(channel, ())):
            sub._deliver(payload)
        listeners = self._listeners.get(channel)
        if listeners:
            _deliver_all(listeners, *unpack(payload))

    async def publish_frame(self, channel: str, kind: Kind, seq: int, frame: bytes) -> None:
        subscribers = self._subscribers.get(channel)
        if subscribers:
            payload = pack(kind, seq, frame)
            for sub in tuple(subscribers):
                sub._deliver(payload)
        listeners = self._listeners.get(channel)
        if listeners:
            _deliver_all(listeners, kind, seq, frame)

    async def listen(self, channel: str, listener: Listener, max_queue: int) -> Listening:
        if max_queue < 1:
            raise ValueError("max_queue must be at least 1")
        self._listeners[channel] = (*self._listeners.get(channel, ()), listener)
        return _MemoryListening(self, channel, listener)

    async def subscribe(self, channel: str, max_queue: int) -> Subscription:
        if max_queue < 1:
            raise ValueError("max_queue must be at least 1")
        sub = _MemorySubscription(self, channel, max_queue)
        self._subscribers[channel].add(sub)
        return sub

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


def _deliver_all(listeners: tuple[Listener, ...], kind: Kind, seq: int, frame: bytes) -> None:
    for listener in listeners:
        try:
            listener.deliver(kind, seq, frame)
        except Exception:  # one failing socket must not cost the others their frame
            log.exception("a listener failed")
