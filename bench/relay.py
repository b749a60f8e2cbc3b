"""Relay throughput, latency and CPU per delivery: cobrowse against a bare relay, measured in the same run.

Each session has one visitor and N agents. Visitors send rrweb-like frames of 0.5-2 KB (and a ~200 KB full
snapshot every so often) at a fixed rate; agents count what arrives and how long it took (a send timestamp
rides in each frame; one machine, one clock). The server's CPU time comes from /proc. The same load is run
against `bench/bare_relay.py` (forwarding only, same uvicorn + Starlette stack) as the baseline.

    .venv/bin/python bench/relay.py                 # default load, appends to bench/RESULTS.md
    .venv/bin/python bench/relay.py --sessions 40 --agents 3 --rate 100 --seconds 10
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import msgspec
import uvloop
from websockets.asyncio.client import ClientConnection, connect

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
TICK = os.sysconf("SC_CLK_TCK")


@dataclass
class Tally:
    deliveries: int = 0
    latencies_us: list[float] = field(default_factory=list)
    sent: int = 0


class Probe(msgspec.Struct):
    t: int = 0


class Event(msgspec.Struct):
    data: Probe = msgspec.field(default_factory=Probe)


class Frame(msgspec.Struct):
    t: str = ""
    data: list[Event] = msgspec.field(default_factory=list)


decode_frame = msgspec.json.Decoder(Frame).decode


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def payload(seq: int, size: int) -> str:
    event = {
        "type": 3,
        "timestamp": int(time.time() * 1000),
        "data": {"source": 1, "t": time.perf_counter_ns()},
    }
    body = msgspec.json.encode([event]).decode()
    return body[:-2] + ',"pad":"' + "x" * max(0, size - len(body) - 10) + '"}]'


async def agent_reader(ws: ClientConnection, tally: Tally, stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            raw = await asyncio.wait_for(ws.recv(), 0.5)
        except TimeoutError:
            continue
        except Exception:
            return
        frame = decode_frame(raw)
        if frame.t != "events" or not frame.data:
            continue
        tally.deliveries += 1
        sent = frame.data[0].data.t
        if sent:
            tally.latencies_us.append((time.perf_counter_ns() - sent) / 1000)


async def run_load(kind: str, url: str, args: argparse.Namespace, cookie: str, run: int) -> Tally:
    tally = Tally()
    stop = asyncio.Event()
    visitors: list[ClientConnection] = []
    readers: list[asyncio.Task[None]] = []
    agents: list[ClientConnection] = []
    for i in range(args.sessions):
        key = f"b{run}x{i}"
        if kind == "bare":
            visitor = await connect(f"{url}/ws/room/{key}", max_size=None, compression=None)
        else:
            visitor = await connect(f"{url}/ws/visitor", max_size=None, compression=None)
            await visitor.send(msgspec.json.encode({"v": 1, "t": "start", "group": 1, "key": key}).decode())
            await visitor.recv()
        visitors.append(visitor)
        for _ in range(args.agents):
            if kind == "bare":
                agent = await connect(f"{url}/ws/room/{key}", max_size=None, compression=None)
            else:
                agent = await connect(
                    f"{url}/ws/agent", additional_headers={"Cookie": cookie}, max_size=None, compression=None
                )
                await agent.send(
                    msgspec.json.encode({"v": 1, "t": "join", "key": key, "group": None}).decode()
                )
                await agent.recv()  # joined
            agents.append(agent)
            readers.append(asyncio.create_task(agent_reader(agent, tally, stop)))

    async def visitor_loop(ws: ClientConnection) -> None:
        seq, epoch, interval = 0, 0, 1.0 / args.rate
        next_at = time.perf_counter() + random.random() * interval
        deadline = time.perf_counter() + args.seconds
        while time.perf_counter() < deadline:
            seq += 1
            snapshot = seq == 1 or seq % args.snapshot_every == 0
            epoch += snapshot
            size = 200_000 if snapshot else random.randint(500, 2000)
            data = payload(seq, size)
            if kind == "bare":
                frame = f'{{"t":"events","data":{data}}}'
            else:
                frame = (
                    f'{{"v":1,"t":"events","seq":{seq},"epoch":{epoch},'
                    f'"snapshot":{"true" if snapshot else "false"},"data":{data}}}'
                )
            await ws.send(frame)
            tally.sent += 1
            next_at += interval
            delay = next_at - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)

    await asyncio.gather(*(visitor_loop(v) for v in visitors))
    await asyncio.sleep(1.0)  # let in-flight frames arrive
    stop.set()
    await asyncio.gather(*readers, return_exceptions=True)
    for ws in visitors + agents:
        await ws.close()
    return tally


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


async def measure(
    kind: str, url: str, pid: int, args: argparse.Namespace, cookie: str, run: int
) -> dict[str, float]:
    before, start = cpu_seconds(pid), time.perf_counter()
    tally = await run_load(kind, url, args, cookie, run)
    cpu, wall = cpu_seconds(pid) - before, time.perf_counter() - start
    expected = tally.sent * args.agents
    return {
        "deliveries_per_s": tally.deliveries / args.seconds,
        "delivered_pct": 100.0 * tally.deliveries / expected if expected else 0.0,
        "p50_ms": pct(tally.latencies_us, 0.50) / 1000,
        "p99_ms": pct(tally.latencies_us, 0.99) / 1000,
        "cpu_us_per_delivery": 1e6 * cpu / tally.deliveries if tally.deliveries else float("nan"),
        "server_cpu_pct": 100.0 * cpu / wall,
    }


def start_servers(data_dir: Path) -> tuple[subprocess.Popen[bytes], str, subprocess.Popen[bytes], str, str]:
    cli = [str(VENV_BIN / "cobrowse"), "--data-dir", str(data_dir)]
    subprocess.run([*cli, "group", "create", "--name", "Bench", "--id", "1"], check=True, capture_output=True)
    subprocess.run(
        [*cli, "agent", "create", "--username", "bench", "--group", "1", "--password", "bench-password"],
        check=True,
        capture_output=True,
    )
    port, bare_port = free_port(), free_port()
    env = {**os.environ, "COBROWSE_LOG_LEVEL": "warning", "COBROWSE_AGENT_QUEUE_FRAMES": "4096"}
    server = subprocess.Popen([*cli, "serve", "--port", str(port)], env=env)
    bare = subprocess.Popen([sys.executable, str(ROOT / "bench/bare_relay.py"), str(bare_port)])
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            if httpx.get(url + "/api/v1/health").status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    login = httpx.post(url + "/agent/login", data={"username": "bench", "password": "bench-password"})
    cookie = "; ".join(f"{k}={v}" for k, v in login.cookies.items())
    time.sleep(0.5)
    return server, f"ws://127.0.0.1:{port}", bare, f"ws://127.0.0.1:{bare_port}", cookie


def report(args: argparse.Namespace, results: dict[str, list[dict[str, float]]]) -> str:
    def med(kind: str, key: str) -> float:
        return statistics.median(r[key] for r in results[kind])

    lines = [
        f"## Relay: {args.sessions} sessions x (1 visitor + {args.agents} agents), {args.rate} frames/s per visitor",
        "",
        f"Command: `.venv/bin/python bench/relay.py --sessions {args.sessions} --agents {args.agents} "
        f"--rate {args.rate} --seconds {args.seconds} --runs {args.runs}` ({time.strftime('%Y-%m-%d %H:%M')},"
        f" {os.cpu_count()} cores, loopback; medians of {args.runs} runs; frames 0.5-2 KB, a 200 KB snapshot"
        f" every {args.snapshot_every} frames)",
        "",
        "| relay | deliveries/s | delivered | p50 ms | p99 ms | server CPU us/delivery | server CPU |",
        "|---|---|---|---|---|---|---|",
    ]
    for kind, label in (("bare", "bare relay (baseline)"), ("cobrowse", "cobrowse")):
        lines.append(
            f"| {label} | {med(kind, 'deliveries_per_s'):,.0f} | {med(kind, 'delivered_pct'):.1f}% "
            f"| {med(kind, 'p50_ms'):.2f} | {med(kind, 'p99_ms'):.2f} | {med(kind, 'cpu_us_per_delivery'):.1f} "
            f"| {med(kind, 'server_cpu_pct'):.0f}% |"
        )
    ratio = med("cobrowse", "cpu_us_per_delivery") / med("bare", "cpu_us_per_delivery")
    lines += ["", f"cobrowse costs {ratio:.2f}x the baseline's CPU per delivery.", ""]
    return "\n".join(lines)


async def main_async(args: argparse.Namespace) -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="cobrowse-bench-"))
    server, url, bare, bare_url, cookie = start_servers(data_dir)
    results: dict[str, list[dict[str, float]]] = {"bare": [], "cobrowse": []}
    try:
        for run in range(args.runs):  # interleaved, so drift in the machine's load hits both alike
            if args.only in (None, "bare"):
                results["bare"].append(await measure("bare", bare_url, bare.pid, args, cookie, run))
            if args.only in (None, "cobrowse"):
                results["cobrowse"].append(await measure("cobrowse", url, server.pid, args, cookie, run))
        if args.only:
            print(results)
            return
    finally:
        for proc in (server, bare):
            proc.terminate()
            proc.wait(10)
        shutil.rmtree(data_dir, ignore_errors=True)
    text = report(args, results)
    print(text)
    if not args.no_write:
        out = ROOT / "bench/RESULTS.md"
        if not out.exists():
            out.write_text("# Benchmark results\n\nEach section is appended by the command it names.\n\n")
        with out.open("a") as f:
            f.write(text + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--agents", type=int, default=2)
    parser.add_argument("--rate", type=float, default=50.0, help="frames per second per visitor")
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--snapshot-every", type=int, default=500)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--no-write", action="store_true", help="print only; do not append to bench/RESULTS.md"
    )
    args = parser.parse_args()
    uvloop.run(main_async(args))


if __name__ == "__main__":
    main()
