"""``cobrowse demo``: the server and the demo website in one process, ready to try in a browser.

The demo website must be another origin than the server, as a customer's site is, or the visitor script
would be tried in a setting that never happens in production. The two listen on different ports, and the
printed URLs also use different host names (``localhost`` for the site, ``127.0.0.1`` for the server), so
their cookies are kept apart as well (cookies ignore ports).

Both uvicorn servers share one event loop; Ctrl-C (or SIGTERM) asks both to shut down gracefully, a second
Ctrl-C forces it. The line ``COBROWSE READY server=... site=...`` is printed once both listen: scripts and the
browser tests wait for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import signal
import socket
import sys
from collections.abc import Generator
from pathlib import Path
from urllib.parse import urlsplit

import uvicorn
import uvloop

from cobrowse.app import create_app
from cobrowse.config import Config, ConfigError, ensure_secret
from cobrowse.demo_site import create_site_app, script_tag
from cobrowse.ops.logs import configure_logging
from cobrowse.server import uvicorn_config
from cobrowse.store import Store

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "demo-password"
DEMO_GROUP_ID = 1

#: Hosts that mean "every interface": not an address a browser can open.
_WILDCARD_HOSTS = ("0.0.0.0", "::", "")


class _Server(uvicorn.Server):
    """A uvicorn server that leaves signals alone: ``run_demo`` handles them once for both servers."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


def _listen(host: str, port: int, what: str) -> socket.socket:
    """Bind the listening socket up front, so a busy port is a clear error and port 0 gets a real port."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        sock = socket.create_server((host, port), family=family, backlog=2048)
    except OSError as exc:
        reason = os.strerror(exc.errno) if exc.errno else str(exc)
        raise ConfigError(f"cannot listen for the {what} on {host}:{port}: {reason}") from exc
    sock.set_inheritable(True)
    return sock


def _site_host(server_url: str) -> str:
    """A host name for the demo website that differs from the server's, so the two never share cookies."""
    return "127.0.0.1" if urlsplit(server_url).hostname == "localhost" else "localhost"


def _site_config(app: object, config: Config, port: int) -> uvicorn.Config:
    # The website only serves pages: no WebSockets, no access log (the server's log is the interesting one).
    return uvicorn.Config(
        app,  # type: ignore[arg-type]
        host=config.host,
        port=port,
        loop="uvloop",
        http="httptools",
        ws="none",
        log_level=config.log_level,
        lifespan="on",
        access_log=False,
    )


def banner(server_url: str, site_url: str) -> str:
    """What the demo prints once it is up: where to go and how to log in."""
    return "\n".join(
        [
            "",
            "  cobrowse demo is running",
            "",
            f"  Demo website:   {site_url}/",
            '                  open it, click "Share my screen" and read the key to the agent',
            f"  Agent console:  {server_url}/agent/",
            f"  Log in as:      {DEMO_USERNAME} / {DEMO_PASSWORD}   (group id {DEMO_GROUP_ID})",
            "",
            "  Press Ctrl-C to stop.",
            "",
            f"COBROWSE READY server={server_url} site={site_url}",
        ]
    )


async def _serve_demo(
    config: Config,
    server_sock: socket.socket,
    site_sock: socket.socket,
    site_port: int,
    site_pages: Path | None,
) -> None:
    server_url = config.effective_public_url
    site_url = f"http://{_site_host(server_url)}:{site_port}"

    store = await Store.open(config.effective_database_url)
    try:
        await store.upgrade()
        await store.seed_demo()
        server_app = create_app(config, store=store)
        site_app = create_site_app(script_tag(server_url, DEMO_GROUP_ID), extra_pages=site_pages)

        servers = [
            _Server(uvicorn_config(server_app, config, config.host, config.port)),
            _Server(_site_config(site_app, config, site_port)),
        ]
        configure_logging(config.log_level, config.log_format)
        _handle_signals(servers)
        tasks = [
            asyncio.create_task(servers[0].serve(sockets=[server_sock]), name="cobrowse-server"),
            asyncio.create_task(servers[1].serve(sockets=[site_sock]), name="cobrowse-demo-site"),
        ]
        while not all(s.started for s in servers):
            if any(t.done() for t in tasks):
                break
            await asyncio.sleep(0.05)
        else:
            print(banner(server_url, site_url), flush=True)
        # If one server stops (a failed start, or a signal), stop the other too.
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for s in servers:
            s.should_exit = True
        await asyncio.gather(*tasks)
    finally:
        await store.close()


def _handle_signals(servers: list[_Server]) -> None:
    loop = asyncio.get_running_loop()

    def stop(sig: signal.Signals) -> None:
        for s in servers:
            if s.should_exit and sig == signal.SIGINT:
                s.force_exit = True
            s.should_exit = True

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop, sig)


def run_demo(config: Config, site_port: int = 8001, site_pages: Path | None = None) -> None:
    """Run the server (seeded demo group and agent) and the demo website until Ctrl-C.

    Port 0 for either picks a free port; the printed URLs show the real ones.
    """
    if site_pages is not None and not site_pages.is_dir():
        raise ConfigError(f"--site-pages {site_pages} is not a folder")
    logging.basicConfig(
        level=config.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    config = ensure_secret(config)
    server_sock = _listen(config.host, config.port, "server")
    site_sock = _listen(config.host, site_port, "demo website")
    # With port 0 the public URL (printed, and in the site's script tag) must name the port really used.
    config = dataclasses.replace(config, port=server_sock.getsockname()[1])
    if not config.public_url and config.host in _WILDCARD_HOSTS:
        config = dataclasses.replace(config, public_url=f"http://127.0.0.1:{config.port}")
    site_port = site_sock.getsockname()[1]

    try:
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            runner.run(_serve_demo(config, server_sock, site_sock, site_port, site_pages))
    except KeyboardInterrupt:  # a Ctrl-C before the handlers were installed
        pass
    finally:
        server_sock.close()
        site_sock.close()
    sys.stdout.flush()
