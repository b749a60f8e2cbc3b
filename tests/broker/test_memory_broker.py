"""The in-memory broker: delivery order, the overflow policy, the log and key claims."""

from __future__ import annotations

import asyncio

import pytest

from cobrowse.broker import Kind, MemoryBroker, Overflow, create_broker, pack, unpack


async def test_publish_reaches_every_subscriber_in_order() -> None:
    broker = MemoryBroker()
    one = await broker.subscribe("c", 10)
    two = await broker.subscribe("c", 10)
    other = await broker.subscribe("d", 10)
    for i in range(3):
        await broker.publish("c", bytes([i]))
    assert [await one.get() for _ in range(3)] == [b"\0", b"\1", b"\2"]
    assert [await two.get() for _ in range(3)] == [b"\0", b"\1", b"\2"]
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(other.get(), 0.05)


async def test_slow_subscriber_overflows_without_blocking_the_publisher() -> None:
    broker = MemoryBroker()
    slow = await broker.subscribe("c", 2)
    fast = await broker.subscribe("c", 100)
    for i in range(5):
        await broker.publish("c", bytes([i]))  # never waits
    with pytest.raises(Overflow):
        await slow.get()
    # what came after the dropped backlog is delivered: the consumer resyncs, then skips by sequence
    assert [await slow.get() for _ in range(2)] == [b"\3", b"\4"]
    assert [await fast.get() for _ in range(5)] == [bytes([i]) for i in range(5)]


async def test_closed_subscription_stops_iteration_and_receives_nothing() -> None:
    broker = MemoryBroker()
    sub = await broker.subscribe("c", 5)
    waiter = asyncio.create_task(sub.get())
    await asyncio.sleep(0)
    await sub.close()
    with pytest.raises(StopAsyncIteration):
        await waiter
    await broker.publish("c", b"x")
    assert "c" not in broker._subscribers


async def test_log_resets_at_snapshot() -> None:
    broker = MemoryBroker()
    await broker.log_append(1, 1, b"s1", reset=True)
    await broker.log_append(1, 2, b"e2", reset=False)
    assert await broker.log_read(1) == [(1, b"s1"), (2, b"e2")]
    await broker.log_append(1, 3, b"s3", reset=True)
    assert await broker.log_read(1) == [(3, b"s3")]
    await broker.log_drop(1)
    assert await broker.log_read(1) == []


async def test_key_claims_are_exclusive_per_group() -> None:
    broker = MemoryBroker()
    assert await broker.claim_key(1, "k", "a")
    assert await broker.claim_key(1, "k", "a")  # same holder again
    assert not await broker.claim_key(1, "k", "b")
    assert await broker.claim_key(2, "k", "b")  # another group
    await broker.release_key(1, "k", "b")  # not the holder: no effect
    assert not await broker.claim_key(1, "k", "b")
    await broker.release_key(1, "k", "a")
    assert await broker.claim_key(1, "k", "b")


def test_framing_round_trip_and_urls() -> None:
    assert unpack(pack(Kind.EVENTS, 2**40, b"{}")) == (Kind.EVENTS, 2**40, b"{}")
    assert isinstance(create_broker("memory://"), MemoryBroker)
    with pytest.raises(ValueError, match="unsupported broker URL"):
        create_broker("kafka://x")
