"""What the broker tests share: a listener that records what it gets, and polling for remote deliveries."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from cobrowse.broker import Kind


class Recorder:
    """A :class:`~cobrowse.broker.Listener` that keeps every delivery (and may fail, like a broken socket)."""

    def __init__(self, fail: bool = False) -> None:
        self.got: list[tuple[Kind, int, bytes]] = []
        self.overflows = 0
        self.fail = fail

    def deliver(self, kind: Kind, seq: int, frame: bytes) -> None:
        self.got.append((kind, seq, frame))
        if self.fail:
            raise RuntimeError("this socket is broken")

    def overflowed(self) -> None:
        self.overflows += 1


async def eventually(check: Callable[[], bool | Awaitable[bool]], what: str, timeout: float = 5.0) -> None:
    """Poll ``check`` (plain or async) until it is true: messages from another node arrive through Redis
    and the reader task, so a test waits for them instead of sleeping a fixed time."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = check()
        if not isinstance(result, bool):
            result = await result
        if result:
            return
        if loop.time() > deadline:
            pytest.fail(f"never: {what}")
        await asyncio.sleep(0.01)
