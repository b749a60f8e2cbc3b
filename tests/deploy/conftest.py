"""The deployment tests: three cobrowse nodes on a real Redis and PostgreSQL, behind a real load balancer
running the example configuration from deploy/ (tests/deploy/balancers.py), reached only through it.

``behind_nginx`` and ``behind_haproxy`` are one such set-up per test module; each module has one test (it
kills a node), so that pytest-xdist never starts a second cluster for the same module.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from deploy.balancers import Balancer, Certificate, haproxy, nginx, require, self_signed
from deploy.deployment import Deployment
from deploy.front import Front
from support.cluster import cluster, fresh_database
from support.services import free_port, postgres, redis

PAGES = Path(__file__).resolve().parents[1] / "e2e" / "pages"
#: nginx() or haproxy(): (directory, node ports, certificate) -> a running balancer
BalancerStarter = Callable[[Path, list[int], Certificate], contextlib.AbstractContextManager[Balancer]]


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    return self_signed(tmp_path_factory.mktemp("tls"))


def _deployment(tmp: Path, tls: Certificate, balancer: BalancerStarter) -> Iterator[Deployment]:
    """Redis, PostgreSQL, the balancer in front of three node ports, then the nodes (their public URL is the
    balancer's)."""
    ports = [free_port() for _ in range(3)]
    with redis() as redis_url, postgres() as postgres_url, balancer(tmp / "balancer", ports, tls) as front:
        database = fresh_database(postgres_url)
        with cluster(tmp, redis_url, database, PAGES, public_url=front.url, ports=ports) as running:
            yield Deployment(running, front, Front(front.url, tls.client_context()), redis_url)


@pytest.fixture(scope="module")
def behind_nginx(tmp_path_factory: pytest.TempPathFactory, tls: Certificate) -> Iterator[Deployment]:
    require("nginx", "nginx")  # before starting the services: skip (or fail in CI) at once
    yield from _deployment(tmp_path_factory.mktemp("nginx"), tls, nginx)


@pytest.fixture(scope="module")
def behind_haproxy(tmp_path_factory: pytest.TempPathFactory, tls: Certificate) -> Iterator[Deployment]:
    require("haproxy", "haproxy")
    yield from _deployment(tmp_path_factory.mktemp("haproxy"), tls, haproxy)
