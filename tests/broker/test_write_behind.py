"""The Redis broker's hot path without Redis round trips: the writing node serves its log from memory, the
Redis copy follows behind (one pipelined write per batch), and the bounded writer's overflow and failure
policy: a session whose Redis log lost a write has that log deleted, and written again from its next snapshot."""

from __future__ import annotations

import pytest

from broker.conftest import Nodes
from broker.receivers import Recorder, eventually
from cobrowse.broker import Kind, redis_writer
from cobrowse.broker.redis import RedisBroker


def frames(first: int, count: int) -> list[tuple[int, bytes]]:
    return [
        (seq, b"snap %d" % seq if seq == first else b"frame %d" % seq) for seq in range(first, first + count)
    ]


async def write(
    node: RedisBroker, session: int, entries: list[tuple[int, bytes]], first_resets: bool = True
) -> None:
    """What the runtime does per frame: log it, then publish it."""
    for i, (seq, frame) in enumerate(entries):
        await node.log_append(session, seq, frame, reset=first_resets and i == 0)
        await node.publish_frame(f"session:{session}:agents", Kind.EVENTS, seq, frame)


async def test_the_writing_node_reads_its_log_at_once_and_redis_follows_in_order(nodes: Nodes) -> None:
    home, other = await nodes(), await nodes()
    remote = Recorder()
    await other.listen("session:11:agents", remote, 1000)
    entries = frames(1, 50)
    await write(home, 11, entries)
    # nothing above waited for Redis: the home's log is its own copy, complete at once
    assert home.writer._pushed > home.writer._done
    assert await home.log_read(11) == entries
    await eventually(lambda: len(remote.got) == 50, "the other node hears every frame")
    assert remote.got == [(Kind.EVENTS, seq, frame) for seq, frame in entries]
    await home.writer.flush()
    assert await other.log_read(11) == entries  # from Redis
    assert (
        home.writer.batches < 50
    )  # pipelined: far fewer writes than frames (each log entry + PUBLISH is one)
    await home.log_drop(11)
    assert await home.log_read(11) == []  # the drop is written before a read from Redis
    assert await other.log_read(11) == []


async def test_a_new_home_reads_redis_after_its_own_queued_writes(nodes: Nodes) -> None:
    dead, new_home = await nodes(), await nodes()
    await write(dead, 12, frames(1, 5))
    await dead.writer.flush()
    adopted = await new_home.log_read(12)  # what a node adopting the session reads
    assert adopted == frames(1, 5)
    more = [(6, b"frame 6"), (7, b"frame 7")]
    await write(new_home, 12, more, first_resets=False)  # no snapshot yet: this node has no copy of its own
    assert await new_home.log_read(12) == [*adopted, *more]


async def test_past_the_writer_bound_the_redis_log_is_deleted_until_the_next_snapshot(
    nodes: Nodes, monkeypatch: pytest.MonkeyPatch
) -> None:
    home, other = await nodes(), await nodes()
    await write(home, 13, frames(1, 3))
    await home.writer.flush()
    monkeypatch.setattr(redis_writer, "MAX_QUEUED_COMMANDS", 4)
    after = [(seq, b"frame %d" % seq) for seq in range(4, 13)]
    await write(home, 13, after, first_resets=False)
    # 18 commands offered while the writer could not run: the queue took 4, never more than twice that
    assert len(home.writer._queue) <= 8
    assert home.writer.lost_log_writes >= 1 and home.writer.dropped_publishes >= 1
    assert await home.log_read(13) == [*frames(1, 3), *after]
    monkeypatch.undo()  # Redis keeps up again
    await home.writer.flush()
    assert await other.log_read(13) == []  # a log with a hole is never left for a new home to resume from
    await write(home, 13, frames(13, 2)[1:], first_resets=False)
    await home.writer.flush()
    assert await other.log_read(13) == []  # frames after the hole are not written ...
    await write(home, 13, frames(20, 3))  # ... until a snapshot starts the log again
    await home.writer.flush()
    assert await other.log_read(13) == frames(20, 3)
    assert await home.log_read(13) == frames(20, 3)


async def test_a_failed_write_deletes_the_session_log_once_redis_is_back(nodes: Nodes) -> None:
    home, other = await nodes(), await nodes()
    await write(home, 14, frames(1, 3))
    await home.writer.flush()
    assert await other.log_read(14) == frames(1, 3)
    good_connect = home.writer._connect
    home.writer._connect = lambda: home._redis.connection_pool.connection_class(port=1)  # type: ignore[method-assign]
    await home.writer._disconnect()
    await write(home, 14, [(4, b"frame 4")], first_resets=False)
    await eventually(lambda: home.writer.lost_log_writes >= 1, "the write fails")
    home.writer._connect = good_connect  # type: ignore[method-assign]
    await eventually(lambda: home.writer._done == home.writer._pushed, "the deletion is retried and written")
    assert await other.log_read(14) == []
    assert await home.log_read(14) == [*frames(1, 3), (4, b"frame 4")]  # the home's copy is whole
    await write(home, 14, frames(5, 2))
    await home.writer.flush()
    assert await other.log_read(14) == frames(5, 2)


async def test_disconnect_writes_what_is_queued(nodes: Nodes, redis_url: str) -> None:
    home, other = await nodes(), await nodes()
    await write(home, 15, frames(1, 20))
    await home.disconnect()
    assert await other.log_read(15) == frames(1, 20)
