"""Memory (issue 8, figure 7): the server's RSS per idle session and per agent connection, against the bare
relay's per connection, in the same run.

A real ``cobrowse serve`` and the bare relay (bench/bare_relay.py), each its own process; simulated pages and
consoles (bench/simulated_sessions.py) from a separate generator process. After a warm-up (``--warmup``
sessions with an agent each, so that one-time costs such as imports, caches and the first database rows are
paid before the first point), sessions are opened in steps up to each count of ``--counts``: an idle session
is a visitor socket that sent ``start`` and one snapshot of ``--snapshot-kb`` kB (cobrowse keeps it in the
session's log for late joiners; the bare relay forwards it to nobody and keeps nothing). Then one agent per
session is added, in the same steps. At each point the server's VmRSS is read from /proc once it has settled.

Each page sends a WebSocket ping after its snapshot. The server's WebSocket layer (websockets' frame parser)
holds on to the last frame it parsed until the next one arrives; the server pings every page every 20 s, and
the page's pong releases it. The ping makes each point the steady state of an idle session at once instead
of 20 s later (``--no-ping`` shows the first 20 s: one more snapshot's worth per session).

The slopes (least squares over the points) are the cost per session and per agent; a session's cost minus its
snapshot's size is what the target bounds: at most 100 KiB per idle session besides its snapshot. Sockets
negotiate permessage-deflate and compress what they send, as browsers do (``--no-deflate`` to compare).

    .venv/bin/python bench/memory.py                          # 0, 200, 500, 1000 sessions; appends to RESULTS.md
    .venv/bin/python bench/memory.py --counts 0,100,200 --no-write
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from datetime import datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parent))
from browser import append_results  # noqa: E402
from lean_socket import LeanSocket  # noqa: E402
from simulated_sessions import (  # noqa: E402
    KINDS,
    LABELS,
    OPENING,
    ROOT,
    Generators,
    Kind,
    open_agent,
    open_visitor,
    raise_fd_limit,
    retrying,
    rss_bytes,
    snapshot_frame,
    start_servers,
    until_snapshot,
)

TARGET_KIB = 100.0


class Opener:
    """Opens idle visitors and agents and keeps them open (one generator process)."""

    def __init__(self, urls: dict[Kind, str], cookie: str, spec: dict[str, Any]) -> None:
        self.urls = urls
        self.cookie = cookie
        self.deflate: bool = spec["deflate"]
        self.ping: bool = spec["ping"]
        self.snapshot = snapshot_frame(spec["snapshot_bytes"])
        self.visitors: dict[Kind, list[tuple[str, LeanSocket]]] = {"bare": [], "cobrowse": []}
        self.agents: dict[Kind, list[LeanSocket]] = {"bare": [], "cobrowse": []}

    async def add_visitors(self, kind: Kind, count: int) -> int:
        async def attempt(key: str) -> tuple[str, LeanSocket]:
            ws = await open_visitor(kind, self.urls[kind], key, self.deflate)
            ws.send(self.snapshot)
            if self.ping:
                ws.ping()
            ws.on_message = _ignore
            return key, ws

        async def one(key: str) -> None:
            async with gate:
                opened, _ = await retrying(lambda n: attempt(f"{key}a{n}"))  # a start refused: see retrying
                self.visitors[kind].append(opened)

        gate = asyncio.Semaphore(OPENING)
        have = len(self.visitors[kind])
        await asyncio.gather(*(one(f"m{kind[0]}{n}") for n in range(have, count)))
        return len(self.visitors[kind])

    async def add_agents(self, kind: Kind, count: int) -> int:
        async def one(key: str) -> None:
            async with gate:
                ws = await open_agent(kind, self.urls[kind], key, self.cookie, self.deflate)
                if kind == "cobrowse":
                    await asyncio.wait_for(until_snapshot(ws), 60)  # the snapshot from the session's log
                ws.on_message = _ignore
                self.agents[kind].append(ws)

        gate = asyncio.Semaphore(OPENING)
        have = len(self.agents[kind])
        await asyncio.gather(*(one(key) for key, _ in self.visitors[kind][have:count]))
        return len(self.agents[kind])


def _ignore(_: bytes) -> None:
    pass


async def _serve(conn: Connection, urls: dict[Kind, str], cookie: str, spec: dict[str, Any]) -> None:
    opener = Opener(urls, cookie, spec)
    loop = asyncio.get_running_loop()
    while True:
        command, *params = await loop.run_in_executor(None, conn.recv)
        if command == "exit":
            conn.send(None)
            return
        method = opener.add_visitors if command == "visitors" else opener.add_agents
        try:
            conn.send(await method(*params))
        except Exception as exc:  # told to the main process, which stops
            conn.send(f"could not open: {exc!r}")


def opener_main(_: int, conn: Connection, urls: dict[Kind, str], cookie: str, spec: dict[str, Any]) -> None:
    raise_fd_limit()
    uvloop.run(_serve(conn, urls, cookie, spec))


def settled_rss(pid: int, settle: float) -> int:
    """VmRSS once the server has digested what was sent: after ``settle`` s, then until two readings 0.5 s
    apart agree within 64 KiB (at most 10 s more)."""
    time.sleep(settle)
    last = rss_bytes(pid)
    for _ in range(20):
        time.sleep(0.5)
        now = rss_bytes(pid)
        if abs(now - last) <= 64 * 1024:
            return now
        last = now
    return last


def slope(points: list[tuple[int, int]]) -> float:
    """Least-squares bytes per unit of ``points`` (count, bytes)."""
    xs = [float(x) for x, _ in points]
    ys = [float(y) for _, y in points]
    return statistics.linear_regression(xs, ys).slope


def _opened(answer: int | str, wanted: int) -> None:
    if answer != wanted:
        raise SystemExit(f"the generator has {answer} sockets open, not {wanted}")


def measure(args: argparse.Namespace) -> dict[str, Any]:
    raise_fd_limit()
    servers = start_servers()
    snapshot = len(snapshot_frame(args.snapshot_kb * 1000))
    spec = {
        "deflate": not args.no_deflate,
        "snapshot_bytes": args.snapshot_kb * 1000,
        "ping": not args.no_ping,
    }
    gens = Generators(1, opener_main, servers.urls, servers.cookie, spec)
    sessions: dict[Kind, list[tuple[int, int]]] = {kind: [] for kind in KINDS}
    agents: dict[Kind, list[tuple[int, int]]] = {kind: [] for kind in KINDS}
    try:
        for kind in KINDS:
            _opened(gens.call("visitors", kind, args.warmup)[0], args.warmup)
            _opened(gens.call("agents", kind, args.warmup)[0], args.warmup)
        for count in args.counts:  # the kinds interleaved at each count
            for kind in KINDS:
                _opened(gens.call("visitors", kind, args.warmup + count)[0], args.warmup + count)
                sessions[kind].append((count, settled_rss(servers.pid(kind), args.settle)))
                print(
                    f"{kind}: {count} idle sessions, RSS {sessions[kind][-1][1] / 2**20:.1f} MiB", flush=True
                )
        for count in args.counts:
            for kind in KINDS:
                _opened(gens.call("agents", kind, args.warmup + count)[0], args.warmup + count)
                agents[kind].append((count, settled_rss(servers.pid(kind), args.settle)))
                print(f"{kind}: {count} agents, RSS {agents[kind][-1][1] / 2**20:.1f} MiB", flush=True)
    finally:
        gens.stop()
        servers.stop()
    return {"sessions": sessions, "agents": agents, "snapshot": snapshot}


def report(args: argparse.Namespace, result: dict[str, Any]) -> str:
    when = datetime.now().strftime("%Y-%m-%d %H:%M")
    snapshot = result["snapshot"]
    sessions, agents = result["sessions"], result["agents"]
    per: dict[str, float] = {}
    rows = []
    for kind in KINDS:
        for what, points, unit in (
            ("idle sessions (visitor + snapshot)", sessions[kind], "session"),
            ("agents, one per session", agents[kind], "agent"),
        ):
            cost = slope(points) / 1024
            per[f"{kind}:{unit}"] = cost
            besides = f"{cost - snapshot / 1024:,.1f}" if unit == "session" else ""
            if kind == "bare":
                what = what.replace(
                    "idle sessions (visitor + snapshot)", "visitor connections (snapshot sent)"
                )
                what = what.replace("agents, one per session", "agent connections, one per room")
                besides = f"{cost:,.1f}" if unit == "session" else ""
            rows.append(
                f"| {LABELS[kind]} | {what} | "
                + " | ".join(f"{rss / 2**20:,.1f}" for _, rss in points)
                + f" | {cost:,.1f} | {besides} |"
            )
    idle = per["cobrowse:session"] - snapshot / 1024
    met = idle <= TARGET_KIB
    counts = " | ".join(f"RSS MiB at {c:,}" for c in args.counts)
    lines = [
        "## Memory: server RSS per idle session and per connection",
        "",
        f"Command: `{args.command}` ({when}, {os.cpu_count()} cores, loopback; {args.warmup} warm-up sessions with"
        f" an agent each opened first; snapshot frame {snapshot / 1024:,.1f} KiB; permessage-deflate "
        f"{'off' if args.no_deflate else 'on, every message compressed as browsers do'}; "
        f"{'no ping' if args.no_ping else 'a ping after each snapshot'}; VmRSS of the server process from /proc "
        "once settled; slopes by least squares)",
        "",
        f"| server | opened | {counts} | KiB each (slope) | KiB each besides the snapshot |",
        "|---|---|" + "---|" * len(args.counts) + "---|---|",
        *rows,
        "",
        f"cobrowse: {idle:,.1f} KiB per idle session besides its snapshot (target at most {TARGET_KIB:.0f} KiB: "
        f"{'met' if met else 'not met'}), {per['cobrowse:agent']:,.1f} KiB per agent connection. The bare relay "
        f"(baseline): {per['bare:agent']:,.1f} KiB per connection (its agent sockets, which received nothing); "
        f"its visitor sockets cost {per['bare:session']:,.1f} KiB each, because its loop keeps the last frame it "
        "received (the snapshot) until the next one.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--counts", default="0,200,500,1000", help="session counts, ascending, from 0")
    parser.add_argument("--snapshot-kb", type=int, default=200, help="size of each session's snapshot")
    parser.add_argument("--warmup", type=int, default=20, help="sessions opened before the first point")
    parser.add_argument("--settle", type=float, default=2.0, help="seconds before reading RSS")
    parser.add_argument("--no-deflate", action="store_true", help="sockets without permessage-deflate")
    parser.add_argument(
        "--no-ping", action="store_true", help="no ping after the snapshot: the first 20 s of an idle session"
    )
    parser.add_argument("--quick", action="store_true", help="counts 0, 100, 200")
    parser.add_argument(
        "--no-write", action="store_true", help="print only; do not append to bench/RESULTS.md"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.counts = "0,100,200"
    args.counts = sorted(int(c) for c in str(args.counts).split(","))
    args.command = ".venv/bin/python bench/memory.py" + "".join(
        f" {a}" for a in (sys.argv[1:] if argv is None else argv)
    )
    text = report(args, measure(args))
    print(text)
    if not args.no_write:
        append_results(ROOT / "bench" / "RESULTS.md", text)


if __name__ == "__main__":
    main()
