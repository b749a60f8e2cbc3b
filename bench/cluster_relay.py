"""Relay through Redis against the in-memory broker, with one and with three nodes (issue 9's benchmark).

Real ``cobrowse serve`` processes and the lean load generator of bench/relay_load.py: N sessions of one
visitor and two agents; visitors send 0.5-2 KB ``events`` frames and a ~200 KB snapshot every
``--snapshot-seconds``; agents measure visitor send to agent receive (one machine, one clock). Set-ups, in
one run, interleaved:

- ``memory``: one node, the in-memory broker, SQLite (the baseline; the embedded default);
- ``redis-1``: one node on Redis (SQLite): every frame also logged to and PUBLISHed on Redis, behind;
- ``redis-3``: three nodes on Redis and PostgreSQL; visitors on node 0, their agents on nodes 1 and 2 (one
  each), whose sockets are tunnelled to the session's home, node 0 (src/cobrowse/sessions/tunnel.py).

For each set-up: deliveries/s and p50/p99 latency at fixed offered loads (``--rates`` frames/s per visitor;
the same for every set-up), then the peak: the rate is raised (x``--growth`` a step, then bisected) until a
step's p99 exceeds 10 ms or fewer than 99.5% of the deliveries arrive, as in bench/relay.py; the peak is the
best passing step.

The two cores: not pinned. Every node, Redis, PostgreSQL and the load generator (this process) share both
cores, so the three-node set-up pays for its extra processes (two more nodes forwarding every agent frame)
on the same two cores; server CPU is the sum over the nodes (Redis and PostgreSQL not counted), and the
load generator's own CPU is reported.

    .venv/bin/python bench/cluster_relay.py                      # 3 runs, appends to bench/RESULTS.md
    .venv/bin/python bench/cluster_relay.py --quick --no-write   # one short run, printed only
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import msgspec
import uvloop
from relay_load import (
    VENV_BIN,
    Agent,
    Load,
    Pacer,
    Visitor,
    Window,
    cpu_seconds,
    drain,
    free_port,
    make_pads,
    open_ws,
    percentile_ns,
    wait_healthy,
)

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the private Redis and PostgreSQL servers the tests use
from support.cluster import fresh_database  # noqa: E402
from support.services import postgres, redis  # noqa: E402

SETUPS = ("memory", "redis-1", "redis-3")
P99_LIMIT_MS = 10.0
DELIVERED_MIN = 0.995
LABELS = {
    "memory": "1 node, memory broker (baseline)",
    "redis-1": "1 node, Redis broker",
    "redis-3": "3 nodes on Redis: visitors on node 0, agents on nodes 1 and 2",
}


@dataclass
class Nodes:
    """One set-up's server processes; visitors connect to ``urls[0]``, agent ``i`` to ``urls[agent_node(i)]``."""

    procs: list[subprocess.Popen[bytes]]
    urls: list[str]  # ws://127.0.0.1:PORT
    cookie: str

    def agent_url(self, i: int) -> str:
        return self.urls[1 + i % (len(self.urls) - 1)] if len(self.urls) > 1 else self.urls[0]

    def cpu(self) -> float:
        return sum(cpu_seconds(p.pid) for p in self.procs)

    def stop(self) -> None:
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)


def start_nodes(data_dir: Path, count: int, env: dict[str, str]) -> Nodes:
    """``count`` nodes sharing ``env`` (broker, database, secret), group 1 and an agent ``bench``."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("COBROWSE_")}
    base.update({"COBROWSE_LOG_LEVEL": "warning", "COBROWSE_SECRET_KEY": secrets.token_urlsafe(32), **env})
    cli = [str(VENV_BIN / "cobrowse"), "--data-dir", str(data_dir / "node0")]
    for command in (
        ["group", "create", "--name", "Bench", "--id", "1"],
        ["agent", "create", "--username", "bench", "--group", "1", "--password", "bench-password"],
    ):
        subprocess.run([*cli, *command], check=True, capture_output=True, env=base)
    procs, urls = [], []
    for i in range(count):
        port = free_port()
        node_env = {**base, "COBROWSE_NODE_URL": f"http://127.0.0.1:{port}"}
        node_cli = [str(VENV_BIN / "cobrowse"), "--data-dir", str(data_dir / f"node{i}")]
        procs.append(subprocess.Popen([*node_cli, "serve", "--port", str(port)], env=node_env))
        urls.append(f"http://127.0.0.1:{port}")
    for proc, url in zip(procs, urls, strict=True):
        wait_healthy(url, proc)
    login = httpx.post(urls[0] + "/agent/login", data={"username": "bench", "password": "bench-password"})
    cookie = "; ".join(f"{k}={v}" for k, v in login.cookies.items())
    if not cookie:
        raise SystemExit(f"could not log in the bench agent: {login.status_code}")
    return Nodes(procs, [u.replace("http://", "ws://") for u in urls], cookie)


async def connect(nodes: Nodes, sessions: int, tag: str, snapshot_seconds: float) -> Load:
    """Visitors on node 0; each session's two agents on the other nodes (or node 0 when it is alone)."""
    window = Window()
    pads, big_pad = make_pads()
    visitors: list[Visitor] = []
    agents: list[list[Agent]] = []
    for i in range(sessions):
        key = f"{tag}x{i}"
        vws = await open_ws(nodes.urls[0], "/ws/visitor")
        vws.write_frame(msgspec.json.encode({"v": 1, "t": "start", "group": 1, "key": key}))
        started = await vws.recv()
        if b'"t":"started"' not in started:
            raise SystemExit(f"visitor not started: {started[:200]!r}")
        visitors.append(Visitor(vws, window, pads, big_pad))
        session: list[Agent] = []
        for a in range(2):
            aws = await open_ws(nodes.agent_url(a), "/ws/agent", {"Cookie": nodes.cookie})
            aws.write_frame(msgspec.json.encode({"v": 1, "t": "join", "key": key, "group": None}))
            joined = await aws.recv()
            if b'"t":"joined"' not in joined:
                raise SystemExit(f"agent not joined at {nodes.agent_url(a)}: {joined[:200]!r}")
            session.append(Agent(aws, window))
        agents.append(session)
    return Load(window, visitors, agents, Pacer(visitors, snapshot_seconds))


@dataclass
class Step:
    rate: float
    deliveries_per_s: float
    delivered: float
    p50_ms: float
    p99_ms: float
    server_cpu_us: float  # all nodes' CPU per delivery
    load_cpu: float  # the load generator's, fraction of one core

    @property
    def passed(self) -> bool:
        return self.p99_ms <= P99_LIMIT_MS and self.delivered >= DELIVERED_MIN

    def line(self, setup: str) -> str:
        return (
            f"  {setup:8} {self.rate:6.0f}/s/visitor {self.deliveries_per_s:8,.0f} deliveries/s"
            f" {100 * self.delivered:6.2f}% p50 {self.p50_ms:7.2f} p99 {self.p99_ms:8.2f} ms"
            f" nodes {self.server_cpu_us:5.1f} us/delivery load {100 * self.load_cpu:3.0f}%"
        )


async def measure(load: Load, nodes: Nodes, rate: float, seconds: float, warmup: float) -> Step:
    pacing = asyncio.create_task(load.pacer.run(rate, warmup + seconds))
    await asyncio.sleep(warmup)
    cpu0, own0, t0 = nodes.cpu(), time.process_time(), time.perf_counter()
    load.window.open(seconds)
    await pacing
    cpu1, own1, t1 = nodes.cpu(), time.process_time(), time.perf_counter()
    await drain(load)
    window = load.window
    expected = window.sent * 2
    return Step(
        rate=rate,
        deliveries_per_s=window.deliveries / seconds,
        delivered=window.deliveries / expected if expected else 0.0,
        p50_ms=percentile_ns(window.latencies_ns, 0.50),
        p99_ms=percentile_ns(window.latencies_ns, 0.99),
        server_cpu_us=1e6 * (cpu1 - cpu0) / window.deliveries if window.deliveries else float("nan"),
        load_cpu=(own1 - own0) / (t1 - t0),
    )


@contextlib.contextmanager
def servers(args: argparse.Namespace) -> Iterator[dict[str, Nodes]]:
    data_dir = Path(tempfile.mkdtemp(prefix="cobrowse-cluster-bench-"))
    started: dict[str, Nodes] = {}
    try:
        # a Redis server per set-up: the two would otherwise share session ids' homes, claims and channels
        with redis() as redis_1, redis() as redis_3, postgres() as admin_url:
            started["memory"] = start_nodes(data_dir / "memory", 1, {})
            started["redis-1"] = start_nodes(data_dir / "redis1", 1, {"COBROWSE_BROKER_URL": redis_1})
            started["redis-3"] = start_nodes(
                data_dir / "redis3",
                3,
                {"COBROWSE_BROKER_URL": redis_3, "COBROWSE_DATABASE_URL": fresh_database(admin_url)},
            )
            try:
                yield started
            finally:  # before Redis and PostgreSQL stop
                for nodes in started.values():
                    nodes.stop()
    finally:
        for nodes in started.values():
            nodes.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


async def one_run(all_nodes: dict[str, Nodes], args: argparse.Namespace, run: int) -> dict[str, list[Step]]:
    results: dict[str, list[Step]] = {}
    for setup in SETUPS:
        nodes = all_nodes[setup]
        load = await connect(nodes, args.sessions, f"r{run}{setup}", args.snapshot_seconds)
        try:
            await measure(load, nodes, args.rates[0], 1.0, 0.5)  # warm the connections
            steps = []
            for rate in args.rates:
                step = await measure(load, nodes, rate, args.seconds, args.warmup)
                print(step.line(setup), flush=True)
                steps.append(step)
                await drain(load)
            steps.append(await ramp(load, nodes, setup, args))
            results[setup] = steps
        finally:
            load.close()
    return results


async def step(load: Load, nodes: Nodes, setup: str, rate: float, args: argparse.Namespace) -> Step:
    """One step at ``rate``; a step that fails is tried once more (the machine is shared: it has hiccups),
    after the backlog cleared."""
    for again in (False, True):
        result = await measure(load, nodes, rate, args.seconds, args.warmup)
        print(
            result.line(setup) + (" ok" if result.passed else " FAIL") + (" (again)" if again else ""),
            flush=True,
        )
        if result.passed:
            return result
        await asyncio.sleep(1.0)
        await drain(load)
    return result


async def ramp(load: Load, nodes: Nodes, setup: str, args: argparse.Namespace) -> Step:
    """The passing step with the most deliveries/s: x``growth`` while steps pass, then bisect; a first step
    that fails starts the ramp lower (at most three times)."""
    best: Step | None = None
    rate = args.start_rate
    while True:
        result = await step(load, nodes, setup, rate, args)
        if result.passed:
            best = result
            rate *= args.growth
        elif best is None and rate > args.start_rate / args.growth**3:
            rate /= args.growth
        else:
            break
    if best is None:
        return result
    failed = rate
    for _ in range(args.bisections):
        rate = (best.rate * failed) ** 0.5
        result = await step(load, nodes, setup, rate, args)
        if result.passed:
            best = result if result.deliveries_per_s > best.deliveries_per_s else best
        else:
            failed = rate
    return best


def report(args: argparse.Namespace, runs: list[dict[str, list[Step]]]) -> str:
    def med(setup: str, index: int, key: str) -> float:
        return statistics.median(float(getattr(r[setup][index], key)) for r in runs)

    command = "bench/cluster_relay.py " + " ".join(args.argv) if args.argv else "bench/cluster_relay.py"
    lines = [
        f"## Relay through Redis, 1 and 3 nodes: {args.sessions} sessions x (1 visitor + 2 agents)",
        "",
        f"Command: `.venv/bin/python {command}` ({time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores,"
        f" loopback, not pinned: the nodes, Redis, PostgreSQL and the load generator share both cores; medians"
        f" of {args.runs} runs, the set-ups one after the other in each; frames 0.5-2 KB, a 200 KB snapshot per"
        f" visitor every {args.snapshot_seconds:g} s; {args.seconds:g} s a step; node CPU is summed over the"
        " nodes, without Redis and PostgreSQL)",
        "",
        f"Fixed offered loads, then the peak (the best step with p99 <= {P99_LIMIT_MS:g} ms and at least"
        f" {100 * DELIVERED_MIN:g}% delivered; the rate raised x{args.growth:g} a step, {args.bisections}"
        " bisection(s)).",
        "",
        "| set-up | offered frames/s/visitor | deliveries/s | x memory | delivered | p50 ms | p99 ms"
        " | node CPU us/delivery |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for index in range(len(args.rates) + 1):
        base = med("memory", index, "deliveries_per_s")
        for setup in SETUPS:
            if index < len(args.rates):
                rate = f"{args.rates[index]:g}"
            elif all(r[setup][index].passed for r in runs):
                rate = f"peak: {med(setup, index, 'rate'):.0f}"
            else:  # not even the ramp's lowest step passed (in some run): that step, for the record
                rate = f"peak: none passed (lowest step {med(setup, index, 'rate'):.0f})"
            got = med(setup, index, "deliveries_per_s")
            lines.append(
                f"| {LABELS[setup]} | {rate} | {got:,.0f} | {got / base:.2f}"
                f" | {100 * med(setup, index, 'delivered'):.2f}% | {med(setup, index, 'p50_ms'):.2f}"
                f" | {med(setup, index, 'p99_ms'):.2f} | {med(setup, index, 'server_cpu_us'):.1f} |"
            )
    lines.append("")
    return "\n".join(lines)


async def main_async(args: argparse.Namespace) -> None:
    runs: list[dict[str, list[Step]]] = []
    with servers(args) as all_nodes:
        for run in range(args.runs):
            print(f"run {run + 1} of {args.runs}", flush=True)
            runs.append(await one_run(all_nodes, args, run))
    text = report(args, runs)
    print(text)
    if not args.no_write:
        from browser import append_results

        append_results(ROOT / "bench/RESULTS.md", text)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument(
        "--rates", default="20,100", help="fixed offered loads, frames/s per visitor (comma-separated)"
    )
    parser.add_argument("--start-rate", type=float, default=200.0, help="the peak ramp's first rate")
    parser.add_argument("--growth", type=float, default=1.5, help="rate factor between ramp steps")
    parser.add_argument("--bisections", type=int, default=1)
    parser.add_argument(
        "--snapshot-seconds", type=float, default=10.0, help="seconds between a visitor's snapshots"
    )
    parser.add_argument("--seconds", type=float, default=5.0, help="measured seconds of a step")
    parser.add_argument("--warmup", type=float, default=1.0, help="unmeasured seconds before each step")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="one run of short steps (development)")
    parser.add_argument(
        "--no-write", action="store_true", help="print only; do not append to bench/RESULTS.md"
    )
    args = parser.parse_args(argv)
    args.argv = list(argv) if argv is not None else sys.argv[1:]
    args.rates = [float(r) for r in args.rates.split(",")]
    if args.quick:
        args.runs, args.seconds, args.warmup = 1, 2.0, 0.5
    uvloop.run(main_async(args))


if __name__ == "__main__":
    main()
