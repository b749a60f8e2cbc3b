"""The broker interface: session channels, the bounded late-join log, and key claims.

Everything that must be shared between server nodes goes through a :class:`Broker`; nothing else in the
server knows which backend is in use. Payloads are bytes framed by :func:`pack`: one kind byte, an 8-byte
sequence number (for page events) and the frame, so that a subscriber can skip events it already sent
without decoding JSON.

Two ways to receive a channel: a :class:`Subscription` (a queue to ``get`` from) or a :class:`Listener`
(:meth:`Broker.listen`), whose ``deliver`` is called with each message as it is published. The relay's hot
path uses listeners: the in-memory broker calls them from ``publish_frame`` itself, so a visitor's frame
reaches each agent's outbox with no queue, task switch or copy in between.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import enum
import logging
from collections.abc import AsyncIterator
from types import TracebackType
from typing import Protocol

log = logging.getLogger("cobrowse.broker")


class Kind(bytes, enum.Enum):
    EVENTS = b"E"  # a visitor's page-event frame, for agents
    AGENTS = b"A"  # a control message for agents only
    ALL = b"B"  # a control message for agents and the visitor


def pack(kind: Kind, seq: int, frame: bytes) -> bytes:
    return kind.value + seq.to_bytes(8, "big") + frame


def unpack(data: bytes) -> tuple[Kind, int, bytes]:
    return Kind(data[:1]), int.from_bytes(data[1:9], "big"), data[9:]


class Overflow(Exception):
    """The subscriber fell more than its queue bound behind; what it missed was dropped."""


class Subscription(abc.ABC):
    """Messages published on one channel after :meth:`Broker.subscribe` returned, in order.

    Overflow policy: a subscriber whose queue is full loses its whole backlog and its next ``get`` raises
    :class:`Overflow`; the consumer then resynchronises from the log. Publishers never wait for subscribers.
    """

    @abc.abstractmethod
    async def get(self) -> bytes: ...

    @abc.abstractmethod
    async def close(self) -> None: ...

    async def __aenter__(self) -> Subscription:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self

    async def __anext__(self) -> bytes:
        return await self.get()


class Listener(Protocol):
    """Receives a channel's messages as they are published (see :meth:`Broker.listen`). Both methods are
    called from the publisher's code path: they must not block and should not raise."""

    def deliver(self, kind: Kind, seq: int, frame: bytes) -> None:
        """One message, in publication order."""

    def overflowed(self) -> None:
        """Messages were dropped because the listener fell more than its queue bound behind (brokers that
        queue for their listeners only); the listener resynchronises from the log."""


class Listening(abc.ABC):
    """A :class:`Listener`'s place on a channel; :meth:`close` ends delivery."""

    @abc.abstractmethod
    async def close(self) -> None: ...


class _PumpedListening(Listening):
    """:meth:`Broker.listen` for brokers without direct delivery: a subscription drained by a task."""

    def __init__(self, subscription: Subscription, listener: Listener) -> None:
        self._subscription = subscription
        self._listener = listener
        self._task = asyncio.create_task(self._pump(), name="broker-listener")

    async def _pump(self) -> None:
        while True:
            try:
                data = await self._subscription.get()
            except Overflow:
                self._listener.overflowed()
                continue
            except StopAsyncIteration:
                return
            try:
                self._listener.deliver(*unpack(data))
            except Exception:
                log.exception("a listener failed")

    async def close(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._task
        await self._subscription.close()


class Broker(abc.ABC):
    @abc.abstractmethod
    async def connect(self) -> None: ...

    @abc.abstractmethod
    async def disconnect(self) -> None: ...

    @abc.abstractmethod
    async def publish(self, channel: str, payload: bytes) -> None:
        """Deliver ``payload`` to every current subscriber of ``channel``; never blocks on a slow one."""

    @abc.abstractmethod
    async def subscribe(self, channel: str, max_queue: int) -> Subscription:
        """Start receiving ``channel``; messages published after this returns are delivered."""

    async def publish_frame(self, channel: str, kind: Kind, seq: int, frame: bytes) -> None:
        """Publish ``frame`` as :func:`pack` frames it (a broker may skip the packing for local listeners)."""
        await self.publish(channel, pack(kind, seq, frame))

    async def listen(self, channel: str, listener: Listener, max_queue: int) -> Listening:
        """Start delivering ``channel`` to ``listener``; messages published after this returns are delivered.
        Here through a subscription of ``max_queue`` and a task; brokers may deliver directly."""
        return _PumpedListening(await self.subscribe(channel, max_queue), listener)

    @abc.abstractmethod
    async def log_append(self, session_id: int, seq: int, frame: bytes, reset: bool) -> None:
        """Append a page-event frame to the session's log; ``reset`` (a snapshot) drops what came before."""

    @abc.abstractmethod
    async def log_read(self, session_id: int) -> list[tuple[int, bytes]]:
        """The last snapshot frame and the frames after it, as ``(seq, frame)``."""

    @abc.abstractmethod
    async def log_drop(self, session_id: int) -> None: ...

    @abc.abstractmethod
    async def claim_key(self, group_id: int, key: str, holder: str) -> bool:
        """Atomically make ``key`` live in the group for ``holder``; False if another holder has it."""

    @abc.abstractmethod
    async def release_key(self, group_id: int, key: str, holder: str) -> None:
        """Free the key, only if ``holder`` still holds it."""

    @abc.abstractmethod
    async def transfer_key(self, group_id: int, key: str, holder: str) -> None:
        """Make ``holder`` hold ``key`` whoever held it: the new home of a session takes over the claim its
        dead home made (an ordinary claim would fail, the dead node never releases it)."""

    # ---- nodes and the home of each session (many nodes; trivial on one) -------------------------------

    @abc.abstractmethod
    async def heartbeat(self, node: str, url: str, ttl: float) -> None:
        """Announce that ``node`` is alive and reachable at ``url`` (its internal base URL) for the next
        ``ttl`` seconds; a node repeats this well within ``ttl``, and is taken for dead once it lapses."""

    @abc.abstractmethod
    async def node_url(self, node: str) -> str | None:
        """The URL of ``node`` while its heartbeat lasts; None once it expired (or it never beat)."""

    @abc.abstractmethod
    async def claim_home(self, session_id: int, node: str) -> str:
        """Atomically make ``node`` the session's home unless a live node already is; return the home.

        The home is the node that runs the session's state machine; every connection of the session is
        tunnelled to it. A session without a home, or whose home's heartbeat expired, gets ``node``; the
        result is ``node`` when it is (or became) the home, else the other, live node."""

    @abc.abstractmethod
    async def home_of(self, session_id: int) -> str | None:
        """The session's home while that node is alive; None if it has none or its heartbeat expired."""

    @abc.abstractmethod
    async def drop_home(self, session_id: int, node: str) -> None:
        """Forget the session's home if it is ``node`` (the session ended there); else do nothing."""

    @abc.abstractmethod
    async def ping(self) -> None:
        """Raise if the broker's service does not answer (readiness checks, the broker-latency probe).
        A broker with no service (in-process) returns at once."""


def channel_for(session_id: int) -> str:
    return f"session:{session_id}"
