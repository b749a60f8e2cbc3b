"""The broker interface: session channels, the bounded late-join log, and key claims.

Everything that must be shared between server nodes goes through a :class:`Broker`; nothing else in the
server knows which backend is in use. Payloads are bytes framed by :func:`pack`: one kind byte, an 8-byte
sequence number (for page events) and the frame, so that a subscriber can skip events it already sent
without decoding JSON.
"""

from __future__ import annotations

import abc
import enum
from collections.abc import AsyncIterator
from types import TracebackType


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


def channel_for(session_id: int) -> str:
    return f"session:{session_id}"
