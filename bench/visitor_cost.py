"""The visitor's page (issue 8, figure 8): main-thread time that recording adds on a mutation-heavy page.

A real ``cobrowse demo`` and real headless Chromium. The page is a table of 5,000 cells (100 rows x 50) whose
own script changes ``--cells`` random cells every ``--tick-ms`` ms (new text and a class, as a price ticker
does: 5,000 cell changes a second by default). Two versions of the same page, measured alternately, each
in a fresh browser context (a fresh renderer):

- without the cobrowse script (the baseline);
- with the script, in a session (``startSession``) that an agent watches (a simulated console on a
  WebSocket, which also checks that the recording reaches the server).

Over ``--seconds`` of activity the renderer's main-thread time comes from the Chrome DevTools Protocol
(``Performance.getMetrics`` in the ``threadTicks`` time domain: the thread's CPU time, so other processes on
the machine do not count; TaskDuration, and the script / layout / style parts of it); long tasks (over
50 ms) from a ``PerformanceObserver('longtask')`` in the page, whose time beyond 50 ms each is the total
blocking time. The figure is the difference, recorded minus plain, of script time: what the recording itself
runs (rrweb's mutation observer and serializer, the masking checks, the outbox and the socket), per cell
change (each run's time over the changes the page managed: a page starved of CPU on a busy machine makes
fewer) times the page's intended rate: ms per second of activity. The difference of all main-thread time
is reported too; it comes out lower, because a busier page renders fewer frames. Target: at most 50 ms added
per second.

    .venv/bin/python bench/visitor_cost.py                  # 5 runs of each, 10 s each; appends to RESULTS.md
    .venv/bin/python bench/visitor_cost.py --quick --no-write
    .venv/bin/python bench/visitor_cost.py --runs 1 --profile --no-write   # where the recorded page's time goes
    .venv/bin/python bench/visitor_cost.py --quick --no-write --visitor-js /tmp/other/visitor.js   # A/B a build
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

import httpx
from playwright.sync_api import Browser, sync_playwright
from websockets.sync.client import ClientConnection, connect

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the demo launcher shared with the browser tests
import cpu_profile  # noqa: E402
from browser import CHROMIUM, CHROMIUM_ARGS, append_results, wait  # noqa: E402
from cpu_profile import summarize  # noqa: E402
from e2e_latency import serve_visitor_js  # noqa: E402
from simulated_sessions import cpu_pressure_us  # noqa: E402

from support.demo_process import start_demo, stop_demo  # noqa: E402

TARGET_MS_PER_S = 50.0
ROWS, COLS = 100, 50

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Visitor cost benchmark</title>
<style>
  body { font: 11px sans-serif; margin: 8px; }
  table { table-layout: fixed; width: 2500px; border-collapse: collapse; }
  td { width: 44px; padding: 1px 3px; border: 1px solid #ddd; text-align: right; overflow: hidden; }
  td.up { color: #080; } td.down { color: #b00; }
</style>
SCRIPT
</head><body>
<h1>Ticker: ROWS x COLS cells</h1>
<table id="grid"></table>
<script>
  (function () {
    var grid = document.getElementById("grid"), cells = [];
    for (var r = 0; r < ROWS; r++) {
      var tr = grid.insertRow();
      for (var c = 0; c < COLS; c++) {
        var td = tr.insertCell();
        td.textContent = (100 + r + c / 100).toFixed(2);
        cells.push(td);
      }
    }
    var seed = 1;
    function rand(n) { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n; }
    window.benchChanges = 0;
    window.benchStart = function (perTick, tickMs) {
      window.benchTimer = setInterval(function () {
        for (var i = 0; i < perTick; i++) {
          var td = cells[rand(cells.length)], up = rand(2) === 1;
          td.textContent = (rand(100000) / 100).toFixed(2);
          td.className = up ? "up" : "down";
        }
        window.benchChanges += perTick;
      }, tickMs);
    };
    window.benchStop = function () { clearInterval(window.benchTimer); };
  })();
</script>
</body></html>
"""

#: Installed before any page script: long tasks from the start, whatever the page is.
LONGTASKS = """
window.benchLongTasks = [];
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) window.benchLongTasks.push([e.startTime, e.duration]);
}).observe({ type: 'longtask', buffered: true });
"""

METRICS = ("TaskDuration", "ScriptDuration", "LayoutDuration", "RecalcStyleDuration")


def page_html(with_script: bool) -> str:
    html = PAGE.replace("ROWS", str(ROWS)).replace("COLS", str(COLS))
    return html.replace("SCRIPT", "{{COBROWSE_SCRIPT}}" if with_script else "")


class Agent:
    """A simulated agent console watching the session (on its own thread): joins, then counts what comes."""

    def __init__(self, server: str, cookie: str, key: str) -> None:
        self.url = server.replace("http://", "ws://") + "/ws/agent"
        self.cookie, self.key = cookie, key
        self.frames = 0
        self.bytes = 0
        self.snapshots = 0
        self.ws: ClientConnection | None = None
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        try:
            with connect(self.url, additional_headers={"Cookie": self.cookie}, max_size=None) as ws:
                self.ws = ws
                ws.send(json.dumps({"v": 1, "t": "join", "key": self.key, "group": None}))
                for raw in ws:
                    head = raw[:80] if isinstance(raw, str) else raw[:80].decode(errors="replace")
                    if '"t":"events"' in head:
                        self.frames += 1
                        self.bytes += len(raw)
                        self.snapshots += '"snapshot":true' in head
        except Exception:
            pass

    def close(self) -> None:
        if self.ws is not None:
            self.ws.close()
        self.thread.join(5)


def variants(args: argparse.Namespace) -> dict[str, Path | None]:
    """The recorded kinds of this run: the server's build, and each ``--visitor-js`` build (named by its folder
    or file name) to compare with it in the same run."""
    kinds: dict[str, Path | None] = {"recorded": None}
    for path in args.visitor_js or ():
        name = path.parent.name if path.name == "visitor.js" else path.stem
        kinds[f"recorded {name}"] = path
    return kinds


def one_run(
    browser: Browser,
    site: str,
    server: str,
    cookie: str,
    kind: str,
    run: int,
    args: argparse.Namespace,
) -> dict[str, float]:
    recorded = kind != "plain"
    build = variants(args).get(kind)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.add_init_script(LONGTASKS)
    page = context.new_page()
    serve_visitor_js(page, build)
    page.set_default_timeout(30_000)
    agent: Agent | None = None
    try:
        page.goto(f"{site}/{'cost-recorded' if recorded else 'cost-plain'}.html")
        if recorded:
            key = f"bench-cost-{run}-{re.sub('[^A-Za-z0-9]', '-', kind)}"[:100]
            wait(page, "() => window.GLANCE && GLANCE.Cobrowse && GLANCE.Cobrowse.Visitor")
            page.evaluate("(key) => GLANCE.Cobrowse.Visitor.startSession(key)", key)
            wait(page, "() => GLANCE.Cobrowse.Visitor.inSession()")
            agent = Agent(server, cookie, key)
            deadline = time.monotonic() + 30
            while agent.snapshots == 0 and time.monotonic() < deadline:
                time.sleep(0.05)
            if agent.snapshots == 0:
                raise SystemExit("the agent got no snapshot from the recorded page")
        page.wait_for_timeout(1000)  # let loading and the first snapshot's work finish
        cdp = context.new_cdp_session(page)
        cdp.send("Performance.enable", {"timeDomain": "threadTicks"})  # CPU time: robust to a busy machine
        before = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
        frames0, bytes0 = (agent.frames, agent.bytes) if agent else (0, 0)
        if args.profile:
            cdp.send("Profiler.enable")
            cdp.send("Profiler.setSamplingInterval", {"interval": 250})
            cdp.send("Profiler.start")
        t0 = page.evaluate(
            "([n, ms]) => { window.benchLongTasks = []; window.benchStart(n, ms); return performance.now(); }",
            [args.cells, args.tick_ms],
        )
        start, pressure0 = time.perf_counter(), cpu_pressure_us()
        time.sleep(args.seconds)
        result = page.evaluate(
            "() => { window.benchStop(); return [performance.now(), window.benchChanges]; }"
        )
        wall = time.perf_counter() - start
        pressure = (cpu_pressure_us() - pressure0) / 1e6 / wall
        after = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
        if args.profile:
            profile = cdp.send("Profiler.stop")["profile"]
            title = f"### CPU profile of one run, {kind if recorded else 'without the script'}"
            # A build of its own is mapped through its own source map (next to it, as visitor.js.map).
            cpu_profile.STATIC = build.parent if build else ROOT / "src/cobrowse/static"
            print(f"{title}\n\n{summarize(profile, wall)}\n", flush=True)
        t1, changes = result
        longtasks = page.evaluate("(t0) => window.benchLongTasks.filter(([s]) => s >= t0)", t0)
        seconds = (t1 - t0) / 1000
        row = {f"{name}_ms_per_s": 1000 * (after[name] - before[name]) / seconds for name in METRICS}
        row["tbt_ms_per_s"] = sum(max(0.0, d - 50) for _, d in longtasks) / seconds
        row["longtask_ms_per_s"] = sum(d for _, d in longtasks) / seconds
        row["changes_per_s"] = changes / seconds
        row["wall_s"] = wall
        row["pressure_pct"] = 100 * pressure
        if agent:
            time.sleep(0.3)  # the last batch
            row["frames_per_s"] = (agent.frames - frames0) / seconds
            row["kb_per_s"] = (agent.bytes - bytes0) / seconds / 1000
        return row
    finally:
        if agent:
            agent.close()
        context.close()


def measure(args: argparse.Namespace) -> dict[str, list[dict[str, float]]]:
    tmp = Path(tempfile.mkdtemp(prefix="cobrowse-bench-cost-"))
    pages = tmp / "pages"
    pages.mkdir()
    (pages / "cost-plain.html").write_text(page_html(False), encoding="utf-8")
    (pages / "cost-recorded.html").write_text(page_html(True), encoding="utf-8")
    try:
        demo = start_demo(tmp / "data", pages, tmp / "demo.log")
    except RuntimeError as exc:
        raise SystemExit(str(exc)) from None
    site = f"http://a.localhost:{demo.site_port}"
    results: dict[str, list[dict[str, float]]] = {"plain": [], **{kind: [] for kind in variants(args)}}
    try:
        login = httpx.post(
            demo.server + "/agent/login", data={"username": "demo", "password": "demo-password"}
        )
        cookie = "; ".join(f"{k}={v}" for k, v in login.cookies.items())
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            for run in range(args.runs):  # interleaved: drift in the machine's load hits both alike
                for kind in results:
                    row = one_run(browser, site, demo.server, cookie, kind, run, args)
                    results[kind].append(row)
                    print(kind, {k: round(v, 1) for k, v in row.items()}, flush=True)
            browser.close()
    finally:
        stop_demo(demo.process)
        shutil.rmtree(tmp, ignore_errors=True)
    return results


def report(args: argparse.Namespace, results: dict[str, list[dict[str, float]]]) -> str:
    def med(kind: str, key: str) -> float:
        return statistics.median(r[key] for r in results[kind])

    def per_change(kind: str, key: str) -> float:
        """ms per cell change: robust to a page that fell behind its rate on a busy machine."""
        return statistics.median(r[key] / r["changes_per_s"] for r in results[kind])

    rate: float = 1000 / args.tick_ms * args.cells  # the page's intended cell changes per second

    def added(kind: str, key: str) -> float:
        return rate * (per_change(kind, key) - per_change("plain", key))

    added_script = added("recorded", "ScriptDuration_ms_per_s")
    added_task = added("recorded", "TaskDuration_ms_per_s")
    added_tbt = med("recorded", "tbt_ms_per_s") - med("plain", "tbt_ms_per_s")
    behind = min(med(kind, "changes_per_s") for kind in results) < 0.95 * rate
    when = datetime.now().strftime("%Y-%m-%d %H:%M")
    lines = [
        f"## The visitor's page: main-thread time added by recording, a {ROWS * COLS:,}-cell table updating",
        "",
        f"Command: `{args.command}` ({when}, {os.cpu_count()} cores, loopback, headless Chromium; {args.runs} runs "
        f"of each, interleaved, {args.seconds:g} s of activity each; the page changes {args.cells} random cells "
        f"(text and class) every {args.tick_ms} ms; medians; main-thread CPU time from CDP "
        "Performance.getMetrics (threadTicks), long tasks from PerformanceObserver('longtask'); the machine's CPU "
        f"pressure during the runs {statistics.median(r['pressure_pct'] for rs in results.values() for r in rs):.0f}%"
        " (Linux PSI: the share of time some task waited for a CPU))",
        "",
        "| page | main thread ms/s | script ms/s | layout ms/s | style ms/s | long tasks ms/s | blocking (TBT) "
        "ms/s | cell changes/s | sent to the agent |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    labels = {"plain": "without the script (baseline)", "recorded": "recorded, in session"}
    for kind in results:
        label = labels.get(kind, f"{kind} (another build), in session")
        sent = (
            f"{med(kind, 'frames_per_s'):.1f} frames/s, {med(kind, 'kb_per_s'):.1f} kB/s"
            if kind != "plain"
            else ""
        )
        lines.append(
            f"| {label} | {med(kind, 'TaskDuration_ms_per_s'):.1f} | {med(kind, 'ScriptDuration_ms_per_s'):.1f} "
            f"| {med(kind, 'LayoutDuration_ms_per_s'):.1f} | {med(kind, 'RecalcStyleDuration_ms_per_s'):.1f} "
            f"| {med(kind, 'longtask_ms_per_s'):.1f} | {med(kind, 'tbt_ms_per_s'):.1f} "
            f"| {med(kind, 'changes_per_s'):,.0f} | {sent} |"
        )
    met = added_script <= TARGET_MS_PER_S
    lines += [
        "",
        f"Recording adds {added_script:.1f} ms of script per second of activity at the page's {rate:,.0f} cell "
        f"changes per second ({added_script / rate * 1000:.1f} ms per 1,000 changes; each run's time divided by "
        "the changes it managed, recorded minus plain): the recording's own work, the figure judged (target at "
        f"most {TARGET_MS_PER_S:.0f} ms: {'met' if met else 'not met'}). All main-thread time: {added_task:+.1f} "
        "ms/s (less than the script added: a busier page renders fewer frames). Blocking time (long tasks "
        f"beyond 50 ms): {added_tbt:+.1f} ms/s."
        + (
            " The pages fell behind their rate (a busy machine): the blocking time is not comparable."
            if behind
            else ""
        ),
        "",
    ]
    for kind in results:
        if kind not in labels:
            lines += [
                f"{kind}: adds {added(kind, 'ScriptDuration_ms_per_s'):.1f} ms of script per second "
                f"(all main-thread time {added(kind, 'TaskDuration_ms_per_s'):+.1f} ms/s).",
                "",
            ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=10.0, help="seconds of activity per run")
    parser.add_argument("--cells", type=int, default=250, help="cells changed per tick")
    parser.add_argument("--tick-ms", type=int, default=50)
    parser.add_argument("--quick", action="store_true", help="2 runs of each, 4 s each")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="print a CPU profile of each run (self time by source function)",
    )
    parser.add_argument(
        "--visitor-js",
        type=Path,
        action="append",
        help="also measure this build of visitor.js (A/B against the server's, in the same run; repeatable)",
    )
    parser.add_argument(
        "--no-write", action="store_true", help="print only; do not append to bench/RESULTS.md"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.runs, args.seconds = 2, 4.0
    args.command = ".venv/bin/python bench/visitor_cost.py" + "".join(
        f" {a}" for a in (sys.argv[1:] if argv is None else argv)
    )
    text = report(args, measure(args))
    print(text)
    if not args.no_write:
        append_results(ROOT / "bench" / "RESULTS.md", text)


if __name__ == "__main__":
    main()
