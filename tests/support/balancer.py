"""A TCP load balancer for the cluster tests: what nginx or HAProxy would be in front of the nodes.

Each new client connection goes to the first backend of ``order`` that accepts a TCP connection (a backend
that refuses is skipped, as a load balancer's health check would), and bytes are copied both ways until
either side closes. No stickiness of any kind: a client's next connection may reach another node. Tests set
``order`` to decide where new connections go.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator

from .services import free_port


class Balancer:
    def __init__(self, backends: list[int]) -> None:
        self.order = list(backends)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        #: backend port of each connection made, in order (for tests that want to know where clients went)
        self.routed: list[int] = []
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="test-balancer")

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(asyncio.start_server(self._client, "127.0.0.1", self.port))
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            server.close()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        for port in list(self.order):
            with contextlib.suppress(OSError):
                upstream = await asyncio.open_connection("127.0.0.1", port)
                self.routed.append(port)
                break
        if upstream is None:
            writer.close()
            return
        up_reader, up_writer = upstream
        await asyncio.gather(_copy(reader, up_writer), _copy(up_reader, writer), return_exceptions=True)

    def start(self) -> Balancer:
        self._thread.start()
        self._ready.wait(10)
        return self

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)


async def _copy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    finally:
        with contextlib.suppress(Exception):
            writer.close()


@contextlib.contextmanager
def balancer(backends: list[int]) -> Iterator[Balancer]:
    lb = Balancer(backends).start()
    try:
        yield lb
    finally:
        lb.stop()
