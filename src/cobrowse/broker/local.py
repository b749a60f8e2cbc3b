"""This node's receivers of each channel, and the delivery to them that every backend shares.

A message published on this node reaches the node's own subscriptions and listeners here, in the
publisher's call, with no queue or task switch (see :mod:`.base`). The in-memory broker is nothing more;
the Redis broker adds the other nodes: it is told through :meth:`LocalDelivery._receivers_changed` when a
channel gains or loses local receivers (so that it subscribes to the channel's Redis channel only while
someone here listens) and hands what other nodes published to :meth:`LocalDelivery._deliver_remote`.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict, deque

from .base import Broker, Kind, Listener, Listening, Overflow, Subscription, pack, unpack

log = logging.getLogger("cobrowse.broker")


class LocalSubscription(Subscription):
    """A bounded queue of one channel's messages (the overflow policy of :class:`Subscription`)."""

    def __init__(self, broker: LocalDelivery, channel: str, max_queue: int) -> None:
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
            subscribers = self._broker._subscribers
            subscribers[self._channel].discard(self)
            if not subscribers[self._channel]:
                del subscribers[self._channel]
            self._ready.set()
            await self._broker._receivers_changed(self._channel)


class LocalListening(Listening):
    def __init__(self, broker: LocalDelivery, channel: str, listener: Listener) -> None:
        self._broker = broker
        self._channel = channel
        self.listener = listener
        self._closed = False

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        listeners = self._broker._listeners
        remaining = tuple(x for x in listeners.get(self._channel, ()) if x is not self.listener)
        if remaining:
            listeners[self._channel] = remaining
        else:
            listeners.pop(self._channel, None)
        await self._broker._receivers_changed(self._channel)


class LocalDelivery(Broker):
    """Publish and receive within this node; backends with other nodes override the two hooks."""

    def __init__(self) -> None:
        self._subscribers: defaultdict[str, set[LocalSubscription]] = defaultdict(set)
        #: channel -> its listeners; a new tuple on every change, so a delivery loop never sees one change
        self._listeners: dict[str, tuple[Listener, ...]] = {}

    def _has_receivers(self, channel: str) -> bool:
        return channel in self._listeners or bool(self._subscribers.get(channel))

    async def _receivers_changed(self, channel: str) -> None:
        """``channel`` gained or lost a local receiver; on return, a new receiver gets what other nodes
        publish from then on (here: there are no other nodes). May raise: the new receiver is then removed."""

    async def _close_local(self) -> None:
        for subs in list(self._subscribers.values()):
            for sub in list(subs):
                await sub.close()
        self._listeners.clear()

    async def publish(self, channel: str, payload: bytes) -> None:
        self._deliver_payload(channel, payload)

    async def publish_frame(self, channel: str, kind: Kind, seq: int, frame: bytes) -> None:
        subscribers = self._subscribers.get(channel)
        if subscribers:
            payload = pack(kind, seq, frame)
            for sub in tuple(subscribers):
                sub._deliver(payload)
        listeners = self._listeners.get(channel)
        if listeners:
            _deliver_all(listeners, kind, seq, frame)

    def _deliver_payload(self, channel: str, payload: bytes) -> None:
        """Deliver a packed message to this node's receivers of ``channel`` (a local publish or a remote one)."""
        for sub in tuple(self._subscribers.get(channel, ())):
            sub._deliver(payload)
        listeners = self._listeners.get(channel)
        if listeners:
            _deliver_all(listeners, *unpack(payload))

    async def listen(self, channel: str, listener: Listener, max_queue: int) -> Listening:
        if max_queue < 1:
            raise ValueError("max_queue must be at least 1")
        self._listeners[channel] = (*self._listeners.get(channel, ()), listener)
        listening = LocalListening(self, channel, listener)
        try:
            await self._receivers_changed(channel)
        except BaseException:
            await listening.close()
            raise
        return listening

    async def subscribe(self, channel: str, max_queue: int) -> Subscription:
        if max_queue < 1:
            raise ValueError("max_queue must be at least 1")
        sub = LocalSubscription(self, channel, max_queue)
        self._subscribers[channel].add(sub)
        try:
            await self._receivers_changed(channel)
        except BaseException:
            await sub.close()
            raise
        return sub


def _deliver_all(listeners: tuple[Listener, ...], kind: Kind, seq: int, frame: bytes) -> None:
    for listener in listeners:
        try:
            listener.deliver(kind, seq, frame)
        except Exception:  # one failing socket must not cost the others their frame
            log.exception("a listener failed")
