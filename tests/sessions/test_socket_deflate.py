"""permessage-deflate as the server negotiates it per socket (src/cobrowse/socket_deflate.py), seen from the
client: the window each side may use, and which messages arrive compressed (RSV1 set)."""

from __future__ import annotations

import asyncio
import json
import random
import string
from collections.abc import Sequence
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.extensions.base import Extension
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory, PerMessageDeflate
from websockets.frames import Frame, Opcode

from cobrowse.socket_deflate import PLAIN_BELOW
from support.live_server import LiveServer


class RecordingDeflate(PerMessageDeflate):
    """The client's permessage-deflate, noting of every data message whether it came compressed, and its
    size once inflated."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.received: list[tuple[bool, int, bytes]] = []

    def decode(self, frame: Frame, *, max_size: int | None = None) -> Frame:
        decoded = super().decode(frame, max_size=max_size)
        if frame.opcode in (Opcode.TEXT, Opcode.BINARY):
            self.received.append((frame.rsv1, len(decoded.data), bytes(decoded.data)))
        return decoded


class RecordingFactory(ClientPerMessageDeflateFactory):
    def __init__(self) -> None:
        super().__init__(client_max_window_bits=True, compress_settings={"memLevel": 5})
        self.made: list[RecordingDeflate] = []

    def process_response_params(
        self, params: Sequence[tuple[str, str | None]], accepted_extensions: Sequence[Extension]
    ) -> PerMessageDeflate:
        plain = super().process_response_params(params, accepted_extensions)
        recording = RecordingDeflate(
            plain.remote_no_context_takeover,
            plain.local_no_context_takeover,
            plain.remote_max_window_bits,
            plain.local_max_window_bits,
            plain.compress_settings,
        )
        self.made.append(recording)
        return recording


async def open_socket(
    server: LiveServer, path: str, cookie: str | None = None
) -> tuple[ClientConnection, RecordingDeflate]:
    factory = RecordingFactory()
    headers = {"Cookie": cookie} if cookie else {}
    ws = await connect(
        server.ws + path, extensions=[factory], compression=None, additional_headers=headers, max_size=None
    )
    return ws, factory.made[0]


async def send(ws: ClientConnection, **msg: Any) -> None:
    await ws.send(json.dumps({"v": 1, **msg}))


async def recv_type(ws: ClientConnection, t: str) -> dict[str, Any]:
    while True:
        msg: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), 5))
        if msg["t"] == t:
            return msg


def events(seq: int, epoch: int, snapshot: bool, data: list[Any]) -> str:
    return json.dumps({"v": 1, "t": "events", "seq": seq, "epoch": epoch, "snapshot": snapshot, "data": data})


def far_repeats(size: int) -> str:
    """Text whose second half repeats its first, 8 KiB back: with a 32 KiB window deflate refers to it
    from that far, which an inflater with a 4 KiB window cannot follow."""
    rng = random.Random(8)
    half = "".join(rng.choice(string.ascii_letters) for _ in range(size // 2))
    return half + half


async def test_a_visitor_page_compresses_with_a_32_kib_window_consoles_with_4(
    live_server: LiveServer,
) -> None:
    cookie = live_server.login()
    visitor, visitor_deflate = await open_socket(live_server, "/ws/visitor")
    agent, agent_deflate = await open_socket(live_server, "/ws/agent", cookie)
    try:
        assert visitor.response is not None and agent.response is not None
        assert "client_max_window_bits=15" in visitor.response.headers["Sec-WebSocket-Extensions"]
        assert "client_max_window_bits=12" in agent.response.headers["Sec-WebSocket-Extensions"]
        assert visitor_deflate.local_max_window_bits == 15 and agent_deflate.local_max_window_bits == 12
        assert visitor_deflate.remote_max_window_bits == agent_deflate.remote_max_window_bits == 12

        await send(visitor, t="start", group=1, key="deflate-window")
        assert (await recv_type(visitor, "started"))["key"] == "deflate-window"
        page = far_repeats(16_000)  # compressed with back references 8 KiB long
        snapshot = events(1, 1, True, [{"type": 2, "timestamp": 1, "text": page}])
        await visitor.send(snapshot)
        await send(agent, t="join", key="deflate-window", group=None)
        await recv_type(agent, "joined")
        got = await asyncio.wait_for(agent.recv(), 5)
        assert got == snapshot  # the server inflated it with the page's window
    finally:
        await visitor.close()
        await agent.close()


async def test_small_messages_to_consoles_go_uncompressed_large_ones_compressed(
    live_server: LiveServer,
) -> None:
    cookie = live_server.login()
    visitor, _ = await open_socket(live_server, "/ws/visitor")
    agent, agent_deflate = await open_socket(live_server, "/ws/agent", cookie)
    try:
        await send(visitor, t="start", group=1, key="deflate-small")
        await recv_type(visitor, "started")
        snapshot = events(1, 1, True, [{"type": 2, "timestamp": 1, "text": "row " * 500}])
        await visitor.send(snapshot)
        await send(agent, t="join", key="deflate-small", group=None)
        await recv_type(agent, "joined")
        small = events(2, 1, False, [{"type": 3, "timestamp": 2}])
        assert len(small) < PLAIN_BELOW < len(snapshot)
        await visitor.send(small)
        got = [await asyncio.wait_for(agent.recv(), 5)]
        while got[-1] != small:  # the snapshot from the log, the agents list, then the frame
            got.append(await asyncio.wait_for(agent.recv(), 5))
        assert snapshot in got
        by_content = {content: compressed for compressed, _, content in agent_deflate.received}
        assert by_content[snapshot.encode()] is True
        assert by_content[small.encode()] is False
        assert all(compressed == (size >= PLAIN_BELOW) for compressed, size, _ in agent_deflate.received)
    finally:
        await visitor.close()
        await agent.close()


async def test_nothing_sent_to_a_visitor_page_is_compressed(live_server: LiveServer) -> None:
    cookie = live_server.login()
    visitor, visitor_deflate = await open_socket(live_server, "/ws/visitor")
    agent, _ = await open_socket(live_server, "/ws/agent", cookie)
    try:
        await send(visitor, t="start", group=1, key="deflate-visitor")
        await recv_type(visitor, "started")
        await visitor.send(events(1, 1, True, [{"type": 2, "timestamp": 1}]))
        await send(agent, t="join", key="deflate-visitor", group=None)
        await recv_type(agent, "joined")
        note = "please look at the form " * 40  # a session message of about 1 KB to the page
        await send(agent, t="message", name="note", data=note)
        assert (await recv_type(visitor, "message"))["data"] == note
        assert max(size for _, size, _ in visitor_deflate.received) > PLAIN_BELOW
        assert [compressed for compressed, _, _ in visitor_deflate.received] == [False] * len(
            visitor_deflate.received
        )
    finally:
        await visitor.close()
        await agent.close()
