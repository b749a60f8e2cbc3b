"""Remote control: time from the agent's click in the console to the visitor's page reacting (issue 6).

A real `cobrowse demo` and real headless Chromium: a visitor page with a button and an agent console in control
of it. One run of the measured case:

1. t0: the agent clicks the button in the console's view (a real mouse click through Playwright; t0 is the
   console's own timestamp of that click, taken by a capturing listener before the console handles it);
2. the console maps the point to the replay's node and sends a `control` command; the server checks it and
   forwards it; the visitor's script checks it again and dispatches the click;
3. t1: the button's own click listener in the visitor's page runs (one machine, one clock:
   `performance.timeOrigin + now()` in both pages).

The baseline, measured in the same run and interleaved: the same trip for a plain session message
(`CobrowseAgent.sendSessionMessage` to a visitor listener): the same sockets and server, without the console's
addressing, the server's permission check and the visitor's checks and event dispatch.

    .venv/bin/python bench/remote_control.py               # 200 clicks and 200 messages, appends to RESULTS.md
    .venv/bin/python bench/remote_control.py --runs 50 --no-write
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the demo launcher shared with the browser tests
from browser import CHROMIUM, CHROMIUM_ARGS, append_results, login, percentile, wait  # noqa: E402

from support.demo_process import start_demo, stop_demo  # noqa: E402

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Remote control benchmark</title>
{{COBROWSE_SCRIPT}}
</head><body style="font: 16px sans-serif; margin: 40px">
<h1>Remote control benchmark</h1>
<button id="target" style="width: 240px; height: 80px">Click me</button>
<p id="count">0</p>
<script>
  window.benchClicks = [];
  document.getElementById("target").addEventListener("click", function () {
    window.benchClicks.push(performance.timeOrigin + performance.now());
    document.getElementById("count").textContent = String(window.benchClicks.length);
  });
  window.benchMessages = [];
</script>
</body></html>
"""

AGENT_HELPERS = """() => {
  window.benchClickAt = [];
  window.addEventListener('click', (e) => {
    window.benchClickAt.push(performance.timeOrigin + e.timeStamp);
  }, true);
}"""

#: Where the button is on the agent's screen: the replay iframe is scaled (CSS transform) inside the stage.
TARGET_POINT = """() => {
  const frame = window.CobrowseAgent.replayFrame();
  const box = frame.getBoundingClientRect();
  const scale = box.width / frame.offsetWidth;
  const el = frame.contentDocument.getElementById('target').getBoundingClientRect();
  return [box.left + (el.left + el.width / 2) * scale, box.top + (el.top + el.height / 2) * scale];
}"""


def measure(runs: int) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="cobrowse-bench-rc-"))
    pages = tmp / "pages"
    pages.mkdir()
    (pages / "rc-bench.html").write_text(PAGE, encoding="utf-8")
    try:
        demo = start_demo(tmp / "data", pages, tmp / "demo.log")
    except RuntimeError as exc:
        raise SystemExit(str(exc)) from None
    site, key = f"http://a.localhost:{demo.site_port}", "bench-rc"
    clicks: list[float] = []
    messages: list[float] = []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            visitor: Page = browser.new_context(viewport={"width": 1000, "height": 700}).new_page()
            agent: Page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
            visitor.goto(f"{site}/rc-bench.html")
            wait(visitor, "() => window.GLANCE && GLANCE.Cobrowse && GLANCE.Cobrowse.Visitor")
            visitor.evaluate("(key) => GLANCE.Cobrowse.Visitor.startSession(key)", key)
            wait(visitor, "() => GLANCE.Cobrowse.Visitor.inSession()")
            visitor.evaluate(
                "() => GLANCE.Cobrowse.Visitor.addSessionMessageListener('bench', () => "
                "window.benchMessages.push(performance.timeOrigin + performance.now()))"
            )
            login(agent, demo.server, "demo", "demo-password")
            agent.evaluate(AGENT_HELPERS)
            agent.evaluate("(key) => window.CobrowseAgent.join(key)", key)
            wait(agent, "() => window.CobrowseAgent.replayFrame() && window.CobrowseAgent.epoch > 0")
            wait(agent, "() => window.CobrowseAgent.replayFrame().contentDocument.getElementById('target')")
            visitor.evaluate("GLANCE.Cobrowse.Visitor.enableRC(true)")
            wait(agent, "() => window.CobrowseAgent.rc.enabled")
            x, y = agent.evaluate(TARGET_POINT)
            for run in range(runs):
                agent.mouse.click(x, y)
                wait(visitor, f"() => window.benchClicks.length > {run}")
                t0 = agent.evaluate(f"window.benchClickAt[{run}]")
                t1 = visitor.evaluate(f"window.benchClicks[{run}]")
                clicks.append(t1 - t0)

                t0 = agent.evaluate(
                    "() => { const t = performance.timeOrigin + performance.now();"
                    " window.CobrowseAgent.sendSessionMessage('bench', {n: 1}); return t; }"
                )
                wait(visitor, f"() => window.benchMessages.length > {run}")
                messages.append(visitor.evaluate(f"window.benchMessages[{run}]") - t0)
            browser.close()
    finally:
        stop_demo(demo.process)
        shutil.rmtree(tmp, ignore_errors=True)
    return {"clicks": clicks, "messages": messages}


def report(result: dict[str, Any], runs: int, command: str) -> str:
    clicks, messages = result["clicks"], result["messages"]
    when = datetime.now().strftime("%Y-%m-%d %H:%M")

    def row(name: str, values: list[float]) -> str:
        return (
            f"| {name} | {statistics.median(values):.1f} | {percentile(values, 0.99):.1f} | "
            f"{min(values):.1f} | {max(values):.1f} |"
        )

    lines = [
        "## Remote control: the agent's click to the visitor's page reacting",
        "",
        f"Command: `{command}` ({when}, {os.cpu_count()} cores, loopback, headless Chromium; {runs} of each, "
        "interleaved)",
        "",
        "| agent -> visitor | p50 ms | p99 ms | min ms | max ms |",
        "|---|---|---|---|---|",
        row("session message (baseline)", messages),
        row("click through the console (remote control)", clicks),
        "",
        f"A remote-control click takes {statistics.median(clicks) / statistics.median(messages):.2f}x the "
        "baseline's median time (from the console's click event to the visitor's click listener).",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument(
        "--no-write", action="store_true", help="print only; do not append to bench/RESULTS.md"
    )
    args = parser.parse_args()
    command = ".venv/bin/python bench/remote_control.py" + (
        f" --runs {args.runs}" if args.runs != 200 else ""
    )
    text = report(measure(args.runs), args.runs, command)
    print(text)
    if not args.no_write:
        append_results(ROOT / "bench" / "RESULTS.md", text)


if __name__ == "__main__":
    main()
