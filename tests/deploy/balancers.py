"""Real load balancers from Debian (nginx, HAProxy) in front of test clusters, run from the example configs
in deploy/.

Each test runs the shipped file itself, with only what must differ on a test machine replaced: the node
addresses, the listening ports, the TLS certificate (a self-signed one made with ``openssl`` for 127.0.0.1)
and the paths of the pid file, logs and temporary files. (``openssl`` comes with Debian's postgresql:
postgresql-common depends on ssl-cert, which depends on openssl.) Every replacement must match the example exactly as
many times as expected, so an edit of deploy/ that the test no longer understands fails loudly instead of
testing something else.

The balancers run in the foreground as children of the test (never as the system's service) and are
stopped at the end. A missing binary skips the tests on a developer's machine, and fails them in CI
(``CI=true``), where scripts/setup --with-services must have installed it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from support.services import free_port

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def require(binary: str, package: str) -> str:
    """The path of ``binary``; the test fails if it is missing."""
    found = shutil.which(binary) or (
        f"/usr/sbin/{binary}" if os.access(f"/usr/sbin/{binary}", os.X_OK) else None
    )
    if found:
        return found
    # never a skip: scripts/test installs it (scripts/setup --with-services), so a missing one is a broken set-up
    pytest.fail(
        f"{binary} is not installed (Debian package {package}: scripts/setup --with-services)", pytrace=False
    )


@dataclasses.dataclass
class Certificate:
    cert: Path
    key: Path
    #: cert and key in one file (HAProxy's ``crt``)
    bundle: Path

    def client_context(self) -> ssl.SSLContext:
        """A client context that trusts this certificate only (and checks the host name: 127.0.0.1)."""
        return ssl.create_default_context(cafile=str(self.cert))


def self_signed(directory: Path) -> Certificate:
    """A self-signed certificate for 127.0.0.1, valid for a day."""
    openssl = require("openssl", "openssl")
    cert, key, bundle = directory / "cert.pem", directory / "key.pem", directory / "bundle.pem"
    cmd = [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    cmd += ["-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1"]
    cmd += ["-addext", "subjectAltName=IP:127.0.0.1"]
    subprocess.run(cmd, check=True, capture_output=True)
    bundle.write_bytes(cert.read_bytes() + key.read_bytes())
    return Certificate(cert, key, bundle)


def replace(
    text: str,
    pattern: str,
    new: str | Callable[[re.Match[str]], str],
    count: int = 1,
    flags: int = re.MULTILINE,
) -> str:
    """``text`` with ``pattern`` replaced; AssertionError unless it matched exactly ``count`` times."""
    result, found = re.subn(pattern, new, text, flags=flags)
    assert found == count, f"deploy/ example changed: {pattern!r} matched {found} times, expected {count}"
    return result


def _wait_port(port: int, process: subprocess.Popen[bytes], log: Path, what: str) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}:\n{log.read_text(errors='replace')}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on {port}:\n{log.read_text(errors='replace')}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclasses.dataclass
class Balancer:
    """A running load balancer: ``url`` (https) is what browsers would use; ``plain_url`` its port 80."""

    port: int
    plain_port: int
    log: Path

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def plain_url(self) -> str:
        return f"http://127.0.0.1:{self.plain_port}"

    def log_tail(self, lines: int = 40) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        return "(no log)"


# ---- nginx --------------------------------------------------------------------------------------------


def nginx_config(directory: Path, port: int, plain_port: int, nodes: list[int], tls: Certificate) -> str:
    """deploy/nginx.conf for this machine: nodes on 127.0.0.1, ports, certificate and paths in ``directory``."""
    text = (DEPLOY / "nginx.conf").read_text()
    if os.geteuid() == 0:
        # root's workers can read the test's private directories; www-data could not
        text = replace(text, r"^user www-data;$", "user root root;")
    else:
        text = replace(text, r"^user www-data;$", "")  # a master that is not root cannot switch users
    text = replace(text, r"^worker_processes auto;$", "worker_processes 1;")
    text = replace(text, r"^pid /run/nginx\.pid;$", f"pid {directory / 'nginx.pid'};")
    text = replace(text, r"^error_log /var/log/nginx/error\.log", f"error_log {directory / 'error.log'}")
    text = replace(text, r"access_log /var/log/nginx/access\.log;", f"access_log {directory / 'access.log'};")
    temp = "\n".join(
        f"    {kind}_temp_path {directory / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    text = replace(text, r"^http \{$", "http {\n" + temp)
    servers = iter(nodes)
    text = replace(
        text,
        r"server 10\.0\.0\.\d+:8000 ",
        lambda _: f"server 127.0.0.1:{next(servers)} ",
        count=len(nodes),
    )
    text = replace(text, r"^\s*listen \[::\]:\d+( ssl)?;\n", "", count=2)
    text = replace(text, r"listen 80;", f"listen 127.0.0.1:{plain_port};")
    text = replace(text, r"listen 443 ssl;", f"listen 127.0.0.1:{port} ssl;")
    text = replace(text, r"ssl_certificate /\S+;", f"ssl_certificate {tls.cert};")
    text = replace(text, r"ssl_certificate_key /\S+;", f"ssl_certificate_key {tls.key};")
    return text


@contextlib.contextmanager
def nginx(directory: Path, nodes: list[int], tls: Certificate) -> Iterator[Balancer]:
    """Real nginx (``daemon off``) running deploy/nginx.conf in front of ``nodes`` (their ports)."""
    binary = require("nginx", "nginx")
    directory.mkdir(parents=True, exist_ok=True)
    port, plain_port = free_port(), free_port()
    conf = directory / "nginx.conf"
    conf.write_text(nginx_config(directory, port, plain_port, nodes, tls))
    log = directory / "error.log"
    base = [binary, "-p", str(directory), "-e", str(log), "-c", str(conf)]
    checked = subprocess.run([*base, "-t"], capture_output=True, text=True)
    assert checked.returncode == 0, f"nginx -t refused the config:\n{checked.stderr}\n{conf.read_text()}"
    with (directory / "nginx.out").open("wb") as out:
        process = subprocess.Popen([*base, "-g", "daemon off;"], stdout=out, stderr=out)
    try:
        _wait_port(port, process, log, "nginx")
        yield Balancer(port, plain_port, log)
    finally:
        _stop(process)


# ---- HAProxy ------------------------------------------------------------------------------------------


def haproxy_config(directory: Path, port: int, plain_port: int, nodes: list[int], tls: Certificate) -> str:
    """deploy/haproxy.cfg for this machine: in the foreground as the test's user, logs to stdout, the admin
    socket in ``directory``."""
    text = (DEPLOY / "haproxy.cfg").read_text()
    text = replace(text, r"^\s*(user|group) haproxy\n", "", count=2)  # stays the test's user
    text = replace(text, r"^\s*daemon\n", "")
    text = replace(
        text, r"maxconn 20000$", "maxconn 1000"
    )  # needs twice as many open files as the shell allows
    text = replace(text, r"log /dev/log local0", "log stdout format raw local0")
    text = replace(
        text, r"stats socket /run/haproxy/admin\.sock ", f"stats socket {directory / 'admin.sock'} "
    )
    text = replace(text, r"bind :80$", f"bind 127.0.0.1:{plain_port}")
    text = replace(text, r"bind :443 ssl crt \S+ ", f"bind 127.0.0.1:{port} ssl crt {tls.bundle} ")
    servers = iter(nodes)
    return replace(text, r"10\.0\.0\.\d+:8000$", lambda _: f"127.0.0.1:{next(servers)}", count=len(nodes))


@dataclasses.dataclass
class HAProxy(Balancer):
    admin_socket: Path

    def servers_state(self) -> dict[str, str]:
        """Each server of the cobrowse backend and its state by the health checks (``UP``, ``DOWN``, ...)."""
        with socket.socket(socket.AF_UNIX) as admin:
            admin.settimeout(5)
            admin.connect(str(self.admin_socket))
            admin.sendall(b"show stat\n")
            answer = b""
            while chunk := admin.recv(65536):
                answer += chunk
        lines = answer.decode().splitlines()
        header = lines[0].lstrip("# ").split(",")
        rows = [dict(zip(header, line.split(","), strict=False)) for line in lines[1:] if line]
        return {
            r["svname"]: r["status"] for r in rows if r["pxname"] == "cobrowse" and r["svname"] != "BACKEND"
        }


@contextlib.contextmanager
def haproxy(directory: Path, nodes: list[int], tls: Certificate) -> Iterator[HAProxy]:
    """Real HAProxy (foreground, ``-db``) running deploy/haproxy.cfg in front of ``nodes`` (their ports)."""
    binary = require("haproxy", "haproxy")
    directory.mkdir(parents=True, exist_ok=True)
    port, plain_port = free_port(), free_port()
    conf = directory / "haproxy.cfg"
    conf.write_text(haproxy_config(directory, port, plain_port, nodes, tls))
    log = directory / "haproxy.log"
    checked = subprocess.run([binary, "-c", "-f", str(conf)], capture_output=True, text=True)
    assert checked.returncode == 0, f"haproxy -c refused the config:\n{checked.stdout}{checked.stderr}"
    with log.open("wb") as out:
        process = subprocess.Popen([binary, "-db", "-f", str(conf)], stdout=out, stderr=out)
    try:
        _wait_port(port, process, log, "haproxy")
        yield HAProxy(port, plain_port, log, directory / "admin.sock")
    finally:
        _stop(process)
