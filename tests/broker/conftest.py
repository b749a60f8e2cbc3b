"""Broker fixtures: every broker test runs against the in-memory broker and the Redis broker, with the same
assertions.

``broker`` is a fresh :class:`MemoryBroker`, or a :class:`RedisBroker` on this worker's private Redis server
(tests/support/services.py; or the server named by ``COBROWSE_TEST_REDIS_URL``) under a name prefix of its
own, so that tests never see each other's keys and channels. ``nodes`` makes more Redis brokers on the same
prefix: several server nodes sharing one Redis.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import pytest

from cobrowse.broker import Broker, MemoryBroker, RedisBroker
from support.services import redis

Nodes = Callable[[], Awaitable[RedisBroker]]


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """This worker's Redis server (started once per worker)."""
    with redis() as url:
        yield url


@pytest.fixture
async def nodes(redis_url: str) -> AsyncIterator[Nodes]:
    """``await nodes()`` -> a connected RedisBroker; all of one test's share a prefix (one cluster)."""
    prefix = f"t{uuid.uuid4().hex[:10]}"
    made: list[RedisBroker] = []

    async def make() -> RedisBroker:
        broker = RedisBroker(redis_url, prefix=prefix)
        await broker.connect()
        made.append(broker)
        return broker

    try:
        yield make
    finally:
        for broker in made:
            await broker.disconnect()


@pytest.fixture(params=["memory", "redis"])
async def broker(request: pytest.FixtureRequest) -> AsyncIterator[Broker]:
    chosen: Broker
    if request.param == "redis":
        chosen = RedisBroker(request.getfixturevalue("redis_url"), prefix=f"t{uuid.uuid4().hex[:10]}")
    else:
        chosen = MemoryBroker()
    await chosen.connect()
    try:
        yield chosen
    finally:
        await chosen.disconnect()
