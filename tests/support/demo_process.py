"""Starting and stopping a ``cobrowse demo`` process, for the browser tests and the browser benchmarks.

Port 0 for both servers: the demo binds free ports itself (no race between picking a port and using it, which
matters with pytest-xdist) and prints the ones it got in its ``COBROWSE READY`` line, which this waits for.
"""

from __future__ import annotations

import dataclasses
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

from .test_database import env_for

REPO_ROOT = Path(__file__).resolve().parents[2]
#: The CLI of the environment running this (``.venv/bin/cobrowse`` under scripts/test).
CLI = Path(sys.executable).parent / "cobrowse"
READY = re.compile(r"^COBROWSE READY server=(?P<server>\S+) site=(?P<site>\S+)\s*$", re.MULTILINE)


@dataclasses.dataclass
class DemoProcess:
    process: subprocess.Popen[bytes]
    command: list[str]
    #: e.g. http://127.0.0.1:41234
    server: str
    site_port: int


def clean_env() -> dict[str, str]:
    """The environment without the developer's COBROWSE_* settings, so the demo gets the documented defaults."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("COBROWSE_")}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def log_tail(log_path: Path, lines: int = 60) -> str:
    try:
        return "\n".join(log_path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def start_demo(
    data_dir: Path,
    pages: Path,
    log_path: Path,
    timeout: float = 30.0,
    port: int = 0,
    site_port: int = 0,
    env: dict[str, str] | None = None,
) -> DemoProcess:
    """Run ``cobrowse demo`` with extra site pages, on free ports unless ``port`` / ``site_port`` name them (a
    restart on the ports of the run before); raise RuntimeError (with the log) if it exits or prints no
    READY line within ``timeout`` seconds. ``env`` replaces the environment (default: :func:`clean_env`)."""
    cmd = [str(CLI), "--data-dir", str(data_dir), "demo", "--host", "127.0.0.1", "--port", str(port)]
    cmd += ["--site-port", str(site_port), "--site-pages", str(pages)]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            cmd,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env if env is not None else {**clean_env(), **env_for(data_dir)},
            cwd=REPO_ROOT,
        )
    deadline = time.monotonic() + timeout
    while True:
        match = READY.search(log_path.read_text(errors="replace"))
        if match:
            port = urlsplit(match["site"]).port
            assert port is not None
            return DemoProcess(process, cmd, match["server"].rstrip("/"), port)
        if process.poll() is not None:
            raise RuntimeError(
                f"cobrowse demo exited with {process.returncode} before it was ready.\n"
                f"command: {' '.join(cmd)}\nlog ({log_path}):\n{log_tail(log_path)}"
            )
        if time.monotonic() > deadline:
            stop_demo(process)
            raise RuntimeError(
                f"cobrowse demo printed no COBROWSE READY line within {timeout:.0f} s.\n"
                f"command: {' '.join(cmd)}\nlog ({log_path}):\n{log_tail(log_path)}"
            )
        time.sleep(0.05)


def stop_demo(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM (a graceful shutdown), then kill after 15 s."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
