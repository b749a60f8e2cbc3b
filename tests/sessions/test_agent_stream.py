"""An agent's stream and outbox without a network: the live channel, the log, and an agent that stops reading.

The socket is a stand-in whose ``send`` can be held (a peer that stopped reading: the server's writes wait);
the runtime, broker and session core are the real ones, with a store that only records continuity writes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, cast

import pytest
from starlette.websockets import WebSocket, WebSocketState

from cobrowse.broker import Kind, MemoryBroker
from cobrowse.config import Config
from cobrowse.protocol import actions as a
from cobrowse.protocol import messages as m
from cobrowse.protocol.session import SessionCore
from cobrowse.sessions.agent_endpoint import AgentStream
from cobrowse.sessions.outbox import Outbox
from cobrowse.sessions.runtime import SessionRuntime, agents_channel
from cobrowse.store import Store


class HeldSocket:
    """What an outbox writes to: records each text frame; while held, a send waits (the peer is not reading)."""

    def __init__(self) -> None:
        self.scope: dict[str, Any] = {}
        self.application_state = WebSocketState.CONNECTED
        self.written: list[bytes] = []
        self.closed: tuple[int, str] | None = None
        self._open = asyncio.Event()
        self._open.set()

    def hold(self) -> None:
        self._open.clear()

    def release(self) -> None:
        self._open.set()

    async def send(self, message: dict[str, Any]) -> None:
        await self._open.wait()
        self.written.append(message["text"].encode())

    async def close(self, code: int, reason: str = "") -> None:
        self.closed = (code, reason)
        self.application_state = WebSocketState.DISCONNECTED


class CountingBroker(MemoryBroker):
    def __init__(self) -> None:
        super().__init__()
        self.log_reads = 0

    async def log_read(self, session_id: int) -> list[tuple[int, bytes]]:
        self.log_reads += 1
        return await super().log_read(session_id)


class RecordingStore:
    """The one store call the relay path makes: continuity writes, which can be held."""

    def __init__(self) -> None:
        self.saved: list[dict[str, Any]] = []
        self.gate = asyncio.Event()
        self.gate.set()

    async def save_continuity(self, session_id: int, state: dict[str, Any]) -> bool:
        await self.gate.wait()
        self.saved.append(state)
        return True


def frame(seq: int, snapshot: bool = False) -> bytes:
    return b'{"v":1,"t":"events","seq":%d,"epoch":1,"snapshot":%s,"data":[]}' % (
        seq,
        b"true" if snapshot else b"false",
    )


def seq_of(data: bytes) -> int:
    return int(data.split(b'"seq":')[1].split(b",")[0]) if b'"t":"events"' in data else -1


class Session:
    """A live session on a real runtime and broker: the visitor's frames go through SessionCore and
    SessionRuntime exactly as the visitor socket sends them."""

    def __init__(self) -> None:
        self.broker = CountingBroker()
        self.store = RecordingStore()
        self.runtime = SessionRuntime(Config(), self.broker, cast(Store, self.store))
        self.core = SessionCore(session_id=1, group_id=1, key="k", random_key=False, visitor=m.VisitorInfo())
        self.core.visitor_connected("visitor")

    async def send(self, seq: int, snapshot: bool = False) -> None:
        ev = m.Events(seq=seq, epoch=1, snapshot=snapshot)
        await self.runtime.run(self.core, self.core.visitor_events("visitor", ev, frame(seq, snapshot)))

    async def agent(self, limit: int) -> tuple[AgentStream, HeldSocket]:
        """An agent as the endpoint seats it: listening first, then the writer, then joined and the log."""
        socket = HeldSocket()
        outbox = Outbox(cast(WebSocket, socket), limit)
        stream = AgentStream(self.runtime, self.core, outbox)
        await self.broker.listen(agents_channel(self.core.session_id), stream, limit)
        outbox.start()
        await stream.resync(first=b'{"t":"joined"}')
        return stream, socket


async def until(check: Callable[[], bool], what: str) -> None:
    for _ in range(10_000):
        if check():
            return
        await asyncio.sleep(0)
    pytest.fail(f"never: {what}")


async def test_an_agent_that_stops_reading_is_resynchronised_once_when_it_reads_again() -> None:
    session = Session()
    await session.send(1, snapshot=True)
    stream, socket = await session.agent(limit=4)
    await until(lambda: len(socket.written) == 2, "joined and the snapshot are written")
    socket.hold()
    await session.send(2)
    await until(lambda: not stream.outbox._frames, "the writer waits on the socket with frame 2")
    for seq in range(3, 41):
        await session.send(seq)
    assert stream.behind
    # behind: the backlog is dropped, nothing more is queued and the log is not read again meanwhile
    assert not stream.outbox._frames and session.broker.log_reads == 1
    socket.release()
    await until(lambda: socket.written and seq_of(socket.written[-1]) == 40, "the agent catches up")
    assert session.broker.log_reads == 2  # one resync, after the socket took what it had
    seqs = [seq_of(f) for f in socket.written]
    replay = len(seqs) - 1 - seqs[::-1].index(1)  # the last time the snapshot was written
    assert seqs[replay:] == list(range(1, 41))
    await session.send(41)
    await until(lambda: seq_of(socket.written[-1]) == 41, "live frames follow the replay")
    assert seqs.count(1) == 2


async def test_live_frames_queue_behind_a_log_replay_longer_than_the_limit() -> None:
    session = Session()
    await session.send(1, snapshot=True)
    for seq in range(2, 21):
        await session.send(seq)
    stream, socket = await session.agent(limit=4)  # the replay is 20 frames, the limit 4
    socket.hold()
    await session.send(21)
    await session.send(22)
    await session.send(23)
    socket.release()
    await until(lambda: socket.written and seq_of(socket.written[-1]) == 23, "everything is written")
    assert [seq_of(f) for f in socket.written] == [-1, *range(1, 24)]
    assert session.broker.log_reads == 1 and not stream.behind


async def test_messages_before_the_log_are_kept_and_events_come_from_the_log() -> None:
    session = Session()
    await session.send(1, snapshot=True)
    socket = HeldSocket()
    outbox = Outbox(cast(WebSocket, socket), 8)
    stream = AgentStream(session.runtime, session.core, outbox)
    await session.broker.listen(agents_channel(1), stream, 8)
    outbox.start()
    await session.send(2)  # published before the agent read the log: the log has it
    await session.runtime.run(
        session.core, [a.Publish(m.VisitorStatus(connected=True, tabs=1), to_visitor=False)]
    )
    await stream.resync(first=b'{"t":"joined"}')
    await until(lambda: len(socket.written) == 4, "joined, the log and the message are written")
    assert socket.written[0] == b'{"t":"joined"}'
    assert [seq_of(f) for f in socket.written[1:3]] == [1, 2]
    assert b'"t":"visitor"' in socket.written[3]


async def test_a_message_reaches_an_agent_that_fell_behind_and_ended_closes_after_it() -> None:
    session = Session()
    await session.send(1, snapshot=True)
    stream, socket = await session.agent(limit=2)
    await until(lambda: len(socket.written) == 2, "joined and the snapshot are written")
    socket.hold()
    await session.send(2)
    await until(lambda: not stream.outbox._frames, "the writer waits on the socket with frame 2")
    for seq in range(3, 10):
        await session.send(seq)
    assert stream.behind
    stream.deliver(Kind.ALL, 0, b'{"t":"ended","reason":"agent"}')
    socket.release()
    await until(lambda: socket.closed is not None, "the socket is closed")
    assert socket.written[-1] == b'{"t":"ended","reason":"agent"}'


async def test_continuity_is_written_in_the_background_and_changes_meanwhile_are_written_once() -> None:
    session = Session()
    session.store.gate.clear()  # a slow database
    await session.send(1, snapshot=True)  # PersistState: the frame is forwarded without waiting for the store
    await session.send(2)
    assert session.store.saved == [] and session.core.seq == 2
    await until(lambda: 1 in session.runtime._saving, "the write is under way")
    await asyncio.sleep(0)
    for page in ("a", "b", "c"):
        session.core.page = m.PageInfo(url=f"https://shop.example/{page}", title=page)
        await session.runtime.run(session.core, [a.PersistState()])
    stopping = asyncio.create_task(session.runtime.stop())
    await asyncio.sleep(0)
    assert not stopping.done()  # stop waits for the writes under way
    session.store.gate.set()
    await stopping
    assert [state["page"] for state in session.store.saved] == [
        None,  # the write under way when the page changed
        {"url": "https://shop.example/c", "title": "c"},  # one more for the three changes meanwhile
    ]
