"""An agent that stops reading, over a real server: the others get every frame; it is resynchronised later.

The slow agent's socket has a small receive buffer and its client stops reading after one queued message,
so the server's writes to it stall; the visitor sends a few MB meanwhile (more than the kernel's buffers
hold), so the server's queue for that agent overflows (``agent_queue_frames`` is 8 here).
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect

from support.live_server import LiveServer, serve

FRAMES = 200
PAD = "x" * 48_000


@pytest.fixture(scope="module")
def small_queue_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """support.live_server's server, with agent queues of 8 frames."""
    with serve(
        tmp_path_factory.mktemp("server"), agent_queue_frames=8, log_max_bytes=64 * 1024 * 1024
    ) as server:
        yield server


async def send(ws: ClientConnection, **msg: Any) -> None:
    await ws.send(json.dumps({"v": 1, **msg}))


async def recv_json(ws: ClientConnection) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), 20))
    return data


async def read_until_seq(ws: ClientConnection, last: int) -> list[int]:
    """The seqs of the events frames received, until (and with) ``last``."""
    seqs: list[int] = []
    while not seqs or seqs[-1] != last:
        msg = await recv_json(ws)
        if msg["t"] == "events":
            seqs.append(msg["seq"])
    return seqs


async def join(server: LiveServer, cookie: str, slow: bool) -> ClientConnection:
    sock = None
    if slow:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", int(server.ws.rsplit(":", 1)[1])))
        sock.setblocking(False)
    ws = await connect(
        server.ws + "/ws/agent",
        additional_headers={"Cookie": cookie},
        max_size=None,
        max_queue=1 if slow else 16,
        sock=sock,
        compression=None,  # the pad would compress to nothing
    )
    await send(ws, t="join", key="slow-agent", group=None)
    assert (await recv_json(ws))["t"] == "joined"
    return ws


async def test_a_stalled_agent_costs_the_others_nothing_and_catches_up_from_a_snapshot(
    small_queue_server: LiveServer,
) -> None:
    cookie = small_queue_server.login()
    visitor = await connect(small_queue_server.ws + "/ws/visitor", max_size=None, compression=None)
    await send(
        visitor, t="start", group=1, key="slow-agent", page={"url": "https://shop.example/", "title": ""}
    )
    assert (await recv_json(visitor))["t"] == "started"
    await send(visitor, t="events", seq=1, epoch=1, snapshot=True, data=[{"type": 2}])
    reader = await join(small_queue_server, cookie, slow=False)
    stalled = await join(small_queue_server, cookie, slow=True)

    received: list[int] = []
    for seq in range(2, FRAMES + 1):  # in step with the reading agent: only the stalled one falls behind
        await send(visitor, t="events", seq=seq, epoch=1, snapshot=False, data=[{"type": 3, "pad": PAD}])
        received += await read_until_seq(reader, seq)
    assert received == list(range(1, FRAMES + 1))  # all of them, in order, never resynchronised

    seqs = await read_until_seq(stalled, FRAMES)
    assert 1 in seqs[1:], "the stalled agent was resynchronised: the log replay starts at the snapshot"
    replay = len(seqs) - 1 - seqs[::-1].index(1)
    assert seqs[replay:] == list(range(1, FRAMES + 1))
    assert len(seqs) < 2 * FRAMES  # one replay, not one per frame that did not fit
    for ws in (visitor, reader, stalled):
        await ws.close()
