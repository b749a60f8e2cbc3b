"""Bytes on the wire per minute of a scripted reference session, against its raw rrweb JSON (issue 8, figure 4).

A real `cobrowse demo`, real headless Chromium as the visitor (and an agent console watching), and between them
and the server a counting TCP proxy run by this script: the visitor's page is told to open its socket through it
(`data-ws`), and the console is loaded through it, so every byte of both sockets is counted as TCP payload,
i.e. after permessage-deflate, with WebSocket framing and the HTTP upgrade. The proxy also reads the server's
upgrade response: the `Sec-WebSocket-Extensions` it shows is what Chromium and the server agreed on.

The reference session (scripted, the same every run): the visitor starts a session on a form page, types into
a text field and a text area (about 6 keys a second), adds an item to a growing list every few seconds, scrolls
with the wheel and moves the pointer across the page; halfway through it follows a link to a second page (one
navigation: a new full snapshot) and goes on there.

Measured in the same run, from the same frames:

- raw (the baseline): the JSON of the rrweb events of every `events` frame the visitor sent (`data`), as
  Chromium reports the frames before compression (Playwright's `framesent`);
- the visitor's messages before compression (all of them: envelope, `page`, session messages...);
- the visitor's socket on the wire (what the proxy counted from the visitor to the server);
- a cross-check: the same messages deflated here (raw deflate, 12-bit window, context takeover, one sync flush
  per message), which is what the wire should carry besides framing;
- the server to the agent's console on the wire (the same events, deflated by the server).

    .venv/bin/python bench/wire_bytes.py                  # a 60 s session, appends to RESULTS.md
    .venv/bin/python bench/wire_bytes.py --seconds 20 --no-write
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
import tempfile
import threading
import time
import zlib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, WebSocket, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the demo launcher shared with the browser tests
from browser import CHROMIUM, CHROMIUM_ARGS, append_results, login, wait  # noqa: E402
from e2e_latency import serve_visitor_js  # noqa: E402

from support.demo_process import start_demo, stop_demo  # noqa: E402

TARGET_RATIO = 0.15
TARGET_KB_PER_MIN = 50.0

STYLE = """<style>
  body { font: 16px/1.4 sans-serif; margin: 24px; max-width: 900px; }
  input, textarea { font: inherit; width: 420px; }
  textarea { height: 80px; }
  li { padding: 4px 0; border-bottom: 1px solid #ddd; }
  .filler p { color: #444; }
</style>"""

FILLER = "".join(
    f"<p>Paragraph {i}: the quick brown fox jumps over the lazy dog while the account overview shows the "
    f"balance, the last transactions and the standing orders of this customer.</p>"
    for i in range(40)
)

FORM_PAGE = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Reference session: form</title>
{{{{COBROWSE_SCRIPT data-ws="__PROXY__"}}}}
{STYLE}
</head><body>
<h1>Open an account</h1>
<form onsubmit="return false">
  <p><label>Full name <input id="name" name="name" autocomplete="off"></label></p>
  <p><label>Message <textarea id="message" name="message"></textarea></label></p>
  <p><button type="button" id="add">Add a payee</button> <a id="next" href="/wire-next.html">Next page</a></p>
</form>
<ul id="list"></ul>
<div class="filler">{FILLER}</div>
<script>
  var count = 0;
  document.getElementById("add").addEventListener("click", function () {{
    count += 1;
    var li = document.createElement("li");
    li.textContent = "Payee " + count + ": IBAN DE89 3704 0044 0532 0130 " + (1000 + count) + ", added just now";
    document.getElementById("list").appendChild(li);
  }});
</script>
</body></html>
"""

NEXT_PAGE = FORM_PAGE.replace("Reference session: form", "Reference session: next page").replace(
    "Open an account", "Confirm the account"
)

#: What the visitor does, in order, again and again (name, argument); one navigation halfway through.
WORDS = [
    "Jane",
    "Doe",
    "lives",
    "at",
    "12",
    "High",
    "Street",
    "and",
    "would",
    "like",
    "a",
    "joint",
    "account",
]


@dataclass
class Connection:
    request: str = ""
    response: str = ""
    up: int = 0
    down: int = 0


@dataclass
class CountingProxy:
    """A TCP proxy on 127.0.0.1 that counts the bytes of each connection both ways and keeps the start of its
    request and response (the HTTP upgrade), run on an event loop of its own thread."""

    upstream_port: int = 0
    port: int = 0
    connections: list[Connection] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> None:
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()

        async def serve() -> None:
            self.server = await asyncio.start_server(self.handle, "127.0.0.1", 0)
            self.port = self.server.sockets[0].getsockname()[1]
            ready.set()
            async with self.server:
                await self.server.serve_forever()

        self.thread = threading.Thread(
            target=lambda: self.loop.run_until_complete(self._run(serve)), daemon=True
        )
        self.thread.start()
        ready.wait(10)

    async def _run(self, serve: Any) -> None:
        try:
            await serve()
        except asyncio.CancelledError:
            pass

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.server.close)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = Connection()
        with self.lock:
            self.connections.append(conn)
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        except OSError:
            writer.close()
            return

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter, upward: bool) -> None:
            try:
                while data := await src.read(65536):
                    with self.lock:
                        if upward:
                            conn.up += len(data)
                            if len(conn.request) < 2048:
                                conn.request += data[:2048].decode("latin-1")
                        else:
                            conn.down += len(data)
                            if len(conn.response) < 2048:
                                conn.response += data[:2048].decode("latin-1")
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                dst.close()

        await asyncio.gather(pipe(reader, up_writer, True), pipe(up_reader, writer, False))

    def sockets(self, path: str) -> list[Connection]:
        with self.lock:
            return [c for c in self.connections if c.request.startswith(f"GET {path}")]


def header(head: str, name: str) -> str:
    for line in head.split("\r\n\r\n", 1)[0].split("\r\n"):
        key, _, value = line.partition(":")
        if key.strip().lower() == name.lower():
            return value.strip()
    return ""


class SentFrames:
    """The visitor's messages as Chromium sent them, before compression (Playwright's `framesent`)."""

    def __init__(self) -> None:
        self.messages: list[bytes] = []
        self.raw_events = 0
        self.events_frames = 0

    def watch(self, ws: WebSocket) -> None:
        if "/ws/visitor" in ws.url:
            ws.on("framesent", self.sent)

    def sent(self, payload: str | bytes) -> None:
        data = payload.encode("utf-8") if isinstance(payload, str) else payload
        self.messages.append(data)
        try:
            message = json.loads(data)
        except ValueError:
            return
        if isinstance(message, dict) and message.get("t") == "events":
            self.events_frames += 1
            events = json.dumps(message.get("data"), ensure_ascii=False, separators=(",", ":"))
            self.raw_events += len(events.encode("utf-8"))

    def deflated(self) -> int:
        """The messages through one raw deflate stream (12-bit window, context takeover), a sync flush each."""
        stream = zlib.compressobj(level=zlib.Z_DEFAULT_COMPRESSION, method=zlib.DEFLATED, wbits=-12)
        return sum(len(stream.compress(m) + stream.flush(zlib.Z_SYNC_FLUSH)) - 4 for m in self.messages)


def act(visitor: Page, until: float, navigate_at: float) -> None:
    """The reference session's actions until ``until`` (monotonic seconds); one navigation at ``navigate_at``."""
    navigated = False
    step = 0
    while time.monotonic() < until:
        if not navigated and time.monotonic() >= navigate_at:
            with visitor.expect_navigation():
                visitor.click("#next")
            wait(visitor, "() => GLANCE.Cobrowse.Visitor.inSession()")
            navigated = True
        word = WORDS[step % len(WORDS)]
        field_id = "#name" if step % 13 < 6 else "#message"
        if step % 13 == 0:
            visitor.fill(field_id, "")
        visitor.click(field_id)
        visitor.keyboard.type(word + " ", delay=160)
        x, y = 80 + (step * 97) % 700, 120 + (step * 53) % 400
        visitor.mouse.move(x, y, steps=12)
        if step % 3 == 0:
            visitor.click("#add")
        if step % 2 == 0:
            visitor.mouse.wheel(0, 240 if (step // 8) % 2 == 0 else -240)
        step += 1


def measure(seconds: float, visitor_js: Path | None = None) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="cobrowse-bench-wire-"))
    pages = tmp / "pages"
    pages.mkdir()
    proxy = CountingProxy()
    proxy.start()
    (pages / "wire-form.html").write_text(FORM_PAGE.replace("__PROXY__", f"127.0.0.1:{proxy.port}"), "utf-8")
    (pages / "wire-next.html").write_text(NEXT_PAGE.replace("__PROXY__", f"127.0.0.1:{proxy.port}"), "utf-8")
    try:
        demo = start_demo(tmp / "data", pages, tmp / "demo.log")
    except RuntimeError as exc:
        proxy.stop()
        raise SystemExit(str(exc)) from None
    proxy.upstream_port = int(demo.server.rsplit(":", 1)[1])
    through_proxy = f"http://127.0.0.1:{proxy.port}"
    site, key = f"http://a.localhost:{demo.site_port}", "bench-wire"
    frames = SentFrames()
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            agent = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
            visitor = browser.new_context(viewport={"width": 1000, "height": 700}).new_page()
            visitor.on("websocket", frames.watch)
            serve_visitor_js(visitor, visitor_js)
            login(agent, through_proxy, "demo", "demo-password")
            visitor.goto(f"{site}/wire-form.html")
            wait(visitor, "() => window.GLANCE && GLANCE.Cobrowse && GLANCE.Cobrowse.Visitor")
            start = time.monotonic()
            visitor.evaluate("(key) => GLANCE.Cobrowse.Visitor.startSession(key)", key)
            wait(visitor, "() => GLANCE.Cobrowse.Visitor.inSession()")
            agent.evaluate("(key) => window.CobrowseAgent.join(key)", key)
            wait(agent, "() => window.CobrowseAgent.replayFrame() && window.CobrowseAgent.epoch > 0")
            act(visitor, start + seconds, start + seconds / 2)
            time.sleep(0.5)  # the last batch and the pointer's resting position go out
            elapsed = time.monotonic() - start
            visitor.evaluate("GLANCE.Cobrowse.Visitor.stopSession()")
            browser.close()
    finally:
        stop_demo(demo.process)
        proxy.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    visitor_sockets = proxy.sockets("/ws/visitor")
    agent_sockets = proxy.sockets("/ws/agent")
    return {
        "elapsed": elapsed,
        "raw": frames.raw_events,
        "frames": frames.events_frames,
        "messages": sum(len(m) for m in frames.messages),
        "offline": frames.deflated(),
        "wire": sum(c.up for c in visitor_sockets),
        "wire_down": sum(c.down for c in visitor_sockets),
        "agent_wire": sum(c.down for c in agent_sockets),
        "visitor_sockets": len(visitor_sockets),
        "extensions": sorted({header(c.response, "sec-websocket-extensions") for c in visitor_sockets}),
        "offered": sorted({header(c.request, "sec-websocket-extensions") for c in visitor_sockets}),
    }


def report(r: dict[str, Any], command: str) -> str:
    when = datetime.now().strftime("%Y-%m-%d %H:%M")
    per_min = 60.0 / r["elapsed"]
    raw = r["raw"]

    def row(name: str, value: int, target: str = "", verdict: str = "") -> str:
        return f"| {name} | {value * per_min / 1000:.1f} | {value / raw:.3f} | {target} | {verdict} |"

    wire_ok = r["wire"] / raw <= TARGET_RATIO and r["wire"] * per_min / 1000 < TARGET_KB_PER_MIN
    deflate = ", ".join(e or "(none)" for e in r["extensions"])
    lines = [
        "## Bytes on the wire: a scripted reference session against its raw rrweb JSON",
        "",
        f"Command: `{command}` ({when}, {os.cpu_count()} cores shared by the demo server, headless Chromium and "
        f"this driver with its counting proxy; loopback; a {r['elapsed']:.0f} s session: typing, a growing list, "
        f"scrolling, pointer moves, one navigation; {r['frames']} events frames on {r['visitor_sockets']} visitor "
        "sockets)",
        "",
        "| stream | kB per minute | of raw | target | |",
        "|---|---|---|---|---|",
        row("raw rrweb JSON of the events frames (baseline)", raw),
        row("visitor's messages before compression (envelopes and all)", r["messages"]),
        row(
            "visitor -> server on the wire (TCP payload)",
            r["wire"],
            "<= 0.15 of raw, < 50 kB/min",
            "met" if wire_ok else "**not met**",
        ),
        row("cross-check: the same messages deflated here (12-bit window, context takeover)", r["offline"]),
        row("server -> visitor on the wire", r["wire_down"]),
        row("server -> agent's console on the wire", r["agent_wire"]),
        "",
        f"Negotiated on the visitor's socket: `{deflate}` (Chromium offered `{', '.join(r['offered'])}`).",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the reference session")
    parser.add_argument("--visitor-js", type=Path, help="serve this build of visitor.js to the visitor (A/B)")
    parser.add_argument(
        "--no-write", action="store_true", help="print only; do not append to bench/RESULTS.md"
    )
    args = parser.parse_args(argv)
    command = ".venv/bin/python bench/wire_bytes.py" + (
        f" --seconds {args.seconds:g}" if args.seconds != 60 else ""
    )
    text = report(measure(args.seconds, args.visitor_js), command)
    print(text)
    if not args.no_write:
        append_results(ROOT / "bench" / "RESULTS.md", text)


if __name__ == "__main__":
    main()
