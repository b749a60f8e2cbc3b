"""Simulated visitors and agents over WebSocket, and the servers they load (bench/capacity.py, bench/memory.py).

A simulated session does on the wire what the visitor script and the agent console do, without browsers: the
visitor sends ``start``, one full snapshot, then small rrweb-like ``events`` frames; the agent joins, gets the
snapshot (from the session's log) and then the live frames. The same sessions run against the bare relay
(bench/bare_relay.py, a room per session: every frame goes to the room's other socket, nothing else) as the
baseline; the frames are byte for byte the same, the bare relay just does not read them.

Sockets offer permessage-deflate as Chromium does and compress what they send, so the servers carry the
compression state and work a real deployment carries; ``deflate=False`` turns it off.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import random
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, Literal, TypeVar

import httpx
import msgspec

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lean_socket import LeanSocket  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
TICK = os.sysconf("SC_CLK_TCK")

Kind = Literal["bare", "cobrowse"]
KINDS: tuple[Kind, Kind] = ("bare", "cobrowse")
LABELS = {"bare": "bare relay (baseline)", "cobrowse": "cobrowse"}
T = TypeVar("T")
#: Sessions a generator process opens at once (a burst of session starts is a burst of database writes).
OPENING = 16


# ---- processes ---------------------------------------------------------------------------------------


def raise_fd_limit() -> int:
    """Raise this process's soft limit of open files to the hard limit (thousands of sockets); returns it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` (all its threads) so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def cpu_pressure_us() -> int:
    """Microseconds so far in which some runnable task of the machine waited for a CPU (Linux PSI; 0 if there
    is none). Over a window, the share of it tells how busy the machine was with everything else too."""
    try:
        for line in Path("/proc/pressure/cpu").read_text().splitlines():
            if line.startswith("some "):
                return int(line.rsplit("total=", 1)[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def rss_bytes(pid: int) -> int:
    """Resident set size of process ``pid`` (VmRSS: what the process holds in RAM now)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


@dataclass
class Servers:
    """``cobrowse serve`` and the bare relay, each its own process, with an agent logged in to cobrowse."""

    procs: dict[Kind, subprocess.Popen[bytes]]
    urls: dict[Kind, str]
    cookie: str
    data_dir: Path

    def pid(self, kind: Kind) -> int:
        return self.procs[kind].pid

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        shutil.rmtree(self.data_dir, ignore_errors=True)


def _wait_http(url: str, proc: subprocess.Popen[bytes]) -> None:
    for _ in range(300):
        if proc.poll() is not None:
            raise SystemExit(f"{proc.args} exited with {proc.returncode}")
        try:
            httpx.get(url, timeout=1.0)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise SystemExit(f"{url} did not answer")


def start_servers(env: dict[str, str] | None = None) -> Servers:
    """Start both servers on free ports (documented defaults, log level warning, ``env`` on top) and log in."""
    data_dir = Path(tempfile.mkdtemp(prefix="cobrowse-bench-"))
    cli = [str(VENV_BIN / "cobrowse"), "--data-dir", str(data_dir)]
    subprocess.run([*cli, "group", "create", "--name", "Bench", "--id", "1"], check=True, capture_output=True)
    subprocess.run(
        [*cli, "agent", "create", "--username", "bench", "--group", "1", "--password", "bench-password"],
        check=True,
        capture_output=True,
    )
    port, bare_port = free_port(), free_port()
    server_env = {k: v for k, v in os.environ.items() if not k.startswith("COBROWSE_")}
    server_env.update({"COBROWSE_LOG_LEVEL": "warning", **(env or {})})
    procs: dict[Kind, subprocess.Popen[bytes]] = {
        "cobrowse": subprocess.Popen(
            [*cli, "serve", "--port", str(port)], env=server_env, preexec_fn=raise_fd_limit
        ),
        "bare": subprocess.Popen(
            [sys.executable, str(ROOT / "bench/bare_relay.py"), str(bare_port)], preexec_fn=raise_fd_limit
        ),
    }
    http = f"http://127.0.0.1:{port}"
    _wait_http(http + "/api/v1/health", procs["cobrowse"])
    _wait_http(f"http://127.0.0.1:{bare_port}/", procs["bare"])
    login = httpx.post(http + "/agent/login", data={"username": "bench", "password": "bench-password"})
    cookie = "; ".join(f"{k}={v}" for k, v in login.cookies.items())
    if not cookie:
        raise SystemExit(f"login failed: {login.status_code}")
    urls: dict[Kind, str] = {"cobrowse": f"ws://127.0.0.1:{port}", "bare": f"ws://127.0.0.1:{bare_port}"}
    return Servers(procs, urls, cookie, data_dir)


class Generators:
    """Generator processes driven in lockstep: every command goes to all, then every answer is read.

    ``target(index, conn, *args)`` is the process's main function: it answers each command read from
    ``conn`` and returns on ``("exit",)`` (after answering it)."""

    def __init__(self, count: int, target: Callable[..., None], *args: Any) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.conns: list[Connection] = []
        self.procs = []
        for index in range(count):
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=target, args=(index, child, *args), daemon=True)
            proc.start()
            self.conns.append(parent)
            self.procs.append(proc)

    def call(self, *command: Any) -> list[Any]:
        for conn in self.conns:
            conn.send(command)
        return [conn.recv() for conn in self.conns]

    def call_split(self, command: str, kind: Kind, total: int, *rest: Any) -> list[Any]:
        """``command`` with this generator's share of ``total`` sessions."""
        n = len(self.conns)
        for i, conn in enumerate(self.conns):
            conn.send((command, kind, total // n + (1 if i < total % n else 0), *rest))
        return [conn.recv() for conn in self.conns]

    def stop(self) -> None:
        for conn, proc in zip(self.conns, self.procs, strict=True):
            try:
                conn.send(("exit",))
                conn.recv()
            except (OSError, EOFError):
                pass
            proc.join(10)
            if proc.is_alive():
                proc.kill()


# ---- frames ------------------------------------------------------------------------------------------


def snapshot_frame(size: int, seq: int = 1, epoch: int = 1) -> str:
    """An rrweb Meta + FullSnapshot ``events`` frame of exactly ``size`` bytes: a page of rows of text."""
    head = f'{{"v":1,"t":"events","seq":{seq},"epoch":{epoch},"snapshot":true,"data":['
    meta = '{"type":4,"data":{"href":"http://shop.example/bench","width":1280,"height":800},"timestamp":1}'
    rows: list[str] = []
    used = len(head) + len(meta) + 300
    node_id = 10
    rng = random.Random(size)
    while used < size - 400:
        text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 12)))
        row = (
            f'{{"type":2,"tagName":"div","attributes":{{"class":"row r{node_id}"}},"childNodes":'
            f'[{{"type":3,"textContent":"{text}","id":{node_id + 1}}}],"id":{node_id}}}'
        )
        rows.append(row)
        used += len(row) + 1
        node_id += 2

    def build(pad: str) -> str:
        body = (
            '{"type":2,"data":{"node":{"type":0,"childNodes":[{"type":2,"tagName":"body",'
            f'"attributes":{{"data-pad":"{pad}"}},"childNodes":[{",".join(rows)}],"id":5}}],"id":1}},'
            '"initialOffset":{"left":0,"top":0}},"timestamp":2}'
        )
        return head + meta + "," + body + "]}"

    pad = size - len(build(""))
    if pad < 0:
        raise ValueError(f"snapshot size {size} is too small")
    frame = build("x" * pad)
    assert len(frame) == size, (len(frame), size)
    json.loads(frame)
    return frame


WORDS = (
    "cart checkout price total shipping address quantity remove apply coupon delivery express standard "
    "order summary subtotal tax payment card visa name email phone continue back help account sign in"
).split()


class EventFrames:
    """Small rrweb-like ``events`` frames (a pointer move, sometimes an input or a text change), 150-700 B.

    The first event's ``data.t`` is the sender's ``time.perf_counter_ns()`` (CLOCK_MONOTONIC, the same in
    every process of the machine), so the receiver can tell the latency. The frames are cut from a pool of
    templates made up front: a generator spends its CPU on sending, not on making up pointer positions."""

    def __init__(self, seed: int = 1, pool: int = 512) -> None:
        rng = random.Random(seed)
        self.templates = [self._template(rng) for _ in range(pool)]
        self.next = 0

    @staticmethod
    def _template(rng: random.Random) -> str:
        positions = ",".join(
            f'{{"x":{rng.randint(0, 1279)},"y":{rng.randint(0, 799)},"id":{rng.randint(5, 900)},'
            f'"timeOffset":{-10 * i}}}'
            for i in range(rng.randint(1, 5))
        )
        events = ['{"type":3,"timestamp":%d,"data":{"source":1,"t":%d,"positions":[' + positions + "]}}"]
        roll = rng.random()
        if roll < 0.3:
            text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 6)))
            events.append(
                f'{{"type":3,"timestamp":%d,"data":{{"source":5,"text":"{text}","isChecked":false,'
                f'"id":{rng.randint(5, 900)}}}}}'
            )
        elif roll < 0.5:
            texts = ",".join(
                f'{{"id":{rng.randint(5, 900)},"value":"{rng.choice(WORDS)} {rng.randint(1, 999)}"}}'
                for _ in range(rng.randint(1, 8))
            )
            events.append(
                f'{{"type":3,"timestamp":%d,"data":{{"source":0,"texts":[{texts}],"attributes":[],'
                '"removes":[],"adds":[]}}'
            )
        return '{"v":1,"t":"events","seq":%d,"epoch":%d,"snapshot":false,"data":[' + ",".join(events) + "]}"

    def frame(self, seq: int, epoch: int, t_ns: int) -> str:
        template = self.templates[self.next]
        self.next = (self.next + 1) % len(self.templates)
        ms = int(time.time() * 1000)
        if template.count("%d") == 4:
            return template % (seq, epoch, ms, t_ns)
        return template % (seq, epoch, ms, t_ns, ms)


class _Probe(msgspec.Struct):
    t: int = 0


class _Event(msgspec.Struct):
    data: _Probe = msgspec.field(default_factory=_Probe)


class Received(msgspec.Struct):
    """What an agent needs of a frame: its type, and for ``events`` its seq, whether a snapshot, the probe."""

    t: str = ""
    seq: int = 0
    snapshot: bool = False
    data: list[_Event] | None = None


decode_received = msgspec.json.Decoder(Received).decode


# ---- sessions -------------------------------------------------------------------------------------------


async def open_visitor(kind: Kind, url: str, key: str, deflate: bool) -> LeanSocket:
    """A visitor page's socket, past ``started`` (cobrowse) or just open (bare relay)."""
    if kind == "bare":
        return await LeanSocket.connect(f"{url}/ws/room/{key}", deflate=deflate)
    ws = await LeanSocket.connect(f"{url}/ws/visitor", deflate=deflate)
    ws.send(json.dumps({"v": 1, "t": "start", "group": 1, "key": key}))
    raw = await ws.recv()
    if decode_received(raw).t != "started":
        raise RuntimeError(f"start of {key} answered {raw[:200]!r}")
    return ws


async def open_agent(kind: Kind, url: str, key: str, cookie: str, deflate: bool) -> LeanSocket:
    """An agent console's socket, past ``joined`` (cobrowse) or just open (bare relay)."""
    if kind == "bare":
        return await LeanSocket.connect(f"{url}/ws/room/{key}", deflate=deflate)
    ws = await LeanSocket.connect(f"{url}/ws/agent", cookie=cookie, deflate=deflate)
    ws.send(json.dumps({"v": 1, "t": "join", "key": key, "group": None}))
    raw = await ws.recv()
    if decode_received(raw).t != "joined":
        raise RuntimeError(f"join of {key} answered {raw[:200]!r}")
    return ws


async def retrying(
    attempt: Callable[[int], Awaitable[T]], tries: int = 3, pause: float = 1.0
) -> tuple[T, int]:
    """``attempt(n)`` until it succeeds, at most ``tries`` times; its result and how many failed before.

    A burst of session starts is a burst of database writes; the server refuses a start whose write waited
    too long for the database (``service``: SQLite's "database is locked" past its busy timeout) and the page
    tries again later, as the visitor script does. The last failure is raised."""
    for n in range(tries):
        try:
            return await attempt(n), n
        except Exception:
            if n == tries - 1:
                raise
            await asyncio.sleep(pause * (n + 1))
    raise AssertionError("unreachable")


async def until_snapshot(agent: LeanSocket) -> None:
    """Read the agent's socket until a snapshot frame has arrived (from the log, or forwarded)."""
    while True:
        frame = decode_received(await agent.recv())
        if frame.t == "events" and frame.snapshot:
            return
