"""Masking rule change to the agent's full update, on a page of 5,000 elements (issue 3's benchmark).

A real `cobrowse demo` and real headless Chromium: a visitor page of 5,000 elements whose masking hook returns
the selector the benchmark chooses, and an agent console watching it. One run of the measured case:

1. the benchmark picks a new selector (one row of the page) and makes a second agent join or leave, so the
   agents change and the visitor script asks the hook again;
2. t0: the hook answers with the new rules (a timestamp taken in the visitor's page as it answers);
3. t1: the first agent's console has applied a snapshot frame in which that row is a masked box (timestamp
   taken in the console's `events` listener; one machine, so one clock: `performance.timeOrigin + now()`).

The baseline, measured in the same run on the same page, is a full update without any rule change: the visitor
pauses and resumes the session (`pauseSession`), which restarts the recording the same way (new epoch, full
snapshot); t0 is just before `pauseSession({pause: false})`, t1 the console's next snapshot frame applied.
Both go through the same masked recording (the sanitizer and the guard work in both); the difference is what a
rule change adds: the hook's answer checked, the new rules compiled, the page scanned for masked elements, what
was pending dropped, and the agents change itself happening on the server at the same time.

    .venv/bin/python bench/masking_update.py               # 20 runs of each, appends to bench/RESULTS.md
    .venv/bin/python bench/masking_update.py --runs 40 --no-write
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the demo launcher shared with the browser tests
from browser import CHROMIUM, CHROMIUM_ARGS, append_results, login, percentile, wait  # noqa: E402

from support.demo_process import CLI, start_demo, stop_demo  # noqa: E402

ROWS = 500  # 500 rows x (1 div + 9 spans) = 5,000 elements

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Masking benchmark</title>
<style>.row {{ display: flex; gap: 4px; font: 12px sans-serif; }} .row span {{ padding: 1px 3px; }}</style>
<script>
  window.benchSelector = null;
  window.benchHookAt = 0;
  window.GLANCE_COBROWSE = {{
    getMaskingDescriptor: function () {{
      var selectors = window.benchSelector ? [window.benchSelector] : [];
      window.benchHookAt = performance.timeOrigin + performance.now();
      return Promise.resolve({{ maskpage: false, maskedelements: selectors }});
    }}
  }};
</script>
{{{{COBROWSE_SCRIPT}}}}
</head><body>
<h1>Masking benchmark: {elements} elements</h1>
{rows}
</body></html>
"""

AGENT_HELPERS = """() => {
  window.benchNow = () => performance.timeOrigin + performance.now();
  // Resolves with the time the console applied a snapshot frame for which check() holds.
  window.benchNextSnapshot = (cls, afterEpoch) => new Promise((resolve) => {
    const fn = (info) => {
      if (!info.snapshot || info.epoch <= afterEpoch) return;
      const doc = window.CobrowseAgent.replayFrame() && window.CobrowseAgent.replayFrame().contentDocument;
      if (cls !== null) {
        const el = doc && doc.querySelector('.' + cls);
        if (!el || !el.classList.contains('rr-block')) return;
      }
      window.CobrowseAgent.off('events', fn);
      resolve(window.benchNow());
    };
    window.CobrowseAgent.on('events', fn);
  });
}"""


def page_html() -> str:
    rows = "\n".join(
        f'<div class="row row-{i}">'
        + "".join(f"<span>r{i}c{j} text {i * 9 + j}</span>" for j in range(9))
        + "</div>"
        for i in range(ROWS)
    )
    return PAGE.format(elements=ROWS * 10, rows=rows)


def measure(runs: int) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="cobrowse-bench-masking-"))
    pages = tmp / "pages"
    pages.mkdir()
    (pages / "masking-bench.html").write_text(page_html(), encoding="utf-8")
    try:
        demo = start_demo(tmp / "data", pages, tmp / "demo.log")
    except RuntimeError as exc:
        raise SystemExit(str(exc)) from None
    process, server, site = demo.process, demo.server, f"http://a.localhost:{demo.site_port}"
    key = "bench-masking"
    rule: list[float] = []
    plain: list[float] = []
    try:
        subprocess.run(
            [
                str(CLI),
                "--data-dir",
                str(tmp / "data"),
                "agent",
                "create",
                "--username",
                "bench-b",
                "--group",
                "1",
                "--password",
                "bench-b-password",
            ],
            check=True,
            capture_output=True,
        )
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            visitor = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
            agent_a = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
            agent_b = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
            for page in (visitor, agent_a, agent_b):
                page.set_default_timeout(30_000)
            visitor.goto(f"{site}/masking-bench.html")
            wait(visitor, "() => window.GLANCE && GLANCE.Cobrowse && GLANCE.Cobrowse.Visitor")
            assert visitor.evaluate("document.getElementsByTagName('*').length") >= ROWS * 10
            visitor.evaluate("(key) => GLANCE.Cobrowse.Visitor.startSession(key)", key)
            wait(visitor, "() => GLANCE.Cobrowse.Visitor.inSession()")
            login(agent_a, server, "demo", "demo-password")
            login(agent_b, server, "bench-b", "bench-b-password")
            agent_a.evaluate(AGENT_HELPERS)
            agent_a.evaluate("(key) => window.CobrowseAgent.join(key)", key)
            wait(agent_a, "() => window.CobrowseAgent.replayFrame() && window.CobrowseAgent.epoch > 0")
            b_joined = False
            for run in range(runs):
                # the measured case: new rules from the hook, on an agents change
                cls = f"row-{(run * 37) % ROWS}"
                epoch = agent_a.evaluate("window.CobrowseAgent.epoch")
                agent_a.evaluate(
                    "([cls, e]) => { window.benchDone = window.benchNextSnapshot(cls, e); }", [cls, epoch]
                )
                visitor.evaluate("(cls) => { window.benchSelector = '.' + cls; }", cls)
                if b_joined:
                    agent_b.evaluate("window.CobrowseAgent.leave()")
                else:
                    agent_b.evaluate("(key) => window.CobrowseAgent.join(key)", key)
                b_joined = not b_joined
                t1 = agent_a.evaluate("window.benchDone")
                t0 = visitor.evaluate("window.benchHookAt")
                rule.append(t1 - t0)

                # the baseline: a full update without a rule change (pause, then resume)
                visitor.evaluate("GLANCE.Cobrowse.Visitor.pauseSession({ pause: true })")
                wait(
                    agent_a, "() => window.CobrowseAgent.session && window.CobrowseAgent.session.pause.pause"
                )
                epoch = agent_a.evaluate("window.CobrowseAgent.epoch")
                agent_a.evaluate("(e) => { window.benchDone = window.benchNextSnapshot(null, e); }", epoch)
                t0 = visitor.evaluate(
                    "() => { const t = performance.timeOrigin + performance.now();"
                    " GLANCE.Cobrowse.Visitor.pauseSession({ pause: false }); return t; }"
                )
                t1 = agent_a.evaluate("window.benchDone")
                plain.append(t1 - t0)
                wait(agent_a, "() => !window.CobrowseAgent.session.pause.pause")
            snapshot_bytes = visitor.evaluate("document.documentElement.outerHTML.length")
            browser.close()
    finally:
        stop_demo(process)
        shutil.rmtree(tmp, ignore_errors=True)
    return {"rule": rule, "plain": plain, "html": snapshot_bytes}


def report(result: dict[str, Any], runs: int, command: str) -> str:
    rule, plain = result["rule"], result["plain"]
    med_rule, med_plain = statistics.median(rule), statistics.median(plain)
    when = datetime.now().strftime("%Y-%m-%d %H:%M")
    lines = [
        f"## Masking: rule change to the agent's full update, {ROWS * 10:,} elements",
        "",
        f"Command: `{command}` ({when}, {os.cpu_count()} cores, loopback, headless Chromium; {runs} runs of each, "
        f"interleaved; page HTML {result['html'] / 1024:.0f} KB)",
        "",
        "| full update | median ms | p95 ms | min ms | max ms |",
        "|---|---|---|---|---|",
        f"| without a rule change: pause and resume (baseline) | {med_plain:.1f} | {percentile(plain, 0.95):.1f} "
        f"| {min(plain):.1f} | {max(plain):.1f} |",
        f"| rule change: hook answers a new selector on an agents change | {med_rule:.1f} | "
        f"{percentile(rule, 0.95):.1f} | {min(rule):.1f} | {max(rule):.1f} |",
        "",
        f"A rule change takes {med_rule / med_plain:.2f}x the baseline's median time (from the hook's answer to the "
        "agent's view showing the newly masked row as a box).",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument(
        "--no-write", action="store_true", help="print only; do not append to bench/RESULTS.md"
    )
    args = parser.parse_args()
    command = ".venv/bin/python bench/masking_update.py" + (f" --runs {args.runs}" if args.runs != 20 else "")
    result = measure(args.runs)
    text = report(result, args.runs, command)
    print(text)
    if not args.no_write:
        append_results(ROOT / "bench" / "RESULTS.md", text)


if __name__ == "__main__":
    main()
