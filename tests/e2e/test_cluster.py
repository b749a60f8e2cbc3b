"""Issue 9 in real Chromium: three nodes on one machine sharing a real Redis and PostgreSQL.

The visitor's page reaches the servers through a load balancer without stickiness (tests/support/balancer.py:
each new connection goes to the first node that accepts it); the agents' consoles are opened on the two other
nodes directly. The session lives on the node where it started (its home); the other nodes tunnel their
sockets there. When that node is killed, every client reconnects by itself, a surviving node becomes the
session's home and rebuilds it from PostgreSQL and the Redis log, and the agents see every change the visitor
made meanwhile.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page

from support.balancer import Balancer, balancer
from support.cluster import Cluster, cluster, fresh_database
from support.services import free_port, postgres, redis

TEST_PAGES = Path(__file__).resolve().parent / "pages"
Wait = Callable[..., Any]

_REPLAY = (
    "const frame = window.CobrowseAgent && window.CobrowseAgent.replayFrame();"
    " const doc = frame && frame.contentDocument;"
    " if (!doc || !doc.body) return false;"
)


def in_replay(wait_for: Wait, page: Page, expression: str, timeout: int = 20_000) -> Any:
    return wait_for(page, f"() => {{ {_REPLAY} return ({expression}); }}", timeout=timeout)


@pytest.fixture(scope="module")
def services() -> Iterator[tuple[str, str]]:
    with redis() as redis_url, postgres() as postgres_url:
        yield redis_url, postgres_url


@pytest.fixture
def nodes(services: tuple[str, str], tmp_path: Path) -> Iterator[tuple[Cluster, Balancer]]:
    redis_url, postgres_url = services
    ports = [free_port() for _ in range(3)]
    with (
        balancer(ports) as lb,
        cluster(
            tmp_path, redis_url, fresh_database(postgres_url), TEST_PAGES, ports=ports, public_url=lb.url
        ) as running,
    ):
        yield running, lb


@pytest.fixture
def console_on(_pages: Any) -> Callable[[str], Page]:
    """``console_on(node_url)``: the demo agent logged in to the console of that node (its own context)."""
    count = 0

    def login(url: str) -> Page:
        nonlocal count
        count += 1
        page: Page = _pages.new_page(f"console{count}")
        page.goto(f"{url}/agent/login")
        page.locator('input[name="username"]').fill("demo")
        page.locator('input[name="password"]').fill("demo-password")
        with page.expect_navigation():
            page.locator('input[name="password"]').press("Enter")
        return page

    return login


def start_session(visitor: Page, url: str, key: str, wait_for: Wait) -> None:
    visitor.goto(url)
    wait_for(visitor, "window.GLANCE && GLANCE.Cobrowse && GLANCE.Cobrowse.Visitor")
    visitor.evaluate(
        """(key) => { window.agentsSeen = []; window.received = [];
        GLANCE.Cobrowse.Visitor.addEventListener('agents', (e) => window.agentsSeen.push(e));
        GLANCE.Cobrowse.Visitor.startSession(key); }""",
        key,
    )
    wait_for(visitor, "GLANCE.Cobrowse.Visitor.inSession() === true", timeout=20_000)
    visitor.evaluate(
        "GLANCE.Cobrowse.Visitor.addSessionMessageListener('hello', (name, msg) => window.received.push(msg))"
    )


def watch(console: Page, key: str, wait_for: Wait) -> None:
    wait_for(console, "!!window.CobrowseAgent")
    console.evaluate(
        """(key) => { window.got = [];
        CobrowseAgent.addSessionMessageListener('hi', (name, msg) => window.got.push(msg));
        CobrowseAgent.join(key); }""",
        key,
    )


def test_a_visitor_on_one_node_and_agents_on_two_others_share_one_session(
    nodes: tuple[Cluster, Balancer], visitor: Page, console_on: Callable[[str], Page], wait_for: Wait
) -> None:
    running, lb = nodes
    start_session(visitor, f"{running.site}/basic.html", "cluster-share", wait_for)
    # the load balancer sent the visitor's connections to node 0: the agents are on nodes 1 and 2
    assert set(lb.routed) == {running.nodes[0].port}
    first, second = console_on(running.nodes[1].url), console_on(running.nodes[2].url)
    for console in (first, second):
        watch(console, "cluster-share", wait_for)
        in_replay(wait_for, console, "doc.getElementById('title')?.textContent === 'Basic test page'")

    # presence across nodes: the visitor's agents event and each console list both agents
    wait_for(visitor, "window.agentsSeen.length > 0 && window.agentsSeen.at(-1).count === 2", timeout=20_000)
    for console in (first, second):
        wait_for(console, "CobrowseAgent.session && CobrowseAgent.session.agents.count === 2")

    # the page goes on live to both, and messages flow both ways
    visitor.evaluate("window.addNode('seen on every node')")
    for console in (first, second):
        in_replay(wait_for, console, "doc.getElementById('added')?.textContent === 'seen on every node'")
    visitor.evaluate("GLANCE.Cobrowse.Visitor.sendSessionMessage('hi', {from: 'visitor'})")
    for console in (first, second):
        assert wait_for(console, "window.got.length > 0 && window.got") == [{"from": "visitor"}]
    second.evaluate("CobrowseAgent.sendSessionMessage('hello', {from: 'agent on node 2'})")
    assert wait_for(visitor, "window.received.length > 0 && window.received") == [{"from": "agent on node 2"}]


def test_a_node_killed_mid_session_its_clients_resume_on_the_others_and_miss_nothing(
    nodes: tuple[Cluster, Balancer], visitor: Page, console_on: Callable[[str], Page], wait_for: Wait
) -> None:
    running, lb = nodes
    start_session(visitor, f"{running.site}/basic.html", "cluster-kill", wait_for)
    consoles = [console_on(running.nodes[1].url), console_on(running.nodes[2].url)]
    for console in consoles:
        watch(console, "cluster-kill", wait_for)
        in_replay(wait_for, console, "doc.getElementById('title')?.textContent === 'Basic test page'")
    visitor.evaluate("window.addNode('before the crash')")
    for console in consoles:
        in_replay(wait_for, console, "doc.getElementById('added')?.textContent === 'before the crash'")

    running.nodes[0].kill()  # the session's home: SIGKILL, nothing saved, every socket through it drops
    # the visitor goes on using the page while its server is gone
    visitor.evaluate("window.addNode('during the outage')")
    visitor.locator("#name").fill("typed while reconnecting")

    wait_for(visitor, "GLANCE.Cobrowse.Visitor.inSession() === true", timeout=30_000)
    for console in consoles:
        in_replay(
            wait_for,
            console,
            "doc.getElementById('added-2')?.textContent === 'during the outage'"
            " && doc.getElementById('name').value === 'typed while reconnecting'",
            timeout=40_000,
        )
    # and live from there on, with both agents still in the session
    visitor.evaluate("window.addNode('after the failover')")
    for console in consoles:
        in_replay(wait_for, console, "doc.getElementById('added-3')?.textContent === 'after the failover'")
        wait_for(console, "CobrowseAgent.session && CobrowseAgent.session.agents.count === 2", timeout=20_000)
    assert running.nodes[0].port in lb.routed and len(set(lb.routed)) > 1
