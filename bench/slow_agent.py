"""Slow agents (issue 8, figure 9): one agent stops reading for 10 s; what it costs the other agents.

10 sessions of one visitor and three agents (bench/relay_load.py's lean clients: 0.5-2 KB frames at 800 a
second, about 1 MB/s a session, so that 10 s of it outgrow the kernel's socket buffers and the server's queue
for the stalled agent has to overflow; a 200 KB snapshot per visitor every 10 s and whenever the server
asks). Interleaved windows of ``--stall-seconds``:

- baseline: every agent reads;
- stalled: agent 1 of session 1 stops reading (its client stops taking data from the socket) for the window,
  then reads again.

The figure is the other agents' p99 (visitor send to agent receive) in stalled windows against baseline
windows of the same run (target: at most 1 ms more), and the same for the two agents sharing the stalled
one's session. The stalled agent's queue: the server bounds it at COBROWSE_AGENT_QUEUE_FRAMES frames (here
the default, 512) besides one log replay; past that it drops the backlog and, once the socket takes data
again, resends the log (last snapshot and what followed). What the agent received on waking shows it: the
backlog held for it (kernel socket buffers, the transport's buffer and the queue) before the log replay,
and whether a replay came. The server's memory growth during each window is shown too (the session logs
grow in both).

The server under test is pinned to CPU 0, this process (the load) to CPU 1.

    .venv/bin/python bench/slow_agent.py                 # 3 rounds, appends to bench/RESULTS.md
    .venv/bin/python bench/slow_agent.py --quick --no-write
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import uvloop
from relay_load import (
    Agent,
    Load,
    Server,
    Window,
    connect_load,
    cpu_seconds,
    drain,
    percentile_ns,
    pin,
    rss_kib,
    start_cobrowse,
)

ROOT = Path(__file__).resolve().parents[1]
QUEUE_FRAMES = 512  # the documented default of COBROWSE_AGENT_QUEUE_FRAMES, which this run uses


class WatchedAgent(Agent):
    """The agent that stalls: counts what reaches it after it wakes, and sees a log replay begin (its
    sequence numbers go back)."""

    def __init__(self, agent: Agent) -> None:
        super().__init__(agent.ws, Window())  # its own window: its late frames are not the others' latency
        self.last_seq = 0
        self.replays = 0
        self.bytes_before_replay: int | None = None
        self.woke_bytes = 0
        self.caught_up: asyncio.Event = asyncio.Event()

    def frame(self, buf: bytes, start: int, end: int) -> None:
        super().frame(buf, start, end)
        i = buf.find(b'"seq":', start, min(end, start + 64))
        if i < 0:
            return
        seq = int(buf[i + 6 : buf.find(b",", i + 6, i + 30)])
        if seq < self.last_seq:
            self.replays += 1
            if self.bytes_before_replay is None:
                self.bytes_before_replay = self.ws.bytes_in - self.woke_bytes
        self.last_seq = seq
        j = buf.find(b'"ts":', start, min(end, start + 160))
        if j >= 0 and time.monotonic_ns() - int(buf[j + 5 : buf.find(b",", j + 5, j + 30)]) < 50_000_000:
            self.caught_up.set()  # a live frame, under 50 ms old


@dataclass
class Result:
    kind: str  # "baseline" or "stalled"
    others_p50: float
    others_p99: float
    mates_p99: float  # the two other agents of the stalled agent's session
    delivered: float
    rss_growth_mib: float
    server_cpu: float
    backlog_kib: float = float("nan")
    replays: int = 0
    catch_up_ms: float = float("nan")


async def window(load: Load, server: Server, args: argparse.Namespace, stall: WatchedAgent | None) -> Result:
    mates = load.agents[0][1:]
    for agent in mates:
        agent.keep_own, agent.latencies_ns = True, []
    pacing = asyncio.create_task(load.pacer.run(args.rate, args.warmup + args.stall_seconds))
    await asyncio.sleep(args.warmup)
    rss0, peak = rss_kib(server.proc.pid), 0
    cpu0, t0 = cpu_seconds(server.proc.pid), time.perf_counter()
    load.window.open(args.stall_seconds)
    own0 = load.visitors[0].sent_total
    if stall is not None:
        stall.ws.pause()
    while not pacing.done():
        peak = max(peak, rss_kib(server.proc.pid))
        await asyncio.sleep(0.2)
    cpu1, t1 = cpu_seconds(server.proc.pid), time.perf_counter()
    await drain(load)  # what is still in flight to the agents that read
    # the watched agent is never one of "the others": what its visitor sent is expected of one agent fewer
    expected = load.window.sent * args.agents - (load.visitors[0].sent_total - own0)
    result = Result(
        kind="stalled" if stall else "baseline",
        others_p50=percentile_ns(load.window.latencies_ns, 0.50),
        others_p99=percentile_ns(load.window.latencies_ns, 0.99),
        mates_p99=percentile_ns([x for a in mates for x in a.latencies_ns], 0.99),
        delivered=load.window.deliveries / max(1, expected),
        rss_growth_mib=(peak - rss0) / 1024,
        server_cpu=(cpu1 - cpu0) / (t1 - t0),
    )
    if stall is not None:
        stall.woke_bytes, stall.bytes_before_replay, stall.replays = stall.ws.bytes_in, None, 0
        stall.caught_up.clear()
        woke = time.perf_counter()
        stall.ws.resume()
        keep_going = asyncio.create_task(load.pacer.run(args.rate, 30.0))  # it catches up with a live stream
        try:
            await asyncio.wait_for(stall.caught_up.wait(), 30.0)
            result.catch_up_ms = 1000 * (time.perf_counter() - woke)
        except TimeoutError:
            pass
        keep_going.cancel()
        held = stall.bytes_before_replay
        result.backlog_kib = (held if held is not None else stall.ws.bytes_in - stall.woke_bytes) / 1024
        result.replays = stall.replays
    await drain(load)
    return result


def med(results: list[Result], key: str) -> float:
    return statistics.median(float(getattr(r, key)) for r in results)


def report(args: argparse.Namespace, base: list[Result], stalled: list[Result]) -> str:
    command = "bench/slow_agent.py " + " ".join(args.argv) if args.argv else "bench/slow_agent.py"
    rise = med(stalled, "others_p99") - med(base, "others_p99")
    mates_rise = med(stalled, "mates_p99") - med(base, "mates_p99")
    lines = [
        f"## Slow agent: one agent stops reading for {args.stall_seconds:g} s, {args.sessions} sessions x"
        f" (1 visitor + {args.agents} agents)",
        "",
        f"Command: `.venv/bin/python {command}` ({time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores,"
        f" loopback; server pinned to CPU 0, the load generator to CPU 1; {args.rate:g} frames/s per visitor"
        f" ({args.rate * args.sessions * args.agents:,.0f} deliveries/s), frames 0.5-2 KB and a 200 KB"
        f" snapshot per visitor every 10 s; COBROWSE_AGENT_QUEUE_FRAMES={QUEUE_FRAMES} (default); medians of"
        f" {args.runs} rounds, baseline and stalled windows interleaved, in alternating order)",
        "",
        "| window | other agents p50 ms | other agents p99 ms | same-session agents p99 ms | delivered |"
        " server CPU | server memory growth |",
        "|---|---|---|---|---|---|---|",
    ]
    for label, rs in (("every agent reads (baseline)", base), ("one agent stalled", stalled)):
        lines.append(
            f"| {label} | {med(rs, 'others_p50'):.2f} | {med(rs, 'others_p99'):.2f} | {med(rs, 'mates_p99'):.2f}"
            f" | {100 * med(rs, 'delivered'):.2f}% | {100 * med(rs, 'server_cpu'):.0f}%"
            f" | {med(rs, 'rss_growth_mib'):+.1f} MiB |"
        )
    ok = rise <= 1.0
    lines += [
        "",
        f"The stalled agent on waking: {med(stalled, 'backlog_kib'):,.0f} KiB held for it before the log replay"
        f" (kernel socket buffers, the transport's buffer and its queue), a log replay in"
        f" {sum(1 for r in stalled if r.replays)} of {len(stalled)} rounds, live again after"
        f" {med(stalled, 'catch_up_ms'):,.0f} ms (median). Bound: {QUEUE_FRAMES} queued frames besides one log"
        " replay; past it the backlog is dropped and the log resent once the socket takes data.",
        "",
        "| target | measured | |",
        "|---|---|---|",
        f"| other agents' p99 rises by at most 1 ms | {rise:+.2f} ms (same session: {mates_rise:+.2f} ms)"
        f" | {'met' if ok else 'NOT met'} |",
        "",
    ]
    return "\n".join(lines)


async def main_async(args: argparse.Namespace) -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="cobrowse-bench-slow-"))
    server = start_cobrowse(data_dir, {"COBROWSE_AGENT_QUEUE_FRAMES": str(QUEUE_FRAMES)})
    base: list[Result] = []
    stalled: list[Result] = []
    try:
        if not args.no_pin:
            pin(server.proc.pid, 0)
            pin(os.getpid(), 1)
        load = await connect_load("cobrowse", server, args.sessions, args.agents, "slow", 10.0)
        stall = WatchedAgent(load.agents[0][0])
        load.agents[0][0] = stall
        await load.pacer.run(args.rate, 12.0)  # a whole snapshot period: the session logs at their usual size
        await drain(load)
        for run in range(args.runs):
            order = ("baseline", "stalled") if run % 2 == 0 else ("stalled", "baseline")
            for kind in order:
                result = await window(load, server, args, stall if kind == "stalled" else None)
                print(
                    f"round {run + 1} {kind:8}: others p50 {result.others_p50:.2f} p99 {result.others_p99:.2f} ms,"
                    f" same session p99 {result.mates_p99:.2f} ms, delivered {100 * result.delivered:.2f}%,"
                    f" memory {result.rss_growth_mib:+.1f} MiB, backlog {result.backlog_kib:,.0f} KiB,"
                    f" replays {result.replays}, caught up in {result.catch_up_ms:,.0f} ms",
                    flush=True,
                )
                (stalled if kind == "stalled" else base).append(result)
        load.close()
    finally:
        server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)
    text = report(args, base, stalled)
    print(text)
    if not args.no_write:
        from browser import append_results

        append_results(ROOT / "bench/RESULTS.md", text)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sessions", type=int, default=10)
    parser.add_argument("--agents", type=int, default=3, help="agents per session")
    parser.add_argument(
        "--rate", type=float, default=800.0, help="frames/s per visitor (about 1 MB/s a session)"
    )
    parser.add_argument("--stall-seconds", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--runs", type=int, default=3, help="rounds of a baseline and a stalled window")
    parser.add_argument("--quick", action="store_true", help="one round of 5 s windows (development)")
    parser.add_argument("--no-pin", action="store_true", help="do not pin the server and the load to CPUs")
    parser.add_argument(
        "--no-write", action="store_true", help="print only; do not append to bench/RESULTS.md"
    )
    args = parser.parse_args(argv)
    args.argv = list(argv) if argv is not None else sys.argv[1:]
    if args.quick:
        args.runs, args.stall_seconds = 1, 5.0
    uvloop.run(main_async(args))


if __name__ == "__main__":
    main()
