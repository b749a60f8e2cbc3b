"""The broker alone, in-process: deliveries per second and publish-to-deliver latency, Redis against memory.

N sessions, each with one publisher (a visitor's page events) and two listeners (agents). A publisher does
what the runtime does for each frame: ``log_append`` (a snapshot resets the log) then ``publish_frame``.
Frames are 0.5-2 KB of bytes, and every ``--snapshot-every`` frames a 200 KB snapshot; the send time rides in
the frame's first 8 bytes (one process, one clock). Three set-ups, interleaved in each run:

- ``memory``: the in-memory broker (the baseline);
- ``redis, 1 node``: one RedisBroker, publishers and listeners on it (the home-node case: local delivery and
  the log in memory; the log and a PUBLISH no other node hears written to Redis behind, by the writer task);
- ``redis, 2 nodes``: two RedisBrokers on one Redis, publishers on one and every listener on the other (each
  frame crosses Redis).

Two figures per set-up: the peak (every publisher sends as fast as its awaits allow, for ``--seconds``) and
the latency at a fixed, realistic rate (``--rate`` frames/s per session: the visitor's ~50 ms batching).
Both nodes and the load share this one process (and its core): the 2-node peak is therefore a lower bound.
Redis is a private ``redis-server`` (tests/support/services.py) unless ``--redis-url`` names one.

    .venv/bin/python bench/broker_relay.py                      # 3 runs, appends to bench/RESULTS.md
    .venv/bin/python bench/broker_relay.py --quick --no-write   # one short run, printed only
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import statistics
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import uvloop

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the private Redis server the tests use
from cobrowse.broker import Broker, Kind, MemoryBroker, RedisBroker  # noqa: E402
from support.services import redis as private_redis  # noqa: E402

SETUPS = ("memory", "redis-1", "redis-2")
LABELS = {
    "memory": "memory (baseline)",
    "redis-1": "Redis, 1 node",
    "redis-2": "Redis, 2 nodes (publisher and listeners apart)",
}
SNAPSHOT_BYTES = 200 * 1024


@dataclass
class Window:
    """What the listeners saw while measuring."""

    open: bool = False
    deliveries: int = 0
    latencies_ns: list[int] = field(default_factory=list)


class TimingListener:
    def __init__(self, window: Window) -> None:
        self.window = window

    def deliver(self, kind: Kind, seq: int, frame: bytes) -> None:
        if self.window.open:
            self.window.deliveries += 1
            self.window.latencies_ns.append(time.perf_counter_ns() - int.from_bytes(frame[:8], "big"))

    def overflowed(self) -> None:
        pass


@dataclass
class Result:
    deliveries_per_s: float
    p50_ms: float
    p99_ms: float
    #: Redis writes the publishing broker's writer dropped past its bound (log entries and PUBLISHes)
    dropped: int = 0


def bodies(count: int) -> Iterator[bytes]:
    """Frame bodies of 0.5-2 KB, cycled (random content: the broker never looks inside)."""
    pool = [os.urandom(random.randint(512, 2048)) for _ in range(count)]
    while True:
        yield from pool


def percentile_ms(values: list[int], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] / 1e6


async def publisher(
    broker: Broker, session: int, rate: float | None, stop: float, snapshot_every: int, offset: int
) -> None:
    """One visitor: log then publish each frame, at ``rate`` frames/s (None: as fast as the awaits allow)."""
    snapshot = os.urandom(SNAPSHOT_BYTES)
    frames = bodies(16)
    channel = f"session:{session}:agents"
    seq = 0
    loop = asyncio.get_running_loop()
    next_at = loop.time() + (offset / 1000 if rate else 0)
    while loop.time() < stop:
        if rate:
            delay = next_at - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            next_at += 1 / rate
        else:
            await asyncio.sleep(0)  # the in-memory broker never suspends: let the other publishers run
        seq += 1
        is_snapshot = seq % snapshot_every == 1
        body = snapshot if is_snapshot else next(frames)
        frame = time.perf_counter_ns().to_bytes(8, "big") + body
        await broker.log_append(session, seq, frame, reset=is_snapshot)
        await broker.publish_frame(channel, Kind.EVENTS, seq, frame)


async def measure(
    publish_on: Broker, listen_on: Broker, args: argparse.Namespace, rate: float | None, seconds: float
) -> Result:
    window = Window()
    dropped_before = _dropped(publish_on)
    base = random.randrange(1, 10**9)
    sessions = [base + i for i in range(args.sessions)]
    listenings = [
        await listen_on.listen(f"session:{sid}:agents", TimingListener(window), 1000)
        for sid in sessions
        for _ in range(2)
    ]
    loop = asyncio.get_running_loop()
    stop = loop.time() + args.warmup + seconds
    tasks = [
        asyncio.create_task(publisher(publish_on, sid, rate, stop, args.snapshot_every, i * 7 % 50))
        for i, sid in enumerate(sessions)
    ]
    await asyncio.sleep(args.warmup)
    window.open = True
    started = time.perf_counter()
    await asyncio.gather(*tasks)
    await asyncio.sleep(0.05)  # what is still crossing Redis arrives (latencies count; the rate does not)
    elapsed = time.perf_counter() - started
    window.open = False
    for listening in listenings:
        await listening.close()
    for sid in sessions:
        await publish_on.log_drop(sid)
    if isinstance(publish_on, RedisBroker):
        await publish_on.writer.flush()  # the next figure starts with an empty queue
    return Result(
        deliveries_per_s=window.deliveries / elapsed,
        p50_ms=percentile_ms(window.latencies_ns, 0.50),
        p99_ms=percentile_ms(window.latencies_ns, 0.99),
        dropped=_dropped(publish_on) - dropped_before,
    )


def _dropped(broker: Broker) -> int:
    if isinstance(broker, RedisBroker):
        return int(broker.writer.lost_log_writes + broker.writer.dropped_publishes)
    return 0


async def run_all(args: argparse.Namespace, redis_url: str) -> dict[str, dict[str, list[Result]]]:
    prefix = f"bench{uuid.uuid4().hex[:8]}"
    memory = MemoryBroker()
    one, two = RedisBroker(redis_url, prefix=prefix), RedisBroker(redis_url, prefix=prefix)
    for broker in (memory, one, two):
        await broker.connect()
    pairs: dict[str, tuple[Broker, Broker]] = {
        "memory": (memory, memory),
        "redis-1": (one, one),
        "redis-2": (one, two),
    }
    results: dict[str, dict[str, list[Result]]] = {s: {"peak": [], "rate": []} for s in SETUPS}
    try:
        for run in range(args.runs):
            print(f"run {run + 1} of {args.runs}", flush=True)
            for setup in SETUPS:
                publish_on, listen_on = pairs[setup]
                peak = await measure(publish_on, listen_on, args, None, args.seconds)
                at_rate = await measure(publish_on, listen_on, args, args.rate, args.seconds)
                results[setup]["peak"].append(peak)
                results[setup]["rate"].append(at_rate)
                print(
                    f"  {setup:8} peak {peak.deliveries_per_s:9,.0f} deliveries/s (p50 {peak.p50_ms:.2f},"
                    f" p99 {peak.p99_ms:.2f} ms); at {args.rate:g}/s/session {at_rate.deliveries_per_s:7,.0f}"
                    f" deliveries/s p50 {at_rate.p50_ms:.3f} p99 {at_rate.p99_ms:.3f} ms; Redis writes dropped"
                    f" {peak.dropped} at peak, {at_rate.dropped} at rate",
                    flush=True,
                )
    finally:
        for broker in (memory, one, two):
            await broker.disconnect()
    return results


def report(args: argparse.Namespace, results: dict[str, dict[str, list[Result]]]) -> str:
    def med(setup: str, which: str, key: str) -> float:
        return float(statistics.median(getattr(r, key) for r in results[setup][which]))

    command = "bench/broker_relay.py " + " ".join(args.argv) if args.argv else "bench/broker_relay.py"
    lines = [
        f"## Broker relay, in-process: {args.sessions} sessions x (1 publisher + 2 listeners), memory against Redis",
        "",
        f"Command: `.venv/bin/python {command}` ({time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores,"
        f" one process for the load and every node, Redis {args.redis_version} on loopback; medians of"
        f" {args.runs} runs, the set-ups interleaved; frames 0.5-2 KB and a 200 KB snapshot every"
        f" {args.snapshot_every} frames; each frame `log_append` then `publish_frame`)",
        "",
        f"| set-up | peak deliveries/s | x memory | p50 ms at peak | p99 ms at peak | p50 ms at {args.rate:g}/s/session"
        f" | p99 ms at {args.rate:g}/s/session | Redis writes dropped at peak |",
        "|---|---|---|---|---|---|---|---|",
    ]
    base = med("memory", "peak", "deliveries_per_s")
    for setup in SETUPS:
        peak = med(setup, "peak", "deliveries_per_s")
        lines.append(
            f"| {LABELS[setup]} | {peak:,.0f} | {peak / base:.3f} | {med(setup, 'peak', 'p50_ms'):.2f}"
            f" | {med(setup, 'peak', 'p99_ms'):.2f} | {med(setup, 'rate', 'p50_ms'):.3f}"
            f" | {med(setup, 'rate', 'p99_ms'):.3f} | {med(setup, 'peak', 'dropped'):.0f} |"
        )
    lines.append("")
    return "\n".join(lines)


async def main_async(args: argparse.Namespace) -> None:
    with contextlib.ExitStack() as stack:
        url = args.redis_url or stack.enter_context(private_redis())
        probe = RedisBroker(url)
        info = await probe._redis.info("server")  # the version, for the record
        args.redis_version = info.get("redis_version", "?")
        await probe.disconnect()
        results = await run_all(args, url)
    text = report(args, results)
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
        "--rate", type=float, default=20.0, help="frames/s per session for the latency figure"
    )
    parser.add_argument(
        "--snapshot-every", type=int, default=200, help="frames between a session's snapshots"
    )
    parser.add_argument("--seconds", type=float, default=5.0, help="measured seconds of each figure")
    parser.add_argument("--warmup", type=float, default=1.0, help="unmeasured seconds before each figure")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--redis-url", help="a Redis server of your own (default: a private redis-server)")
    parser.add_argument("--quick", action="store_true", help="one run of short figures (development)")
    parser.add_argument(
        "--no-write", action="store_true", help="print only; do not append to bench/RESULTS.md"
    )
    args = parser.parse_args(argv)
    args.argv = list(argv) if argv is not None else sys.argv[1:]
    if args.quick:
        args.runs, args.seconds, args.warmup = 1, 2.0, 0.5
    uvloop.run(main_async(args))


if __name__ == "__main__":
    main()
