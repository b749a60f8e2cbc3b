"""Listeners of every broker (memory and Redis): frames handed over in the publisher's call, in order, unpacked.

On one node the Redis broker delivers exactly as the in-memory broker does; other nodes are tests/broker/test_nodes.py."""

from __future__ import annotations

import asyncio

import pytest

from broker.receivers import Recorder
from cobrowse.broker import Broker, Kind, Listening, MemoryBroker, pack, unpack


async def test_a_listener_gets_each_frame_during_the_publish_call_in_order(broker: Broker) -> None:
    one, two, other = Recorder(), Recorder(), Recorder()
    await broker.listen("c", one, 10)
    await broker.listen("c", two, 10)
    await broker.listen("d", other, 10)
    await broker.publish_frame("c", Kind.EVENTS, 1, b"a")
    assert one.got == [(Kind.EVENTS, 1, b"a")]  # no task switch needed: delivered by the call itself
    await broker.publish_frame("c", Kind.ALL, 0, b"b")
    await broker.publish("c", pack(Kind.EVENTS, 2, b"c"))  # the packed form reaches listeners unpacked
    expected = [(Kind.EVENTS, 1, b"a"), (Kind.ALL, 0, b"b"), (Kind.EVENTS, 2, b"c")]
    assert one.got == expected and two.got == expected and other.got == []


async def test_subscriptions_and_listeners_of_a_channel_get_the_same_messages(broker: Broker) -> None:
    listener = Recorder()
    await broker.listen("c", listener, 10)
    sub = await broker.subscribe("c", 10)
    await broker.publish_frame("c", Kind.EVENTS, 5, b"x")
    assert unpack(await sub.get()) == (Kind.EVENTS, 5, b"x")
    assert listener.got == [(Kind.EVENTS, 5, b"x")]


async def test_a_closed_listener_gets_nothing_and_a_failing_one_costs_the_others_nothing(
    broker: Broker,
) -> None:
    gone, broken, fine = Recorder(), Recorder(fail=True), Recorder()
    listening = await broker.listen("c", gone, 10)
    await broker.listen("c", broken, 10)
    await broker.listen("c", fine, 10)
    await listening.close()
    await broker.publish_frame("c", Kind.EVENTS, 1, b"a")
    await broker.publish_frame("c", Kind.EVENTS, 2, b"b")
    assert gone.got == []
    assert [seq for _, seq, _ in broken.got] == [1, 2]
    assert [seq for _, seq, _ in fine.got] == [1, 2]


class QueueOnlyBroker(MemoryBroker):
    """A broker without direct delivery: listeners get the base class's subscription and task."""

    async def publish_frame(self, channel: str, kind: Kind, seq: int, frame: bytes) -> None:
        await Broker.publish_frame(self, channel, kind, seq, frame)

    async def listen(self, channel: str, listener: Recorder, max_queue: int) -> Listening:  # type: ignore[override]
        return await Broker.listen(self, channel, listener, max_queue)


async def wait_until(check: object, what: str) -> None:
    assert callable(check)
    for _ in range(1000):
        if check():
            return
        await asyncio.sleep(0)
    pytest.fail(f"never: {what}")


async def test_brokers_without_direct_delivery_pump_a_subscription_and_report_overflow() -> None:
    broker = QueueOnlyBroker()
    listener = Recorder()
    listening = await broker.listen("c", listener, 2)
    for seq in range(1, 6):  # the pump has not run yet: the subscription's queue of 2 overflows
        await broker.publish_frame("c", Kind.EVENTS, seq, b"f")
    await wait_until(lambda: listener.overflows == 1, "the overflow is reported")
    await broker.publish_frame("c", Kind.EVENTS, 6, b"g")
    await wait_until(lambda: listener.got and listener.got[-1][1] == 6, "frames after it are delivered")
    await listening.close()
    await broker.publish_frame("c", Kind.EVENTS, 7, b"h")
    assert listener.got[-1][1] == 6
    assert "c" not in broker._subscribers
