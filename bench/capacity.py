"""Concurrent sessions (issue 8, figure 5): the most sessions the server carries with p99 under 100 ms and
nothing lost, against the bare relay in the same run.

Each session is one simulated visitor and one simulated agent (bench/simulated_sessions.py): the visitor sends
one full snapshot at the start, then small rrweb-like frames (150-700 B) at ``--rate`` frames a second (5 by
default, with a random phase); the agent reads everything. The sessions are ramped in steps; at each step the
bare relay and cobrowse are measured one after the other (interleaved, so the machine's drift hits both alike):
the sessions of the one measured send, the other's sit idle (open, not sending). A step passes when, over its
measuring window, the visitor-send to agent-receive p99 is under ``--p99-ms`` and every frame sent in the
window arrived (within ``--grace`` seconds), no agent was resynchronised, no socket closed and every session
could start. A kind that fails a step is not measured further; its sessions are closed. A window that fails
while the generators themselves were late (send lateness p99 over ``--max-late-ms``: something else on the
machine took their CPU) is tried again, up to ``--attempts`` windows; the table says which attempt counted.

The load comes from ``--workers`` generator processes (asyncio + uvloop + bench/lean_socket.py, both ends of
a session in the same process; send and receive times from CLOCK_MONOTONIC, one clock for the machine). The
2 cores are shared: the server under test is one process (one event loop: at most one core, plus its SQLite
thread); the generators take the rest. Each row reports the server's and the generators' CPU over the window,
how late the generators sent (a generator that cannot keep its schedule measures itself, not the server) and
the machine's CPU pressure (Linux PSI: the share of the window in which some runnable task waited for a CPU;
near 0 on a quiet machine while the server and the generators together need less than the 2 cores; what
else runs on the machine shows here).

Browsers compress every message once permessage-deflate is agreed; the simulated visitors send their small
frames uncompressed (``--compress-min``, RFC 7692 lets a sender choose per message) and only the snapshot
compressed: deflating a 400 B frame costs about 25 us, more than the generators can spare, while the server's
side of it, inflating, costs about 2 us. The bare relay deflates everything it sends; cobrowse sends
messages under 512 B uncompressed (src/cobrowse/socket_deflate.py, PLAIN_BELOW) and deflates the rest.

``--profile DIR`` samples the cobrowse server with py-spy over each window (collapsed stacks); ``--only``
measures one server (a quick re-check of a step, without its baseline).

    .venv/bin/python bench/capacity.py                      # steps up to 3,000 sessions, appends to RESULTS.md
    .venv/bin/python bench/capacity.py --quick --no-write   # 50 and 100 sessions, short windows
    .venv/bin/python bench/capacity.py --steps 1000,2000 --window 20
"""

from __future__ import annotations

import argparse
import asyncio
import heapq
import os
import random
import shutil
import subprocess
import sys
import time
from array import array
from dataclasses import dataclass, field
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
    EventFrames,
    Generators,
    Kind,
    cpu_pressure_us,
    cpu_seconds,
    decode_received,
    open_agent,
    open_visitor,
    raise_fd_limit,
    retrying,
    rss_bytes,
    snapshot_frame,
    start_servers,
    until_snapshot,
)

TARGET_SESSIONS = 2000
#: How often a generator's pacer wakes up to send what is due.
TICK_S = 0.002


# ---- the generator process -----------------------------------------------------------------------------


@dataclass
class Sim:
    """One simulated session: the visitor's socket and what it sent, the agent's socket and what it got."""

    key: str
    visitor: LeanSocket
    agent: LeanSocket
    seq: int = 1  # the snapshot was seq 1
    last_seq: int = 1  # the last seq the agent got


@dataclass
class Window:
    """What a generator's visitors sent and its agents received of the frames sent in [begin_ns, end_ns]."""

    begin_ns: int = 0
    end_ns: int = 0
    sent: int = 0
    received: int = 0
    latencies_us: array[float] = field(default_factory=lambda: array("f"))
    lateness_ms: array[float] = field(default_factory=lambda: array("f"))
    cpu_begin: float = 0.0
    cpu_end: float = 0.0


class Generator:
    """The sessions of one generator process, and what its agents measured in the current window."""

    def __init__(self, index: int, urls: dict[Kind, str], cookie: str, spec: dict[str, Any]) -> None:
        self.index = index
        self.urls = urls
        self.cookie = cookie
        self.rate: float = spec["rate"]
        self.deflate: bool = spec["deflate"]
        self.compress_min: int = spec["compress_min"]
        self.snapshot = snapshot_frame(spec["snapshot_bytes"])
        self.sims: dict[Kind, list[Sim]] = {"bare": [], "cobrowse": []}
        self.frames = EventFrames(seed=index)
        self.window = Window()
        #: Since the current kind started sending: frames missing in an agent's sequence, resynchronisations
        #: (an agent that fell behind gets the log again), sockets the server closed.
        self.gaps = self.resyncs = self.closed = 0
        self.pacer: asyncio.Task[None] | None = None
        self.opened = 0
        self.closing = False

    async def grow(self, kind: Kind, count: int, run: int) -> dict[str, Any]:
        """Open sessions of ``kind`` until this generator has ``count``."""
        start = time.perf_counter()
        failures: list[str] = []
        retried = 0
        gate = asyncio.Semaphore(OPENING)

        async def one() -> None:
            nonlocal retried
            self.opened += 1
            key = f"g{self.index}r{run}n{self.opened}"
            async with gate:
                try:
                    sim, again = await retrying(lambda n: self.open(kind, f"{key}a{n}"))
                    self.sims[kind].append(sim)
                    retried += again
                except Exception as exc:  # reported; the step then fails
                    failures.append(f"{key}: {exc!r}")

        await asyncio.gather(*(one() for _ in range(count - len(self.sims[kind]))))
        return {
            "seconds": time.perf_counter() - start,
            "failures": failures[:5],
            "failed": len(failures),
            "retried": retried,
        }

    async def open(self, kind: Kind, key: str) -> Sim:
        url = self.urls[kind]
        visitor = await open_visitor(kind, url, key, self.deflate)
        agent: LeanSocket | None = None
        try:
            visitor.compress_min = self.compress_min
            if kind == "cobrowse":
                visitor.send(self.snapshot)  # into the session's log: the agent gets it on joining
            agent = await open_agent(kind, url, key, self.cookie, self.deflate)
            if kind == "bare":
                visitor.send(self.snapshot)  # the bare relay keeps nothing: send it once both are there
            await asyncio.wait_for(until_snapshot(agent), 60)
        except BaseException:
            visitor.close()
            if agent is not None:
                agent.close()
            raise
        sim = Sim(key, visitor, agent)
        visitor.on_message = lambda _: None  # what the server tells the page (agents joined...): not measured
        agent.on_message = lambda raw: self.received(sim, raw)
        for ws in (visitor, agent):
            ws.closed.add_done_callback(self.lost_socket)
        return sim

    def lost_socket(self, _: object) -> None:
        if not self.closing:
            self.closed += 1

    def received(self, sim: Sim, raw: bytes) -> None:
        """The agent: every frame checked for its place in the sequence; latency from the probe."""
        now = time.perf_counter_ns()
        frame = decode_received(raw)
        if frame.t != "events":
            return
        if frame.snapshot:  # a resynchronisation from the log: the agent fell behind
            self.resyncs += 1
            sim.last_seq = frame.seq
            return
        if frame.seq <= sim.last_seq:
            return  # sent again after a resync
        self.gaps += frame.seq - sim.last_seq - 1
        sim.last_seq = frame.seq
        sent = frame.data[0].data.t if frame.data else 0
        w = self.window
        if w.begin_ns <= sent <= w.end_ns:
            w.received += 1
            w.latencies_us.append((now - sent) / 1000)

    def send_from(self, kind: Kind | None) -> None:
        """Make the visitors of ``kind`` send (and no others)."""
        if self.pacer is not None:
            self.pacer.cancel()
            self.pacer = None
        if kind is not None:
            self.gaps = self.resyncs = self.closed = 0
            self.pacer = asyncio.create_task(self.pace(self.sims[kind]))

    async def pace(self, sims: list[Sim]) -> None:
        """Every visitor sends a frame each 1/rate seconds, at its own random phase: one timer for all, that
        wakes every ``TICK_S`` and sends what is due (the event loop's timers have 1 ms resolution)."""
        interval = 1.0 / self.rate
        start = time.perf_counter()
        due = [(start + random.random() * interval, i) for i in range(len(sims))]
        heapq.heapify(due)
        while due:
            horizon = time.perf_counter() + TICK_S / 2
            while due and due[0][0] <= horizon:
                at, i = due[0]
                sim = sims[i]
                now = time.perf_counter_ns()
                sim.seq += 1
                try:
                    sim.visitor.send(self.frames.frame(sim.seq, 1, now))
                except ConnectionError:
                    heapq.heappop(due)
                    continue
                heapq.heapreplace(due, (at + interval, i))
                w = self.window
                if w.begin_ns <= now <= w.end_ns:
                    w.sent += 1
                    w.lateness_ms.append(now / 1e6 - at * 1e3)
            await asyncio.sleep(TICK_S)

    async def close(self, kind: Kind) -> None:
        self.closing = True
        sims, self.sims[kind] = self.sims[kind], []
        for sim in sims:
            sim.visitor.close()
            sim.agent.close()
        await asyncio.sleep(1.0)
        self.closing = False


def _note_cpu(window: Window, attr: str) -> None:
    setattr(window, attr, time.process_time())


async def _serve(
    index: int, conn: Connection, urls: dict[Kind, str], cookie: str, spec: dict[str, Any]
) -> None:
    gen = Generator(index, urls, cookie, spec)
    loop = asyncio.get_running_loop()
    while True:
        command, *params = await loop.run_in_executor(None, conn.recv)
        reply: Any = None
        if command == "grow":
            reply = await gen.grow(*params)
        elif command == "send":
            gen.send_from(params[0])
        elif command == "window":
            w = gen.window = Window(begin_ns=params[0], end_ns=params[1])
            for at, attr in ((w.begin_ns, "cpu_begin"), (w.end_ns, "cpu_end")):
                loop.call_later((at - time.perf_counter_ns()) / 1e9, _note_cpu, w, attr)
        elif command == "report":
            w = gen.window
            reply = {
                "sent": w.sent,
                "received": w.received,
                "gaps": gen.gaps,
                "resyncs": gen.resyncs,
                "closed": gen.closed,
                "latencies_us": w.latencies_us.tobytes(),
                "lateness_ms": w.lateness_ms.tobytes(),
                "cpu": w.cpu_end - w.cpu_begin,
            }
        elif command == "close":
            await gen.close(params[0])
        elif command == "exit":
            conn.send(None)
            return
        conn.send(reply)


def generator_main(
    index: int, conn: Connection, urls: dict[Kind, str], cookie: str, spec: dict[str, Any]
) -> None:
    raise_fd_limit()
    uvloop.run(_serve(index, conn, urls, cookie, spec))


# ---- the ramp ---------------------------------------------------------------------------------------------


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def measure_step(
    gens: Generators, pid: int, kind: Kind, sessions: int, args: argparse.Namespace
) -> dict[str, Any]:
    gens.call("send", kind)
    time.sleep(args.settle)
    begin = time.perf_counter_ns() + 500_000_000  # after every generator has the window
    end = begin + int(args.window * 1e9)
    gens.call("window", begin, end)
    time.sleep(max(0.0, begin / 1e9 - time.perf_counter()))
    server0, wall0, pressure0 = cpu_seconds(pid), time.perf_counter(), cpu_pressure_us()
    profiler = _start_profile(args, pid, kind, sessions)
    time.sleep(args.window)
    if profiler is not None:
        profiler.wait()
    server_cpu, wall = cpu_seconds(pid) - server0, time.perf_counter() - wall0
    pressure = (cpu_pressure_us() - pressure0) / 1e6 / wall
    rss = rss_bytes(pid)
    time.sleep(args.grace)
    reports = gens.call("report")
    gens.call("send", None)
    latencies: list[float] = []
    lateness: list[float] = []
    for r in reports:
        latencies += array("f", r["latencies_us"]).tolist()
        lateness += array("f", r["lateness_ms"]).tolist()
    sent = sum(r["sent"] for r in reports)
    received = sum(r["received"] for r in reports)
    gen_cpu = [r["cpu"] / args.window for r in reports]
    row = {
        "kind": kind,
        "sessions": sessions,
        "sent": sent,
        "received": received,
        "lost": sent - received,
        "gaps": sum(r["gaps"] for r in reports),
        "resyncs": sum(r["resyncs"] for r in reports),
        "closed": sum(r["closed"] for r in reports),
        "per_s": received / args.window,
        "p50_ms": pct(latencies, 0.50) / 1000,
        "p99_ms": pct(latencies, 0.99) / 1000,
        "max_ms": max(latencies) / 1000 if latencies else float("nan"),
        "server_cpu_pct": 100 * server_cpu / wall,
        "rss_mib": rss / 2**20,
        "pressure_pct": 100 * pressure,
        "gen_cpu_pct": 100 * sum(gen_cpu),
        "late_p99_ms": pct(lateness, 0.99) if lateness else 0.0,
    }
    row["passed"] = (
        row["p99_ms"] < args.p99_ms
        and row["lost"] == 0
        and row["gaps"] == 0
        and row["resyncs"] == 0
        and row["closed"] == 0
        and sent > 0
    )
    return row


def _start_profile(
    args: argparse.Namespace, pid: int, kind: Kind, sessions: int
) -> subprocess.Popen[bytes] | None:
    """With ``--profile DIR``: sample the cobrowse server with py-spy over the window (collapsed stacks, one
    file per step; py-spy is not a dependency of the project: have it on PATH or in the venv to use this)."""
    if not args.profile or kind != "cobrowse":
        return None
    out = Path(args.profile) / f"cobrowse-{sessions}.txt"
    out.parent.mkdir(parents=True, exist_ok=True)
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    return subprocess.Popen(
        [
            py_spy,
            "record",
            "--pid",
            str(pid),
            "--rate",
            "100",
            "--duration",
            str(int(args.window)),
            "--nonblocking",
            "--format",
            "raw",
            "--output",
            str(out),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def ramp(args: argparse.Namespace) -> tuple[list[dict[str, Any]], dict[Kind, int]]:
    raise_fd_limit()
    servers = start_servers()
    spec = {
        "rate": args.rate,
        "deflate": not args.no_deflate,
        "compress_min": args.compress_min,
        "snapshot_bytes": args.snapshot_kb * 1000,
    }
    gens = Generators(args.workers, generator_main, servers.urls, servers.cookie, spec)
    rows: list[dict[str, Any]] = []
    alive: dict[Kind, bool] = {kind: args.only in (None, kind) for kind in KINDS}
    try:
        for run, sessions in enumerate(args.steps):
            for kind in KINDS:
                if not alive[kind]:
                    continue
                grown = gens.call_split("grow", kind, sessions, run)
                failed = sum(g["failed"] for g in grown)
                for attempt in range(1, args.attempts + 1):
                    row = measure_step(gens, servers.pid(kind), kind, sessions, args)
                    row["attempt"] = attempt
                    if row["passed"] or row["late_p99_ms"] <= args.max_late_ms:
                        break  # a failure with punctual generators is the server's
                row["open_s"] = max(g["seconds"] for g in grown)
                row["open_failed"] = failed
                row["retried"] = sum(g["retried"] for g in grown)
                if failed:
                    row["passed"] = False
                    row["why"] = next(f for g in grown for f in g["failures"])
                rows.append(row)
                print(_row_text(row, args.max_late_ms), flush=True)
                if not row["passed"]:
                    alive[kind] = False
                    gens.call("close", kind)
            if not any(alive.values()):
                break
    finally:
        gens.stop()
        servers.stop()
    best: dict[Kind, int] = {
        kind: max((r["sessions"] for r in rows if r["kind"] == kind and r["passed"]), default=0)
        for kind in KINDS
    }
    return rows, best


# ---- the report -------------------------------------------------------------------------------------------


def _verdict(r: dict[str, Any], max_late_ms: float) -> str:
    verdict = "yes" if r["passed"] else "no"
    if not r["passed"] and r["late_p99_ms"] > max_late_ms:
        verdict += " (generators late)"
    return verdict + (f", attempt {r['attempt']}" if r["attempt"] > 1 else "")


def _row_text(r: dict[str, Any], max_late_ms: float) -> str:
    return (
        f"| {LABELS[r['kind']]} | {r['sessions']:,} | {r['per_s']:,.0f} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} "
        f"| {r['max_ms']:.1f} | {r['lost'] + r['gaps']} | {r['resyncs']} | {r['closed']} | {r['open_failed']} "
        f"| {r['server_cpu_pct']:.0f}% | {r['rss_mib']:,.0f} | {r['gen_cpu_pct']:.0f}% | {r['late_p99_ms']:.1f} "
        f"| {r['pressure_pct']:.0f}% "
        f"| {_verdict(r, max_late_ms)} |"
    )


def report(args: argparse.Namespace, rows: list[dict[str, Any]], best: dict[Kind, int]) -> str:
    when = datetime.now().strftime("%Y-%m-%d %H:%M")
    met = best["cobrowse"] >= TARGET_SESSIONS
    ratio = best["cobrowse"] / best["bare"] if best["bare"] else float("nan")
    lines = [
        "## Concurrent sessions: the most sessions with p99 under "
        f"{args.p99_ms:.0f} ms and nothing lost (target {TARGET_SESSIONS:,})",
        "",
        f"Command: `{args.command}` ({when}, {os.cpu_count()} cores, loopback; each session 1 visitor + 1 agent, "
        f"a {args.snapshot_kb} kB snapshot at the start, then {args.rate:g} frames/s of 150-700 B per visitor; "
        f"permessage-deflate {'off' if args.no_deflate else 'on'}"
        + ("" if args.no_deflate else f" (visitors send messages under {args.compress_min} B uncompressed)")
        + f"; steps {', '.join(f'{s:,}' for s in args.steps)};"
        f" each step {args.settle:g} s settling, a {args.window:g} s window, {args.grace:g} s grace for late frames;"
        f" bare relay and cobrowse interleaved per step; {args.workers} generator processes, the server one"
        " process; the OS shares the 2 cores between them)",
        "",
        "| server | sessions | deliveries/s | p50 ms | p99 ms | max ms | lost | resyncs | closed | refused "
        "| server CPU | server RSS MiB | generators CPU | generator late p99 ms | CPU pressure | passed |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        *(_row_text(r, args.max_late_ms) for r in rows),
        "",
        *(
            f"{LABELS[r['kind']]} at {r['sessions']:,}: {r['open_failed']} sessions could not open, e.g. {r['why']}"
            for r in rows
            if r.get("why")
        ),
        *(
            f"{LABELS[r['kind']]} at {r['sessions']:,}: {r['retried']} session starts were refused and tried "
            "again (the server answered `service`: its database was locked past SQLite's busy timeout)"
            for r in rows
            if r.get("retried")
        ),
        "",
        f"Highest step passed: bare relay {best['bare']:,} sessions, cobrowse {best['cobrowse']:,} "
        f"({ratio:.2f}x the baseline). Target {TARGET_SESSIONS:,}: {'met' if met else 'not met'}.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--steps", default="250,500,1000,1500,2000,2500,3000", help="session counts, ascending"
    )
    parser.add_argument("--rate", type=float, default=5.0, help="frames per second per visitor")
    parser.add_argument("--snapshot-kb", type=int, default=200, help="size of each session's first snapshot")
    parser.add_argument("--window", type=float, default=10.0, help="seconds measured per step")
    parser.add_argument("--settle", type=float, default=2.0)
    parser.add_argument("--grace", type=float, default=2.0, help="seconds a frame may take and still count")
    parser.add_argument("--p99-ms", type=float, default=100.0)
    parser.add_argument(
        "--attempts",
        type=int,
        default=3,
        help="windows tried at a step that fails while the generators were late (a busy machine)",
    )
    parser.add_argument(
        "--max-late-ms", type=float, default=10.0, help="generator send lateness p99 that counts as punctual"
    )
    parser.add_argument("--workers", type=int, default=2, help="generator processes")
    parser.add_argument("--no-deflate", action="store_true", help="sockets without permessage-deflate")
    parser.add_argument(
        "--compress-min",
        type=int,
        default=1024,
        help="visitors send messages shorter than this uncompressed (0: compress all, as browsers do)",
    )
    parser.add_argument(
        "--profile", metavar="DIR", help="sample the cobrowse server with py-spy over each window into DIR"
    )
    parser.add_argument(
        "--only",
        choices=KINDS,
        help="measure one server only (a re-check of a step; the report then has no baseline to compare)",
    )
    parser.add_argument("--quick", action="store_true", help="50 and 100 sessions, 3 s windows")
    parser.add_argument(
        "--no-write", action="store_true", help="print only; do not append to bench/RESULTS.md"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.steps, args.window, args.settle = "50,100", 3.0, 1.0
    args.steps = sorted(int(s) for s in str(args.steps).split(","))
    args.command = ".venv/bin/python bench/capacity.py" + "".join(
        f" {a}" for a in (sys.argv[1:] if argv is None else argv)
    )
    rows, best = ramp(args)
    text = report(args, rows, best)
    print(text)
    if not args.no_write:
        append_results(ROOT / "bench" / "RESULTS.md", text)


if __name__ == "__main__":
    main()
