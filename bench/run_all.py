"""Every benchmark of issue 8, one after the other, each appending its section to bench/RESULTS.md.

    .venv/bin/python bench/run_all.py                  # everything (about half an hour on 2 cores)
    .venv/bin/python bench/run_all.py --only relay,memory --no-write

Each benchmark is its own process (it starts its own servers, load generators and browsers), run one at a time
so that no two compete for the machine; each measures its baseline in the same run. A benchmark that fails is
reported and the others still run; the exit status says whether all succeeded.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent

#: name -> what it measures (issue 8's figure numbers), in the order they run.
BENCHMARKS = {
    "relay": "1, 2: relay throughput, CPU per delivery and added latency against a bare relay",
    "broker_relay": "issue 9: the broker alone, memory against Redis (one and two nodes)",
    "cluster_relay": "issue 9: relay through Redis against the in-memory broker, 1 and 3 nodes",
    "slow_agent": "9: a stalled agent against the others' latency",
    "capacity": "5: concurrent sessions within p99 100 ms, nothing lost",
    "memory": "7: server memory per idle session and per connection",
    "e2e_latency": "3: DOM change and pointer move to the agent's replay, in Chromium",
    "wire_bytes": "4: bytes on the wire per minute against raw rrweb JSON",
    "late_join": "6: a joining agent showing a 1 MB page",
    "visitor_cost": "8: main-thread time the recording adds on a busy page",
    "masking_update": "issue 3: a masking rule change to the agent's view",
    "remote_control": "issue 6: the agent's click to the visitor's page reacting",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", help="comma-separated names: " + ", ".join(BENCHMARKS))
    parser.add_argument(
        "--no-write", action="store_true", help="print only; do not append to bench/RESULTS.md"
    )
    args = parser.parse_args(argv)
    names = (
        [n.strip() for n in args.only.split(",")]
        if args.only
        else [n for n in BENCHMARKS if (BENCH / f"{n}.py").exists()]
    )
    unknown = [n for n in names if n not in BENCHMARKS or not (BENCH / f"{n}.py").exists()]
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}")
    failed: list[str] = []
    for name in names:
        print(f"==> bench/{name}.py ({BENCHMARKS[name]})", flush=True)
        started = time.monotonic()
        cmd = [sys.executable, str(BENCH / f"{name}.py")] + (["--no-write"] if args.no_write else [])
        done = subprocess.run(cmd, cwd=BENCH.parent)
        print(
            f"==> bench/{name}.py: exit {done.returncode} after {time.monotonic() - started:.0f} s",
            flush=True,
        )
        if done.returncode != 0:
            failed.append(name)
    if failed:
        print("failed: " + ", ".join(failed), file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
