"""Several nodes on one Redis (RedisBroker instances sharing a prefix): channels across nodes, the shared
log, key claims, homes, the overflow policy for remote messages and the pub/sub reader's reconnection."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable

import pytest
import redis.asyncio as aioredis

from broker.conftest import Nodes
from broker.receivers import Recorder, eventually
from cobrowse.broker import Kind, Overflow, RedisBroker, unpack


@pytest.fixture
async def raw(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    """A plain client, to look at Redis as an operator would."""
    client = aioredis.Redis.from_url(redis_url)
    try:
        yield client
    finally:
        await client.aclose()


async def subscribers_of(raw: aioredis.Redis, node: RedisBroker, channel: str) -> int:
    [(_, count)] = await raw.pubsub_numsub(node.redis_channel(channel))
    return int(count)


def subscribers_are(raw: aioredis.Redis, node: RedisBroker, channel: str, expected: int) -> Awaitable[bool]:
    async def check() -> bool:
        return await subscribers_of(raw, node, channel) == expected

    return check()


async def test_a_message_reaches_the_other_node_in_order_and_this_node_once(nodes: Nodes) -> None:
    one, two = await nodes(), await nodes()
    here, there = Recorder(), Recorder()
    await one.listen("session:1:agents", here, 100)
    await two.listen("session:1:agents", there, 100)
    sub = await two.subscribe("session:1:agents", 100)  # returned: what is published from now on arrives
    sent = [(Kind.EVENTS, seq, f"frame {seq}".encode() * seq) for seq in range(1, 21)]
    for kind, seq, frame in sent:
        await one.publish_frame("session:1:agents", kind, seq, frame)
    assert here.got == sent  # delivered on node 1 by the call itself
    await eventually(lambda: len(there.got) == len(sent), "node 2's listener has every frame")
    assert there.got == sent
    assert [unpack(await sub.get()) for _ in sent] == sent
    # a marker from node 2 reaches node 1 after any echo of its own frames could have: none came
    await two.publish_frame("session:1:agents", Kind.ALL, 0, b"marker")
    await eventually(lambda: len(here.got) > len(sent), "node 1 hears node 2")
    assert here.got == [*sent, (Kind.ALL, 0, b"marker")]
    assert there.got == [*sent, (Kind.ALL, 0, b"marker")]


async def test_a_node_subscribes_in_redis_only_while_it_has_receivers(
    nodes: Nodes, raw: aioredis.Redis
) -> None:
    one, two = await nodes(), await nodes()
    assert await subscribers_of(raw, one, "session:2:agents") == 0
    first = await one.listen("session:2:agents", Recorder(), 10)
    second = await one.subscribe("session:2:agents", 10)
    other = await two.listen("session:2:agents", Recorder(), 10)
    assert await subscribers_of(raw, one, "session:2:agents") == 2  # one connection per node
    await first.close()
    assert await subscribers_of(raw, one, "session:2:agents") == 2  # node 1 still has a subscription
    await second.close()
    await eventually(lambda: subscribers_are(raw, one, "session:2:agents", 1), "node 1 unsubscribes")
    await other.close()
    await eventually(lambda: subscribers_are(raw, one, "session:2:agents", 0), "node 2 unsubscribes")
    assert b"{2}" in one.redis_channel("session:2:agents")  # the session's hash tag (Redis Cluster)


async def test_resubscribing_at_once_after_the_last_receiver_left_still_receives(nodes: Nodes) -> None:
    one, two = await nodes(), await nodes()
    # UNSUBSCRIBE and SUBSCRIBE back to back: the confirmation a new receiver waits for is the last one
    for _ in range(5):
        listening = await two.listen("session:3:agents", Recorder(), 10)
        await listening.close()
    again = Recorder()
    await two.listen("session:3:agents", again, 10)
    await one.publish_frame("session:3:agents", Kind.EVENTS, 1, b"x")
    await eventually(lambda: again.got == [(Kind.EVENTS, 1, b"x")], "the frame arrives")


async def test_a_slow_subscriber_of_remote_messages_overflows(nodes: Nodes) -> None:
    one, two = await nodes(), await nodes()
    slow = await two.subscribe("session:4:agents", 2)
    witness = Recorder()
    await two.listen("session:4:agents", witness, 100)
    for seq in range(1, 6):
        await one.publish_frame("session:4:agents", Kind.EVENTS, seq, b"f")
    await eventually(lambda: len(witness.got) == 5, "node 2 received all five")
    with pytest.raises(Overflow):
        await slow.get()
    assert [unpack(await slow.get())[1] for _ in range(2)] == [4, 5]  # what came after the dropped backlog


async def test_the_log_is_shared_and_a_reader_never_sees_half_a_reset(nodes: Nodes) -> None:
    writer, reader = await nodes(), await nodes()
    await writer.log_append(9, 1, b"snap 1", reset=True)
    await writer.writer.flush()
    done = asyncio.Event()
    seen: list[list[tuple[int, bytes]]] = []

    async def read_all_the_time() -> None:
        while not done.is_set():
            seen.append(await reader.log_read(9))

    reading = asyncio.create_task(read_all_the_time())
    seq = 1
    for _ in range(40):
        for _ in range(3):
            seq += 1
            await writer.log_append(9, seq, b"frame", reset=False)
        seq += 1
        await writer.log_append(9, seq, f"snap {seq}".encode(), reset=True)
        await writer.writer.flush()  # appends never wait for Redis: they land, the reader reads meanwhile
    done.set()
    await reading
    assert len(seen) > 10
    for log in seen:  # each read: one snapshot, then the frames after it, in order, none missing
        assert log and log[0][1].startswith(b"snap ")
        assert [s for s, _ in log] == list(range(log[0][0], log[0][0] + len(log)))
        assert all(frame == b"frame" for _, frame in log[1:])
    assert await reader.log_read(9) == [(seq, f"snap {seq}".encode())]


async def test_key_claims_across_nodes(nodes: Nodes) -> None:
    one, two = await nodes(), await nodes()
    results = await asyncio.gather(
        *(node.claim_key(1, "K", f"holder{i}") for i, node in enumerate([one, two] * 5))
    )
    assert sum(results) == 1  # ten claims at once from two nodes: exactly one wins
    winner = f"holder{results.index(True)}"
    loser = one if winner != "holder0" else two
    await loser.release_key(1, "K", "somebody else")
    assert not await loser.claim_key(1, "K", "x")
    await two.transfer_key(1, "K", "new home")  # the claim moves, whoever held it
    assert await one.claim_key(1, "K", "new home")
    await one.release_key(1, "K", winner)  # the old holder can no longer free it
    assert not await two.claim_key(1, "K", "x")
    await one.release_key(1, "K", "new home")
    assert await two.claim_key(1, "K", "x")


async def test_homes_across_nodes_with_an_expiring_heartbeat(nodes: Nodes) -> None:
    one, two = await nodes(), await nodes()
    await one.heartbeat("n1", "http://10.0.0.1:9000", ttl=0.3)
    await two.heartbeat("n2", "http://10.0.0.2:9000", ttl=30)
    assert await two.node_url("n1") == "http://10.0.0.1:9000"
    assert await one.claim_home(3, "n1") == "n1"
    assert await two.claim_home(3, "n2") == "n1"
    assert await two.home_of(3) == "n1"
    await eventually(lambda: expired(two, "n1"), "n1's heartbeat expires")
    assert await two.home_of(3) is None
    claims = await asyncio.gather(two.claim_home(3, "n2"), two.claim_home(3, "n2"))
    assert claims == ["n2", "n2"]
    await one.heartbeat("n1", "http://10.0.0.1:9000", ttl=30)  # n1 is back: n2 keeps the home
    assert await one.claim_home(3, "n1") == "n2"
    await one.drop_home(3, "n1")
    assert await one.home_of(3) == "n2"
    await two.drop_home(3, "n2")
    assert await one.home_of(3) is None


async def expired(node: RedisBroker, name: str) -> bool:
    return await node.node_url(name) is None


async def test_the_reader_reconnects_after_its_connection_is_killed(
    nodes: Nodes, raw: aioredis.Redis
) -> None:
    one, two = await nodes(), await nodes()
    got = Recorder()
    sub = await two.subscribe("session:5:agents", 10)
    await two.listen("session:5:agents", got, 10)
    await one.publish_frame("session:5:agents", Kind.EVENTS, 1, b"before")
    await eventually(lambda: len(got.got) == 1, "the first frame arrives")
    killed = await raw.execute_command("CLIENT", "KILL", "TYPE", "pubsub")
    assert killed == 1  # node 2's (node 1 subscribes to nothing: its connection is no pub/sub client yet)
    await eventually(lambda: two.reconnects == 1, "node 2's reader reconnects")
    await eventually(lambda: subscribers_are(raw, two, "session:5:agents", 1), "node 2 subscribes again")
    await one.publish_frame("session:5:agents", Kind.EVENTS, 2, b"after")
    await eventually(lambda: len(got.got) == 2, "a frame after the reconnect arrives")
    assert got.got == [(Kind.EVENTS, 1, b"before"), (Kind.EVENTS, 2, b"after")]
    assert [unpack(await sub.get())[2] for _ in range(2)] == [b"before", b"after"]
    await two.publish_frame("session:5:agents", Kind.EVENTS, 3, b"publishing works too")
