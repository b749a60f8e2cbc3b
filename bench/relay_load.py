"""What the relay benchmarks share (bench/relay.py, bench/slow_agent.py): the servers under test and the load.

A load generator written with a full WebSocket client library costs more CPU per message than the relay it
measures, and then it measures itself. These clients are asyncio protocols that do only what the benchmark
needs: the opening handshake, frames written with one ``transport.write`` (masked with a zero key, which the
protocol allows and which leaves the payload as it is), and frames read by their headers only. An agent
finds the send timestamp (``"ts":`` monotonic ns, one machine, one clock) within the first bytes of each
frame, so it never decodes JSON.

Both relays get the same bytes: a cobrowse ``events`` frame (the bare relay forwards anything).
"""

from __future__ import annotations

import asyncio
import base64
import os
import random
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

import httpx
import msgspec

BENCH = Path(__file__).resolve().parent
VENV_BIN = Path(sys.executable).parent
TICK = os.sysconf("SC_CLK_TCK")
TS = b'"ts":'
SNAPSHOT_REQUEST = b'"t":"snapshot_request"'
PAD_POOL = 64


class WsClient(asyncio.Protocol):
    """One WebSocket connection; ``on_frame(buffer, start, end)`` is called for each text or binary frame
    (after :meth:`handshake`); before that, frames are queued for :meth:`recv`."""

    def __init__(self, host: str, path: str, headers: dict[str, str]) -> None:
        self.host, self.path, self.headers = host, path, headers
        self.transport: asyncio.Transport | None = None
        self.opened: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.on_frame: Callable[[bytes, int, int], None] | None = None
        self._early: asyncio.Queue[bytes] = asyncio.Queue()
        self._buf = b""
        self._open = False
        self.bytes_in = 0

    # ---- asyncio.Protocol -----------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [
            f"GET {self.path} HTTP/1.1",
            f"Host: {self.host}",
            "Upgrade: websocket",
            "Connection: Upgrade",
            f"Sec-WebSocket-Key: {key}",
            "Sec-WebSocket-Version: 13",
            *(f"{k}: {v}" for k, v in self.headers.items()),
        ]
        transport.write(("\r\n".join(lines) + "\r\n\r\n").encode())

    def data_received(self, data: bytes) -> None:  # noqa: C901 - the frame parser, kept in one loop
        self.bytes_in += len(data)
        buf = self._buf + data if self._buf else data
        pos = 0
        if not self._open:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                self._buf = buf
                return
            if b" 101 " not in buf[: buf.find(b"\r\n")]:
                self.opened.set_exception(ConnectionError(buf[:200].decode(errors="replace")))
                return
            self._open = True
            self.opened.set_result(None)
            pos = end + 4
        size = len(buf)
        while size - pos >= 2:
            opcode = buf[pos] & 0x0F
            n = buf[pos + 1] & 0x7F
            head = 2
            if n == 126:
                if size - pos < 4:
                    break
                n = int.from_bytes(buf[pos + 2 : pos + 4], "big")
                head = 4
            elif n == 127:
                if size - pos < 10:
                    break
                n = int.from_bytes(buf[pos + 2 : pos + 10], "big")
                head = 10
            start = pos + head
            end = start + n
            if end > size:
                break
            pos = end
            if opcode in (1, 2):
                if self.on_frame is not None:
                    self.on_frame(buf, start, end)
                else:
                    self._early.put_nowait(buf[start:end])
            elif opcode == 9:  # ping: the server closes a socket that does not answer
                self.write_frame(buf[start:end], opcode=10)
            elif opcode == 8:
                self.write_frame(buf[start:end], opcode=8)
        self._buf = buf[pos:] if pos < size else b""

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.opened.done():
            self.opened.set_exception(exc or ConnectionError("closed during the handshake"))
        if not self.closed.done():
            self.closed.set_result(None)

    # ---- use --------------------------------------------------------------------------------------

    async def recv(self) -> bytes:
        """The next frame before :attr:`on_frame` is set (the handshake's answers); 10 s at most."""
        return await asyncio.wait_for(self._early.get(), 10.0)

    def write_frame(self, payload: bytes, opcode: int = 1) -> None:
        assert self.transport is not None
        self.transport.write(frame_header(len(payload), opcode) + payload)

    def write_raw(self, data: bytes) -> None:
        assert self.transport is not None
        self.transport.write(data)

    def pause(self) -> None:
        assert self.transport is not None
        self.transport.pause_reading()

    def resume(self) -> None:
        assert self.transport is not None
        self.transport.resume_reading()

    def close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.abort()


def frame_header(n: int, opcode: int = 1) -> bytes:
    """A final client frame's header, masked with the zero key."""
    b0 = 0x80 | opcode
    if n < 126:
        return bytes((b0, 0x80 | n)) + b"\0\0\0\0"
    if n < 65536:
        return bytes((b0, 0x80 | 126)) + n.to_bytes(2, "big") + b"\0\0\0\0"
    return bytes((b0, 0x80 | 127)) + n.to_bytes(8, "big") + b"\0\0\0\0"


async def open_ws(url: str, path: str, headers: dict[str, str] | None = None) -> WsClient:
    """Connect to ``url`` (``ws://host:port``) and complete the handshake."""
    hostport = url.removeprefix("ws://")
    host, port = hostport.rsplit(":", 1)
    loop = asyncio.get_running_loop()
    _, client = await loop.create_connection(lambda: WsClient(hostport, path, headers or {}), host, int(port))
    await asyncio.wait_for(client.opened, 10)
    return client


# ---- the load: visitors that send, agents that count ------------------------------------------------


@dataclass
class Window:
    """What the agents count: frames sent in [start_ns, end_ns) and received by the end of the drain."""

    start_ns: int = 0
    end_ns: int = 0
    sent: int = 0
    deliveries: int = 0
    latencies_ns: list[int] = field(default_factory=list)

    def open(self, seconds: float) -> None:
        self.start_ns = time.monotonic_ns()
        self.end_ns = self.start_ns + int(seconds * 1e9)
        self.sent = 0
        self.deliveries = 0
        self.latencies_ns = []


class Agent:
    """Counts the ``events`` frames that arrive and how long each took since its visitor sent it."""

    def __init__(self, ws: WsClient, window: Window) -> None:
        self.ws = ws
        self.window = window
        self.frames = 0
        self.snapshots = 0
        self.latencies_ns: list[int] = []  # this agent's own, when ``keep_own`` (bench/slow_agent.py)
        self.keep_own = False
        ws.on_frame = self.frame

    def frame(self, buf: bytes, start: int, end: int) -> None:
        now = time.monotonic_ns()
        self.frames += 1
        i = buf.find(TS, start, min(end, start + 160))
        if i < 0:
            return
        j = buf.find(b",", i + 5, i + 30)
        sent = int(buf[i + 5 : j])
        if buf.find(b'"snapshot":true', start, i) >= 0:
            self.snapshots += 1
        window = self.window
        if window.start_ns <= sent < window.end_ns:
            window.deliveries += 1
            window.latencies_ns.append(now - sent)
            if self.keep_own:
                self.latencies_ns.append(now - sent)


class Visitor:
    """Sends ``events`` frames of 0.5-2 KB and, every ``snapshot_seconds`` or when the server asks, a snapshot of
    about 200 KB (a new epoch). The pacer calls :meth:`send`."""

    def __init__(self, ws: WsClient, window: Window, pads: list[bytes], big_pad: bytes) -> None:
        self.ws = ws
        self.window = window
        self.pads = pads
        self.big_pad = big_pad
        self.seq = 0
        self.epoch = 0
        self.sent_total = 0
        self.snapshot_wanted = True
        self.next_snapshot = 0.0
        ws.on_frame = self.frame

    def frame(self, buf: bytes, start: int, end: int) -> None:
        if buf.find(SNAPSHOT_REQUEST, start, end) >= 0:
            self.snapshot_wanted = True

    def build(self, now_ns: int, snapshot: bool) -> bytes:
        self.seq += 1
        if snapshot:
            self.epoch += 1
            body = (
                b'{"v":1,"t":"events","seq":%d,"epoch":%d,"snapshot":true,"data":[{"type":2,"ts":%d,"pad":"'
                % (
                    self.seq,
                    self.epoch,
                    now_ns,
                )
            )
            payload = body + self.big_pad + b'"}]}'
        else:
            body = (
                b'{"v":1,"t":"events","seq":%d,"epoch":%d,"snapshot":false,"data":[{"type":3,"ts":%d,'
                b'"timestamp":1764000000000,"data":{"source":1,"pad":"' % (self.seq, self.epoch, now_ns)
            )
            payload = body + self.pads[self.seq % PAD_POOL] + b'"}}]}'
        return frame_header(len(payload)) + payload

    def send(self, count: int, now: float, snapshot_seconds: float) -> None:
        now_ns = time.monotonic_ns()
        frames = []
        for _ in range(count):
            snapshot = self.snapshot_wanted or (snapshot_seconds > 0 and now >= self.next_snapshot)
            if snapshot:
                self.snapshot_wanted = False
                self.next_snapshot = now + snapshot_seconds
            frames.append(self.build(now_ns, snapshot))
        self.ws.write_raw(b"".join(frames))
        self.sent_total += count
        window = self.window
        if window.start_ns <= now_ns < window.end_ns:
            window.sent += count


def make_pads(seed: int = 7) -> tuple[list[bytes], bytes]:
    """Pads that make frames of 0.5 to 2 KB (uniform), and the ~200 KB snapshot's."""
    rng = random.Random(seed)
    pads = [b"x" * rng.randint(380, 1880) for _ in range(PAD_POOL)]
    return pads, b"s" * 200_000


class Pacer:
    """Every ``tick`` seconds each visitor sends the frames it owes at ``rate`` frames/s (written together,
    as a page's batches that pile up in one tick would be)."""

    def __init__(self, visitors: list[Visitor], snapshot_seconds: float, tick: float = 0.001) -> None:
        self.visitors = visitors
        self.snapshot_seconds = snapshot_seconds
        self.tick = tick
        self.rate = 0.0

    async def run(self, rate: float, seconds: float) -> None:
        """Send at ``rate`` frames/s per visitor for ``seconds``; each visitor starts at its own phase."""
        self.rate = rate
        loop = asyncio.get_running_loop()
        start = loop.time()
        n = len(self.visitors)
        owed = [(i / n) / rate if rate else 0.0 for i in range(n)]  # phase offsets, in seconds
        sent = [0] * n
        for i, v in enumerate(self.visitors):
            if v.next_snapshot <= 0:
                v.next_snapshot = start + (i + 1) / n * self.snapshot_seconds
        end = start + seconds
        while True:
            now = loop.time()
            if now >= end:
                return
            elapsed = now - start
            for i, visitor in enumerate(self.visitors):
                due = int((elapsed + owed[i]) * rate) - sent[i]
                if due > 0:
                    visitor.send(due, now, self.snapshot_seconds)
                    sent[i] += due
            await asyncio.sleep(self.tick)


def percentile_ns(values: list[int], q: float) -> float:
    """The ``q`` quantile in milliseconds (nan when empty)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] / 1e6


# ---- servers and sessions -----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` (all its threads) from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def pin(pid: int, cpu: int | None) -> None:
    """Keep ``pid`` on one CPU (None: leave it to the scheduler)."""
    if cpu is not None and cpu < (os.cpu_count() or 1):
        os.sched_setaffinity(pid, {cpu})


def wait_healthy(url: str, proc: subprocess.Popen[bytes], path: str = "/api/v1/health") -> None:
    for _ in range(200):
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", int(url.rsplit(":", 1)[1])), timeout=1) as s:
                s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
                if s.recv(64).startswith(b"HTTP/1.1 200"):
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"server at {url} did not become healthy")


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    url: str  # ws://127.0.0.1:PORT
    cookie: str = ""  # the bench agent's console cookie (cobrowse only)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)


def start_cobrowse(data_dir: Path, env: dict[str, str] | None = None) -> Server:
    """``cobrowse serve`` on a free port with group 1 and an agent ``bench`` that may view it."""
    cli = [str(VENV_BIN / "cobrowse"), "--data-dir", str(data_dir)]
    subprocess.run([*cli, "group", "create", "--name", "Bench", "--id", "1"], check=True, capture_output=True)
    subprocess.run(
        [*cli, "agent", "create", "--username", "bench", "--group", "1", "--password", "bench-password"],
        check=True,
        capture_output=True,
    )
    port = free_port()
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("COBROWSE_")}
    full_env.update({"COBROWSE_LOG_LEVEL": "warning", **(env or {})})
    proc = subprocess.Popen([*cli, "serve", "--port", str(port)], env=full_env)
    url = f"http://127.0.0.1:{port}"
    wait_healthy(url, proc)
    login = httpx.post(url + "/agent/login", data={"username": "bench", "password": "bench-password"})
    cookie = "; ".join(f"{k}={v}" for k, v in login.cookies.items())
    if not cookie:
        raise SystemExit(f"could not log in the bench agent: {login.status_code}")
    return Server(proc, f"ws://127.0.0.1:{port}", cookie)


def start_bare() -> Server:
    port = free_port()
    proc = subprocess.Popen([sys.executable, str(BENCH / "bare_relay.py"), str(port)])
    wait_healthy(f"http://127.0.0.1:{port}", proc, "/health")
    return Server(proc, f"ws://127.0.0.1:{port}")


@dataclass
class Load:
    """The connected sessions of one server: their visitors, agents and the pacer that drives them."""

    window: Window
    visitors: list[Visitor]
    agents: list[list[Agent]]  # per session
    pacer: Pacer

    def close(self) -> None:
        for v in self.visitors:
            v.ws.close()
        for session in self.agents:
            for a in session:
                a.ws.close()


async def connect_load(
    kind: str, server: Server, sessions: int, agents: int, tag: str, snapshot_seconds: float
) -> Load:
    """``sessions`` sessions of one visitor and ``agents`` agents; ``kind`` is "bare" or "cobrowse"."""
    window = Window()
    pads, big_pad = make_pads()
    visitors: list[Visitor] = []
    all_agents: list[list[Agent]] = []
    for i in range(sessions):
        key = f"{tag}x{i}"
        if kind == "bare":
            vws = await open_ws(server.url, f"/ws/room/{key}")
        else:
            vws = await open_ws(server.url, "/ws/visitor")
            vws.write_frame(msgspec.json.encode({"v": 1, "t": "start", "group": 1, "key": key}))
            started = await vws.recv()
            if b'"t":"started"' not in started:
                raise SystemExit(f"visitor not started: {started[:200]!r}")
        visitors.append(Visitor(vws, window, pads, big_pad))
        session: list[Agent] = []
        for _ in range(agents):
            if kind == "bare":
                aws = await open_ws(server.url, f"/ws/room/{key}")
            else:
                aws = await open_ws(server.url, "/ws/agent", {"Cookie": server.cookie})
                aws.write_frame(msgspec.json.encode({"v": 1, "t": "join", "key": key, "group": None}))
                joined = await aws.recv()
                if b'"t":"joined"' not in joined:
                    raise SystemExit(f"agent not joined: {joined[:200]!r}")
            session.append(Agent(aws, window))
        all_agents.append(session)
    return Load(window, visitors, all_agents, Pacer(visitors, snapshot_seconds))


async def drain(load: Load, quiet: float = 0.3, limit: float = 5.0) -> None:
    """Wait until no agent has received anything for ``quiet`` seconds (at most ``limit``)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    last = -1
    while loop.time() < deadline:
        total = sum(a.ws.bytes_in for session in load.agents for a in session)
        if total == last:
            return
        last = total
        await asyncio.sleep(quiet)
