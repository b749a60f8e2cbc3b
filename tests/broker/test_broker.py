"""Every broker (memory and Redis, the same assertions): delivery order, the overflow policy, the log, key
claims, and the nodes and homes of a cluster."""

from __future__ import annotations

import asyncio

import pytest

from broker.receivers import eventually
from cobrowse.broker import Broker, Kind, MemoryBroker, Overflow, RedisBroker, create_broker, pack, unpack


async def test_publish_reaches_every_subscriber_in_order(broker: Broker) -> None:
    one = await broker.subscribe("c", 10)
    two = await broker.subscribe("c", 10)
    other = await broker.subscribe("d", 10)
    for i in range(3):
        await broker.publish("c", bytes([i]))
    assert [await one.get() for _ in range(3)] == [b"\0", b"\1", b"\2"]
    assert [await two.get() for _ in range(3)] == [b"\0", b"\1", b"\2"]
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(other.get(), 0.05)


async def test_slow_subscriber_overflows_without_blocking_the_publisher(broker: Broker) -> None:
    slow = await broker.subscribe("c", 2)
    fast = await broker.subscribe("c", 100)
    for i in range(5):
        await broker.publish("c", bytes([i]))  # never waits
    with pytest.raises(Overflow):
        await slow.get()
    # what came after the dropped backlog is delivered: the consumer resyncs, then skips by sequence
    assert [await slow.get() for _ in range(2)] == [b"\3", b"\4"]
    assert [await fast.get() for _ in range(5)] == [bytes([i]) for i in range(5)]


async def test_closed_subscription_stops_iteration_and_receives_nothing(broker: Broker) -> None:
    sub = await broker.subscribe("c", 5)
    waiter = asyncio.create_task(sub.get())
    await asyncio.sleep(0)
    await sub.close()
    with pytest.raises(StopAsyncIteration):
        await waiter
    await broker.publish("c", b"x")
    assert "c" not in broker._subscribers  # type: ignore[attr-defined]


async def test_log_resets_at_snapshot(broker: Broker) -> None:
    await broker.log_append(1, 1, b"s1", reset=True)
    await broker.log_append(1, 2, b"e2", reset=False)
    assert await broker.log_read(1) == [(1, b"s1"), (2, b"e2")]
    await broker.log_append(1, 3, b"s3", reset=True)
    assert await broker.log_read(1) == [(3, b"s3")]
    await broker.log_drop(1)
    assert await broker.log_read(1) == []


async def test_log_keeps_frames_as_bytes_and_sessions_apart(broker: Broker) -> None:
    binary = bytes(range(256)) * 800  # 200 KB, every byte value: no text or JSON re-encoding on the way
    await broker.log_append(7, 2**40, binary, reset=True)
    await broker.log_append(7, 2**40 + 1, b"", reset=False)
    await broker.log_append(8, 1, b"other", reset=True)
    assert await broker.log_read(7) == [(2**40, binary), (2**40 + 1, b"")]
    assert await broker.log_read(8) == [(1, b"other")]
    assert await broker.log_read(9) == []


async def test_key_claims_are_exclusive_per_group(broker: Broker) -> None:
    assert await broker.claim_key(1, "k", "a")
    assert await broker.claim_key(1, "k", "a")  # same holder again
    assert not await broker.claim_key(1, "k", "b")
    assert await broker.claim_key(2, "k", "b")  # another group
    await broker.release_key(1, "k", "b")  # not the holder: no effect
    assert not await broker.claim_key(1, "k", "b")
    await broker.release_key(1, "k", "a")
    assert await broker.claim_key(1, "k", "b")


async def test_transfer_key_takes_a_claim_over(broker: Broker) -> None:
    assert await broker.claim_key(1, "k", "dead-home")
    await broker.transfer_key(1, "k", "new-home")
    assert not await broker.claim_key(1, "k", "dead-home")
    await broker.release_key(1, "k", "dead-home")  # the old holder can no longer free it
    assert not await broker.claim_key(1, "k", "other")
    await broker.release_key(1, "k", "new-home")
    assert await broker.claim_key(1, "k", "other")
    await broker.transfer_key(2, "fresh", "x")  # an unclaimed key: simply claimed
    assert not await broker.claim_key(2, "fresh", "y")


async def test_heartbeats_and_homes(broker: Broker) -> None:
    assert await broker.node_url("a") is None
    assert await broker.home_of(5) is None
    await broker.heartbeat("a", "http://10.0.0.1:8000", ttl=60)
    assert await broker.node_url("a") == "http://10.0.0.1:8000"
    assert await broker.claim_home(5, "a") == "a"  # no home yet: a takes it
    assert await broker.claim_home(5, "a") == "a"  # again: still a
    assert await broker.claim_home(5, "b") == "a"  # a is alive: b is told where the home is
    assert await broker.home_of(5) == "a"
    await broker.drop_home(5, "b")  # not b's: nothing happens
    assert await broker.home_of(5) == "a"
    await broker.drop_home(5, "a")  # the session ended on a
    assert await broker.home_of(5) is None
    assert await broker.claim_home(5, "b") == "b"  # b never beat: it may still take a free home
    assert await broker.home_of(5) is None  # ... but a home on a node without a heartbeat is no home


async def test_a_home_whose_heartbeat_expired_is_taken_over(broker: Broker) -> None:
    await broker.heartbeat("a", "http://a", ttl=0.3)
    await broker.heartbeat("b", "http://b", ttl=60)
    assert await broker.claim_home(6, "a") == "a"
    assert await broker.claim_home(6, "b") == "a"

    async def a_expired() -> bool:
        return await broker.node_url("a") is None

    await eventually(a_expired, "a's heartbeat expires")
    assert await broker.home_of(6) is None
    assert await broker.claim_home(6, "b") == "b"
    assert await broker.home_of(6) == "b"
    await broker.heartbeat("a", "http://a", ttl=60)  # a comes back: b keeps the home
    assert await broker.claim_home(6, "a") == "b"


async def test_ping(broker: Broker) -> None:
    await broker.ping()


def test_framing_round_trip_and_urls() -> None:
    assert unpack(pack(Kind.EVENTS, 2**40, b"{}")) == (Kind.EVENTS, 2**40, b"{}")
    assert isinstance(create_broker("memory://"), MemoryBroker)
    for url in ("redis://127.0.0.1:1/0", "rediss://user:pw@redis.example:6380/2"):
        made = create_broker(url)
        assert isinstance(made, RedisBroker) and made.url == url  # no connection until connect()
    sentinel = create_broker("redis+sentinel://:pw@s1:26379,s2:26380/mymaster/1")  # Sentinel names the master
    assert isinstance(sentinel, RedisBroker)
    with pytest.raises(ValueError, match="service name"):
        create_broker("redis+sentinel://s1:26379")
    with pytest.raises(ValueError, match="unsupported broker URL"):
        create_broker("kafka://x")
