"""A lean WebSocket client for load generators (bench/simulated_sessions.py): what a browser's socket does on
the wire, for a fraction of the CPU of the ``websockets`` client, so that one generator core carries thousands
of simulated pages and consoles.
"""

from __future__ import annotations

import asyncio
import base64
import os
import zlib
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit


class LeanSocket(asyncio.Protocol):
    """A WebSocket client with nothing but what the simulation needs, so one generator core carries thousands
    of simulated pages (the ``websockets`` client costs about as much CPU per message as the server).

    Same wire as a browser: it offers permessage-deflate like Chromium (``client_max_window_bits``) and then
    compresses every message it sends (context takeover, the negotiated window) and inflates what it gets.
    Frames are masked, with the all-zero key (valid, and the masked bytes are the payload itself); pings are
    answered. Messages go to ``on_message`` once set, to an internal queue (``recv``) until then.

    ``compress_min``: messages shorter than this go out uncompressed (RFC 7692 lets a sender choose per
    message). Deflating a 400 B frame costs about 25 us of CPU (a sync flush per message), inflating it about
    2 us; a generator that deflated every small frame would need more CPU than the server it loads."""

    def __init__(self) -> None:
        self.compress_min = 0
        self.transport: asyncio.Transport | None = None
        self.on_message: Callable[[bytes], None] | None = None
        self.opened: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue: asyncio.Queue[bytes] = asyncio.Queue()
        self._buffer = bytearray()
        self._handshaking = True
        self._parts: list[bytes] = []
        self._compressed = False
        self._deflater: Any = None
        self._inflater: Any = None

    @classmethod
    async def connect(cls, url: str, cookie: str = "", deflate: bool = True) -> LeanSocket:
        parts = urlsplit(url)
        loop = asyncio.get_running_loop()
        _, sock = await loop.create_connection(cls, parts.hostname, parts.port)
        assert sock.transport is not None
        headers = [
            f"GET {parts.path} HTTP/1.1",
            f"Host: {parts.netloc}",
            "Upgrade: websocket",
            "Connection: Upgrade",
            f"Sec-WebSocket-Key: {base64.b64encode(os.urandom(16)).decode()}",
            "Sec-WebSocket-Version: 13",
        ]
        if deflate:
            headers.append("Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits")
        if cookie:
            headers.append(f"Cookie: {cookie}")
        sock.transport.write(("\r\n".join(headers) + "\r\n\r\n").encode())
        await asyncio.wait_for(sock.opened, 60)
        return sock

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's TCPTransport

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.opened.done():
            self.opened.set_exception(ConnectionError("closed during the handshake"))
        if not self.closed.done():
            self.closed.set_result(None)

    def _handshake(self) -> None:
        end = self._buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        head = bytes(self._buffer[:end]).decode("latin-1").split("\r\n")
        del self._buffer[: end + 4]
        self._handshaking = False
        if self.opened.done() or " 101 " not in head[0] + " ":
            if not self.opened.done():  # else the caller gave up waiting
                self.opened.set_exception(ConnectionError(f"handshake answered {head[0]!r}"))
            assert self.transport is not None
            self.transport.close()
            return
        for line in head[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "sec-websocket-extensions" and "permessage-deflate" in value:
                params = dict((p.split("=", 1) + [""])[:2] for p in (x.strip() for x in value.split(";")[1:]))
                client_bits = int(params.get("client_max_window_bits") or 15)
                server_bits = int(params.get("server_max_window_bits") or 15)
                self._deflater = zlib.compressobj(wbits=-client_bits)
                self._inflater = zlib.decompressobj(wbits=-server_bits)
        self.opened.set_result(None)

    def data_received(self, data: bytes) -> None:
        buf = self._buffer
        buf += data
        if self._handshaking:
            self._handshake()
            if self._handshaking:
                return  # the response's headers are not all here yet
        while len(buf) >= 2:
            length, pos = buf[1] & 0x7F, 2
            if length == 126:
                if len(buf) < 4:
                    return
                length, pos = int.from_bytes(buf[2:4], "big"), 4
            elif length == 127:
                if len(buf) < 10:
                    return
                length, pos = int.from_bytes(buf[2:10], "big"), 10
            if len(buf) < pos + length:
                return
            first, payload = buf[0], bytes(buf[pos : pos + length])
            del buf[: pos + length]
            self._frame(first, payload)

    def _frame(self, first: int, payload: bytes) -> None:
        opcode = first & 0x0F
        if opcode in (1, 2):
            self._compressed = bool(first & 0x40)
        elif opcode == 9:
            self._write(0x8A, payload)  # pong
            return
        elif opcode == 8:
            if not self.closed.done():
                self._write(0x88, payload[:2])
                assert self.transport is not None
                self.transport.close()
            return
        elif opcode != 0:
            return
        self._parts.append(payload)
        if not first & 0x80:
            return
        message = b"".join(self._parts)
        self._parts = []
        if self._compressed:
            message = self._inflater.decompress(message + b"\x00\x00\xff\xff")
        if self.on_message is not None:
            self.on_message(message)
        else:
            self._queue.put_nowait(message)

    def _write(self, first: int, payload: bytes) -> None:
        n = len(payload)
        if n < 126:
            head = bytes((first, 0x80 | n))
        elif n < 65536:
            head = bytes((first, 0xFE)) + n.to_bytes(2, "big")
        else:
            head = bytes((first, 0xFF)) + n.to_bytes(8, "big")
        assert self.transport is not None
        self.transport.write(head + b"\x00\x00\x00\x00" + payload)

    def send(self, text: str) -> None:
        """Send a text message (compressed if the extension was agreed); never blocks."""
        if self.closed.done():
            raise ConnectionError("the socket is closed")
        payload = text.encode()
        if self._deflater is not None and len(payload) >= self.compress_min:
            payload = (self._deflater.compress(payload) + self._deflater.flush(zlib.Z_SYNC_FLUSH))[:-4]
            self._write(0xC1, payload)
        else:
            self._write(0x81, payload)

    def ping(self) -> None:
        """Send a ping (the server answers it; nothing waits for the answer)."""
        self._write(0x89, b"")

    async def recv(self) -> bytes:
        getter = asyncio.ensure_future(self._queue.get())
        await asyncio.wait((getter, self.closed), return_when=asyncio.FIRST_COMPLETED)
        if not getter.done():
            getter.cancel()
            raise ConnectionError("the socket is closed")
        return getter.result()

    def close(self) -> None:
        if self.transport is not None and not self.closed.done():
            self._write(0x88, (1000).to_bytes(2, "big"))
            self.transport.close()
