"""Relay throughput (issue 8, figure 1) and the latency the server adds (figure 2), against a bare relay.

Each session has one visitor and N agents. Visitors send rrweb-like ``events`` frames of 0.5-2 KB and, every
``--snapshot-seconds`` (or when cobrowse asks for one), a ~200 KB full snapshot; agents count what arrives and
how long it took (the send timestamp rides in each frame; one machine, one clock). The baseline is
`bench/bare_relay.py` (forwarding only, on the same uvicorn + Starlette + uvloop stack), sent the same bytes.

Figure 1: for each relay the rate per visitor is ramped (x1.5 a step, then two bisections) until a step's p99
exceeds 10 ms or fewer than 99.5% of the deliveries arrive; the peak is the highest deliveries/s of a step
that passed. Figure 2: both relays at half of cobrowse's peak load: p50 and p99 from visitor send to agent
receive, and server CPU per delivery at that same load (the CPU target compares like with like).

The two cores: the server under test is pinned to CPU 0 and this process (the load generator: lean asyncio
WebSocket clients, bench/relay_load.py) to CPU 1; the load generator's own CPU is reported, so that a peak
it limited is visible. Clients do not offer permessage-deflate (figure 4 measures compression).

    .venv/bin/python bench/relay.py                      # 3 interleaved runs, appends to bench/RESULTS.md
    .venv/bin/python bench/relay.py --quick --no-write   # one short run, printed only
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
    Load,
    Server,
    connect_load,
    cpu_seconds,
    drain,
    percentile_ns,
    pin,
    start_bare,
    start_cobrowse,
)

ROOT = Path(__file__).resolve().parents[1]
P99_LIMIT_MS = 10.0
DELIVERED_MIN = 0.995
KINDS = ("bare", "cobrowse")
LABELS = {"bare": "bare relay (baseline)", "cobrowse": "cobrowse"}


@dataclass
class Step:
    rate: float  # frames/s per visitor
    deliveries_per_s: float
    delivered: float  # fraction of sent x agents
    p50_ms: float
    p99_ms: float
    cpu_us: float  # server CPU per delivery
    server_cpu: float  # fraction of one core
    load_cpu: float  # the load generator's, fraction of one core

    @property
    def passed(self) -> bool:
        return self.p99_ms <= P99_LIMIT_MS and self.delivered >= DELIVERED_MIN

    def line(self, kind: str) -> str:
        return (
            f"  {kind:8} {self.rate:7.0f}/s/visitor {self.deliveries_per_s:9,.0f} deliveries/s "
            f"{100 * self.delivered:6.2f}% p50 {self.p50_ms:6.2f} p99 {self.p99_ms:7.2f} ms "
            f"cpu {self.cpu_us:5.1f} us/delivery server {100 * self.server_cpu:3.0f}% "
            f"load {100 * self.load_cpu:3.0f}% {'ok' if self.passed else 'FAIL'}"
        )


async def measure(load: Load, server: Server, rate: float, seconds: float, warmup: float) -> Step:
    """Run ``rate`` for ``warmup`` + ``seconds``; count what was sent in the last ``seconds``."""
    pacing = asyncio.create_task(load.pacer.run(rate, warmup + seconds))
    await asyncio.sleep(warmup)
    cpu0, own0, t0 = cpu_seconds(server.proc.pid), time.process_time(), time.perf_counter()
    load.window.open(seconds)
    await pacing
    cpu1, own1, t1 = cpu_seconds(server.proc.pid), time.process_time(), time.perf_counter()
    await drain(load)
    window = load.window
    expected = window.sent * len(load.agents[0])
    deliveries = window.deliveries
    return Step(
        rate=rate,
        deliveries_per_s=deliveries / seconds,
        delivered=deliveries / expected if expected else 0.0,
        p50_ms=percentile_ns(window.latencies_ns, 0.50),
        p99_ms=percentile_ns(window.latencies_ns, 0.99),
        cpu_us=1e6 * (cpu1 - cpu0) / deliveries if deliveries else float("nan"),
        server_cpu=(cpu1 - cpu0) / (t1 - t0),
        load_cpu=(own1 - own0) / (t1 - t0),
    )


async def attempt(load: Load, server: Server, kind: str, rate: float, args: argparse.Namespace) -> Step:
    """One step at ``rate``; a step that fails is tried once more (a shared machine has hiccups), after the
    relay has had a moment to recover."""
    step = await measure(load, server, rate, args.step_seconds, args.warmup)
    print(step.line(kind), flush=True)
    if step.passed:
        return step
    await asyncio.sleep(1.0)
    await drain(load)
    again = await measure(load, server, rate, args.step_seconds, args.warmup)
    print(again.line(kind) + " (again)", flush=True)
    if not again.passed:
        await asyncio.sleep(1.0)
        await drain(load)
    return again


async def ramp(load: Load, server: Server, kind: str, start: float, args: argparse.Namespace) -> Step:
    """The passing step with the most deliveries/s: x``growth`` while steps pass, then bisect; a first step
    that fails starts the ramp lower."""
    best: Step | None = None
    failed: float | None = None
    rate = start
    while failed is None:
        step = await attempt(load, server, kind, rate, args)
        if step.passed:
            best = step if best is None or step.deliveries_per_s > best.deliveries_per_s else best
            rate *= args.growth
        elif best is None and rate > start / args.growth**3:
            rate /= args.growth
        else:
            failed = rate
    if best is None:
        raise SystemExit(f"{kind}: not even {rate:.0f} frames/s per visitor passed")
    low = best.rate
    for _ in range(args.bisections):
        rate = (low * failed) ** 0.5
        step = await attempt(load, server, kind, rate, args)
        if step.passed:
            low = rate
            best = step if step.deliveries_per_s > best.deliveries_per_s else best
        else:
            failed = rate
    return best


async def one_run(
    servers: dict[str, Server], args: argparse.Namespace, run: int, starts: dict[str, float]
) -> tuple[dict[str, Step], dict[str, Step]]:
    """One run: each relay's ramp to its peak, then both at half of cobrowse's peak (interleaved)."""
    peaks: dict[str, Step] = {}
    loads: dict[str, Load] = {}
    try:
        for kind in KINDS:
            loads[kind] = await connect_load(
                kind, servers[kind], args.sessions, args.agents, f"r{run}{kind[0]}", args.snapshot_seconds
            )
            await measure(loads[kind], servers[kind], starts[kind] / 2, 1.0, 0.5)  # warm the connections
            peaks[kind] = await ramp(loads[kind], servers[kind], kind, starts[kind], args)
        half = peaks["cobrowse"].rate / 2
        at_half: dict[str, Step] = {}
        for kind in KINDS:
            at_half[kind] = await measure(loads[kind], servers[kind], half, args.latency_seconds, args.warmup)
            print(at_half[kind].line(kind) + "  (half of cobrowse's peak)", flush=True)
    finally:
        for load in loads.values():
            load.close()
    return peaks, at_half


def med(steps: list[Step], key: str) -> float:
    return statistics.median(float(getattr(s, key)) for s in steps)


def report(args: argparse.Namespace, peaks: dict[str, list[Step]], half: dict[str, list[Step]]) -> str:
    command = "bench/relay.py " + " ".join(args.argv) if args.argv else "bench/relay.py"
    lines = [
        f"## Relay throughput and added latency: {args.sessions} sessions x (1 visitor + {args.agents} agents)",
        "",
        f"Command: `.venv/bin/python {command}` ({time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores,"
        f" loopback; server pinned to CPU 0, the load generator to CPU 1; medians of {args.runs} runs, the"
        f" relays interleaved; frames 0.5-2 KB, a 200 KB snapshot per visitor every {args.snapshot_seconds:g} s"
        " and whenever cobrowse asks; no compression)",
        "",
        f"Figure 1, peak: the rate is raised until p99 > {P99_LIMIT_MS:g} ms or fewer than"
        f" {100 * DELIVERED_MIN:g}% of deliveries arrive; the best passing step.",
        "",
        "| relay | peak deliveries/s | p50 ms | p99 ms | server CPU us/delivery | server CPU | load generator CPU |",
        "|---|---|---|---|---|---|---|",
    ]
    for kind in KINDS:
        s = peaks[kind]
        lines.append(
            f"| {LABELS[kind]} | {med(s, 'deliveries_per_s'):,.0f} | {med(s, 'p50_ms'):.2f} | {med(s, 'p99_ms'):.2f}"
            f" | {med(s, 'cpu_us'):.1f} | {100 * med(s, 'server_cpu'):.0f}% | {100 * med(s, 'load_cpu'):.0f}% |"
        )
    lines += [
        "",
        f"Figure 2, at half of cobrowse's peak ({med(half['cobrowse'], 'deliveries_per_s'):,.0f} deliveries/s,"
        f" {args.latency_seconds:g} s a run): visitor send to agent receive.",
        "",
        "| relay | deliveries/s | delivered | p50 ms | p99 ms | server CPU us/delivery | server CPU |",
        "|---|---|---|---|---|---|---|",
    ]
    for kind in KINDS:
        s = half[kind]
        lines.append(
            f"| {LABELS[kind]} | {med(s, 'deliveries_per_s'):,.0f} | {100 * med(s, 'delivered'):.2f}%"
            f" | {med(s, 'p50_ms'):.2f} | {med(s, 'p99_ms'):.2f} | {med(s, 'cpu_us'):.1f}"
            f" | {100 * med(s, 'server_cpu'):.0f}% |"
        )
    throughput = med(peaks["cobrowse"], "deliveries_per_s") / med(peaks["bare"], "deliveries_per_s")
    cpu = med(half["cobrowse"], "cpu_us") / med(half["bare"], "cpu_us")
    p50, p99 = med(half["cobrowse"], "p50_ms"), med(half["cobrowse"], "p99_ms")

    def verdict(ok: bool) -> str:
        return "met" if ok else "NOT met"

    lines += [
        "",
        "| target | measured | |",
        "|---|---|---|",
        f"| peak deliveries/s >= 0.8x the bare relay's | {throughput:.2f}x | {verdict(throughput >= 0.8)} |",
        f"| CPU per delivery <= 1.25x the bare relay's (same load) | {cpu:.2f}x | {verdict(cpu <= 1.25)} |",
        f"| added latency p50 <= 1 ms at half the peak | {p50:.2f} ms | {verdict(p50 <= 1.0)} |",
        f"| added latency p99 <= 3 ms at half the peak | {p99:.2f} ms | {verdict(p99 <= 3.0)} |",
        "",
    ]
    return "\n".join(lines)


async def main_async(args: argparse.Namespace) -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="cobrowse-bench-"))
    servers: dict[str, Server] = {}
    try:
        servers["cobrowse"] = start_cobrowse(data_dir)
        servers["bare"] = start_bare()
        if not args.no_pin:
            for server in servers.values():
                pin(server.proc.pid, 0)
            pin(os.getpid(), 1)
        peaks: dict[str, list[Step]] = {kind: [] for kind in KINDS}
        half: dict[str, list[Step]] = {kind: [] for kind in KINDS}
        starts = {kind: args.start_rate for kind in KINDS}
        for run in range(args.runs):
            print(f"run {run + 1} of {args.runs}", flush=True)
            run_peaks, run_half = await one_run(servers, args, run, starts)
            for kind in KINDS:
                peaks[kind].append(run_peaks[kind])
                half[kind].append(run_half[kind])
                starts[kind] = max(args.start_rate, run_peaks[kind].rate / args.growth**2)
    finally:
        for server in servers.values():
            server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)
    text = report(args, peaks, half)
    print(text)
    if not args.no_write:
        from browser import append_results

        append_results(ROOT / "bench/RESULTS.md", text)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--agents", type=int, default=2, help="agents per session")
    parser.add_argument(
        "--start-rate", type=float, default=100.0, help="frames/s per visitor of the first step"
    )
    parser.add_argument("--growth", type=float, default=1.5, help="rate factor between ramp steps")
    parser.add_argument("--bisections", type=int, default=2)
    parser.add_argument("--step-seconds", type=float, default=3.0, help="measured seconds of a ramp step")
    parser.add_argument("--warmup", type=float, default=1.0, help="unmeasured seconds before each step")
    parser.add_argument("--latency-seconds", type=float, default=10.0, help="seconds at half the peak")
    parser.add_argument(
        "--snapshot-seconds", type=float, default=10.0, help="seconds between a visitor's snapshots"
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="one run of short steps (development)")
    parser.add_argument("--no-pin", action="store_true", help="do not pin the server and the load to CPUs")
    parser.add_argument(
        "--no-write", action="store_true", help="print only; do not append to bench/RESULTS.md"
    )
    args = parser.parse_args(argv)
    args.argv = list(argv) if argv is not None else sys.argv[1:]
    if args.quick:
        args.runs, args.step_seconds, args.warmup, args.latency_seconds, args.bisections = 1, 1.5, 0.5, 4.0, 1
    uvloop.run(main_async(args))


if __name__ == "__main__":
    main()
