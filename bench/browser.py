"""What the browser benchmarks share: Chromium's launch settings, logging in to the console, polling a page.

Imported by bench/masking_update.py and bench/remote_control.py (run from the repository root).
"""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def login(page: Page, server: str, username: str, password: str) -> None:
    page.goto(f"{server}/agent/login")
    page.locator('input[name="username"]').fill(username)
    page.locator('input[name="password"]').fill(password)
    with page.expect_navigation():
        page.locator('input[name="password"]').press("Enter")


def wait(page: Page, predicate: str, timeout_ms: int = 30_000) -> None:
    """Polls ``predicate`` (a JavaScript function source) in the page; works under the console's CSP (no eval)."""
    ok = page.evaluate(
        "([timeout]) => new Promise((resolve) => { const check = " + predicate + "; const start = Date.now();"
        " const tick = () => { let v = false; try { v = check(); } catch (e) { v = false; }"
        " if (v) resolve(true); else if (Date.now() - start > timeout) resolve(false); else setTimeout(tick, 20); };"
        " tick(); })",
        [timeout_ms],
    )
    if not ok:
        raise SystemExit(f"timed out waiting for {predicate} in {page.url}")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def append_results(results: Path, text: str) -> None:
    """Append a section to ``results`` (bench/RESULTS.md), one blank line between sections."""
    before = results.read_text(encoding="utf-8") if results.exists() else ""
    with results.open("a", encoding="utf-8") as out:
        out.write(("" if before.endswith("\n\n") or not before else "\n") + text)
