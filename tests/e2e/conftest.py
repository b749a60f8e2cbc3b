"""Fixtures for the browser tests: a real demo stack in a subprocess and real headless Chromium.

- ``stack`` (one per test module): ``cobrowse demo`` on free ports with its own data directory, serving the
  test pages of ``tests/e2e/pages`` on the demo website next to the built-in ones. The website is reached as
  ``http://a.localhost:PORT`` (``stack.site``) and ``http://b.localhost:PORT`` (``stack.site_b``): two sites
  that Chromium keeps apart, both another origin than the server (``http://127.0.0.1:PORT``).
- ``browser`` (one per test module): Chromium through the sync Playwright API.
- ``visitor`` (per test): a page in a fresh browser context, for the visitor's side.
- ``agent`` (per test): a factory, ``agent(username="demo", password="demo-password")``, that returns a page
  logged in to the agent console (through the login form), each in its own context.
- ``screen`` (per test): reads and clicks what a page shows through the accessibility tree, so tests can use
  the visitor's default UI (a closed shadow root): ``screen.click(visitor, "Share my screen")``.

When a test fails, a screenshot of every page these fixtures opened goes to ``test-results/``. Waiting is done
with the ``wait_for`` / ``wait_until_equal`` fixtures (functions that poll a JavaScript expression in a page),
never with sleeps: ``def test_x(visitor, wait_for): ... wait_for(visitor, "window.done === true")``.
"""

from __future__ import annotations

import dataclasses
import re
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright
from playwright.sync_api import Error as PlaywrightError

from support.demo_process import CLI, clean_env, log_tail, start_demo, stop_demo
from support.test_database import env_for

REPO_ROOT = Path(__file__).resolve().parents[2]
TEST_PAGES = Path(__file__).resolve().parent / "pages"
RESULTS_DIR = REPO_ROOT / "test-results"

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DEMO_USERNAME = "demo"
DEMO_PASSWORD = "demo-password"
READY_TIMEOUT_S = 30.0


# --- the demo stack --------------------------------------------------------------------------------


@dataclasses.dataclass
class Stack:
    """A running ``cobrowse demo``: URLs, its data directory, its log, and the CLI on the same data."""

    server: str  # http://127.0.0.1:P
    site: str  # http://a.localhost:Q
    site_b: str  # http://b.localhost:Q (another site, same pages)
    data_dir: Path
    log_path: Path
    process: subprocess.Popen[bytes]
    #: How many times the server process was started (``start`` after ``stop`` counts one more).
    runs: int = 1

    def cli(self, *args: str, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """Run ``cobrowse --data-dir <the stack's> ARGS`` (e.g. ``"agent", "create", ...``) and return it.

        With ``check`` (the default) a non-zero exit fails the test with the command's output.
        """
        cmd = [str(CLI), "--data-dir", str(self.data_dir), *args]
        env = {**clean_env(), **env_for(self.data_dir)}
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
        if check and done.returncode != 0:
            raise AssertionError(
                f"{' '.join(cmd)} exited with {done.returncode}\n"
                f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}"
            )
        return done

    def log_tail(self, lines: int = 60) -> str:
        """The last lines the demo process printed (stdout and stderr), for error messages."""
        return log_tail(self.log_path, lines)

    def stop(self, kill: bool = False) -> None:
        """Take the server down: SIGKILL (``kill``: nothing is saved, sockets just drop) or SIGTERM (a graceful
        shutdown: clients are told to reconnect, close 1012). ``start`` brings it back."""
        if kill:
            self.process.kill()
            self.process.wait()
        else:
            stop_demo(self.process)

    def start(self) -> None:
        """Start the server again on the same data directory and the same ports (after ``stop``); each run
        logs to its own file (``log_path`` is the current one)."""
        self.runs += 1
        port = urlsplit(self.server).port
        site_port = urlsplit(self.site).port
        assert port is not None and site_port is not None
        self.log_path = self.log_path.with_name(f"demo-run{self.runs}.log")
        demo = start_demo(
            self.data_dir, TEST_PAGES, self.log_path, READY_TIMEOUT_S, port=port, site_port=site_port
        )
        self.process = demo.process


def _start_stack(data_dir: Path, log_path: Path) -> Stack:
    demo = start_demo(data_dir, TEST_PAGES, log_path, READY_TIMEOUT_S)
    return Stack(
        server=demo.server,
        site=f"http://a.localhost:{demo.site_port}",
        site_b=f"http://b.localhost:{demo.site_port}",
        data_dir=data_dir,
        log_path=log_path,
        process=demo.process,
    )


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """``cobrowse demo`` with a fresh data directory (seeded demo agent), for this test module."""
    root = tmp_path_factory.mktemp("stack")
    running = _start_stack(root / "data", root / "demo.log")
    try:
        yield running
    finally:
        stop_demo(running.process)


# --- the browser -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Headless Chromium (the system's; browsers are never downloaded), one per test module."""
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


class _Pages:
    """The contexts and pages a test opened: closed at teardown, photographed first if the test failed."""

    def __init__(self, browser: Browser, request: pytest.FixtureRequest) -> None:
        self.browser = browser
        self.request = request
        self.contexts: list[tuple[str, BrowserContext]] = []

    def new_page(self, label: str) -> Page:
        context = self.browser.new_context(viewport={"width": 1280, "height": 800})
        context.set_default_timeout(15_000)
        self.contexts.append((label, context))
        return context.new_page()

    def close(self) -> None:
        failed = any(
            getattr(getattr(self.request.node, f"rep_{when}", None), "failed", False)
            for when in ("setup", "call")
        )
        for label, context in self.contexts:
            if failed:
                self._screenshots(label, context)
            try:
                context.close()
            except PlaywrightError:
                pass

    def _screenshots(self, label: str, context: BrowserContext) -> None:
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", self.request.node.nodeid)[-150:]
        RESULTS_DIR.mkdir(exist_ok=True)
        for n, page in enumerate(context.pages):
            path = RESULTS_DIR / f"{name}-{label}{'-' + str(n) if n else ''}.png"
            try:
                page.screenshot(path=str(path), full_page=False, timeout=5_000)
            except PlaywrightError:
                pass


@pytest.fixture
def _pages(browser: Browser, request: pytest.FixtureRequest) -> Iterator[_Pages]:
    pages = _Pages(browser, request)
    try:
        yield pages
    finally:
        pages.close()


@pytest.fixture
def visitor(_pages: _Pages) -> Page:
    """A blank page in a context of its own, for the visitor: ``visitor.goto(stack.site + "/basic.html")``"""
    return _pages.new_page("visitor")


AgentFactory = Callable[..., Page]


@pytest.fixture
def agent(stack: Stack, _pages: _Pages) -> AgentFactory:
    """``agent(username="demo", password="demo-password")``: a console page logged in through the form.

    Each call opens its own browser context (its own cookies), so several agents can watch one session.
    """
    count = 0

    def login(username: str = DEMO_USERNAME, password: str = DEMO_PASSWORD) -> Page:
        nonlocal count
        count += 1
        page = _pages.new_page(f"agent{count}-{username}")
        page.goto(f"{stack.server}/agent/login")
        page.locator('input[name="username"]').fill(username)
        page.locator('input[name="password"]').fill(password)
        with page.expect_navigation():
            page.locator('input[name="password"]').press("Enter")
        if urlsplit(page.url).path != "/agent/":
            raise AssertionError(f"logging in as {username!r} did not reach /agent/ but {page.url}")
        return page

    return login


# --- what the visitor sees (closed shadow roots) ----------------------------------------------------------


class Screen:
    """Read and click what a page shows through Chromium's accessibility tree, closed shadow roots included.

    The visitor script's default UI lives in a closed shadow root, which Playwright's locators (and the page's
    own scripts) cannot enter; the accessibility tree is what the user (or a screen reader) gets, so tests use
    it to find the "Share my screen" button and the session key as the visitor sees them.
    """

    def nodes(self, page: Page) -> list[dict[str, Any]]:
        cdp = page.context.new_cdp_session(page)
        try:
            result: dict[str, Any] = cdp.send("Accessibility.getFullAXTree")
        finally:
            cdp.detach()
        return [n for n in result["nodes"] if not n.get("ignored")]

    def texts(self, page: Page) -> list[str]:
        """The text of every visible text node, in document order."""
        return [
            str(n["name"]["value"])
            for n in self.nodes(page)
            if n.get("role", {}).get("value") in ("StaticText", "text") and n.get("name", {}).get("value")
        ]

    def buttons(self, page: Page) -> list[str]:
        return [
            str(n.get("name", {}).get("value", ""))
            for n in self.nodes(page)
            if n.get("role", {}).get("value") == "button"
        ]

    def click(self, page: Page, name: str, role: str = "button") -> None:
        """Click the centre of the element with this accessible role and name (shadow roots included)."""
        matches = [
            n
            for n in self.nodes(page)
            if n.get("role", {}).get("value") == role and n.get("name", {}).get("value") == name
        ]
        if not matches:
            raise AssertionError(f"no {role} named {name!r} on {page.url}; buttons: {self.buttons(page)}")
        cdp = page.context.new_cdp_session(page)
        try:
            box = cdp.send("DOM.getBoxModel", {"backendNodeId": matches[0]["backendDOMNodeId"]})
        finally:
            cdp.detach()
        quad = box["model"]["border"]
        x = sum(quad[0::2]) / 4
        y = sum(quad[1::2]) / 4
        page.mouse.click(x, y)


@pytest.fixture
def screen() -> Screen:
    """``screen.click(page, "Share my screen")``, ``screen.texts(page)``: see ``Screen``."""
    return Screen()


# --- waiting ---------------------------------------------------------------------------------------


#: Polls ``check(arg)`` inside the page every 50 ms until it is truthy or ``timeout`` ms passed. It reaches the
#: page through ``page.evaluate`` (the DevTools protocol), not through ``eval``: Playwright's own
#: ``wait_for_function`` evaluates with ``eval``, which a Content-Security-Policy without 'unsafe-eval' (the
#: agent console's) refuses. Timers rather than animation frames: Chromium throttles the latter in hidden pages.
_POLL = """([arg, timeout]) => new Promise((resolve) => {
  const check = %s;
  const start = Date.now();
  const tick = () => {
    let value;
    let error = null;
    try { value = check(arg); } catch (e) { error = e; }
    if (value instanceof Node) value = true;
    if (!error && value) resolve({ ok: true, value });
    else if (Date.now() - start >= timeout) resolve({ ok: false, value: error ? "threw: " + error : value });
    else setTimeout(tick, 50);
  };
  tick();
})"""

#: Playwright's words for "the document went away under the evaluation" (the page navigated).
_NAVIGATED = ("Execution context was destroyed", "navigat")


def _poll(page: Page, function: str, arg: Any, timeout: float) -> tuple[bool, Any]:
    """Run ``_POLL``; a navigation of the page meanwhile restarts it on the new document (same deadline)."""
    deadline = time.monotonic() + timeout / 1000
    while True:
        remaining = max(0.0, (deadline - time.monotonic()) * 1000)
        try:
            result = page.evaluate(_POLL % function, [arg, remaining])
            return bool(result["ok"]), result.get("value")
        except PlaywrightError as exc:
            if not any(m in (exc.message or "") for m in _NAVIGATED) or time.monotonic() >= deadline:
                raise
            try:
                page.wait_for_load_state("domcontentloaded", timeout=max(remaining, 1))
            except PlaywrightError:
                pass


def _wait_for(page: Page, expression: str, timeout: float = 10_000, arg: Any = None) -> Any:
    """Wait until ``expression`` is truthy in ``page`` and return its value (JSON-decoded; DOM nodes: True).

    ``expression`` is a JavaScript expression (``"window.done === true"``) or a function (``"(id) =>
    document.getElementById(id)?.value"``, called with ``arg``). An expression that throws counts as false.
    It is polled every 50 ms, also on pages whose CSP forbids ``eval`` (the agent console), and across a
    navigation of the page. ``timeout`` is in milliseconds; on expiry an AssertionError names the expression
    and its last value.
    """
    ok, value = _poll(page, _as_function(expression), arg, timeout)
    if not ok:
        raise AssertionError(
            f"timed out after {timeout:.0f} ms waiting for {expression!r} in {page.url}; last value: {value!r}"
        )
    return value


def _wait_until_equal(
    page: Page, expression: str, expected: Any, timeout: float = 10_000, arg: Any = None
) -> None:
    """Wait until ``expression`` (as in ``wait_for``) evaluates to a value equal (as JSON) to ``expected``."""
    function = (
        "([arg, expected]) => { const value = " + _as_function(expression) + "(arg);"
        " return JSON.stringify(value) === JSON.stringify(expected) ? { value } : false; }"
    )
    ok, _ = _poll(page, function, [arg, expected], timeout)
    if not ok:
        try:
            last = page.evaluate(f"(arg) => {_as_function(expression)}(arg)", arg)
        except PlaywrightError as exc:
            last = f"(could not evaluate: {(exc.message or str(exc)).splitlines()[0]})"
        raise AssertionError(
            f"timed out after {timeout:.0f} ms waiting for {expression!r} == {expected!r} in {page.url}; "
            f"last value: {last!r}"
        )


def _as_function(expression: str) -> str:
    stripped = expression.strip()
    if stripped.startswith(("function", "async ")) or re.match(
        r"^(\([^)]*\)|[A-Za-z_$][\w$]*)\s*=>", stripped
    ):
        return f"({stripped})"
    return f"(() => ({stripped}))"


@pytest.fixture
def wait_for() -> Callable[..., Any]:
    """``wait_for(page, expression, timeout=10_000, arg=None)``: see ``_wait_for``.

    A fixture rather than an import: two folders' ``conftest.py`` cannot both be imported as ``conftest``.
    """
    return _wait_for


@pytest.fixture
def wait_until_equal() -> Callable[..., None]:
    """``wait_until_equal(page, expression, expected, timeout=10_000, arg=None)``: ``_wait_until_equal``"""
    return _wait_until_equal
