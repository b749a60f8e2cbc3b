"""The Redis broker's write-behind: the late-join log and the PUBLISHes for other nodes, off the hot path.

A visitor's frame is logged and delivered on its home node with no Redis round trip (the broker keeps the
log it writes in memory, see :mod:`.redis`). What other nodes need, the log in Redis and the PUBLISH, is
queued here and written by one task per node, on a connection of its own: it takes whatever is queued (in
order, up to ``MAX_BATCH_COMMANDS``), sends it as one pipelined write and reads the replies, so a busy node
pays one round trip per batch, not two per frame. A log entry followed by the PUBLISH of the same frame (the
runtime's ``log_append`` then ``publish_frame``) becomes one script call that sends the frame's bytes once.

Bound and overflow policy. The queue holds at most ``MAX_QUEUED_BYTES`` of frames and ``MAX_QUEUED_COMMANDS``
commands; :meth:`RedisWriter.push` never waits. Past the bound (Redis slow or away) a page-event PUBLISH is
dropped (other nodes' receivers see the gap in sequence numbers and resynchronise) and a log entry is *lost*:
the broker is told (``on_lost``), stops writing that session's log to Redis, deletes it there (so no node
ever resumes from a log with a hole) and writes it again from the session's next snapshot. The same happens to
every command of a batch that failed. Deletions and control messages (rare, small) are queued past the bound,
up to twice it; beyond that they are dropped too, and logged.

A failed batch (connection lost, timeout) closes the connection; the next batch reconnects after a pause of
50 ms doubling to 2 s, while the queue keeps its bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections import deque
from collections.abc import Callable
from typing import Any

from redis.asyncio.connection import AbstractConnection
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

log = logging.getLogger("cobrowse.broker")

MAX_QUEUED_BYTES = 32 * 1024 * 1024
MAX_QUEUED_COMMANDS = 50_000
#: Commands per pipelined write (a bigger backlog is written in several).
MAX_BATCH_COMMANDS = 2_000
#: How long a batch's replies may take before the connection is taken for dead (the batch is lost).
READ_TIMEOUT = 5.0
RECONNECT_FIRST_DELAY = 0.05
RECONNECT_MAX_DELAY = 2.0

#: Queued commands, as plain tuples (no object per frame):
#: (LOG, session, seq, frame, reset) | (PUBLISH, redis channel, header, frame, 0) | (DELETE, session, 0, b"", 0).
#: A PUBLISH's message is its header (origin, kind, seq) then the frame, sent without joining them.
LOG, PUBLISH, DELETE = 0, 1, 2
Command = tuple[int, Any, Any, bytes, Any]


def _bulk(out: list[bytes], *parts: bytes) -> None:
    """One RESP bulk string made of ``parts`` (written one after the other: a frame is never copied here)."""
    out.append(b"$%d\r\n" % sum(len(p) for p in parts))
    out.extend(parts)
    out.append(b"\r\n")


class RedisWriter:
    """A node's queue of Redis writes and the task that pipelines them (see the module's docstring).

    ``connect`` makes a fresh connection; ``log_args`` turns a session id into the log script's key and fixed
    arguments; ``on_lost(session, deleting)`` is called for each log write (``deleting``: a deletion of the
    log) that failed."""

    def __init__(
        self,
        connect: Callable[[], AbstractConnection],
        log_script: tuple[bytes, str],
        log_key: Callable[[int], bytes],
        log_bounds: tuple[int, int],
        on_lost: Callable[[int, bool], None],
    ) -> None:
        self._connect = connect
        self._script_sha, self._script = log_script
        self._log_key = log_key
        max_entries, ttl_ms = (b"%d" % n for n in log_bounds)
        #: The end of every log command: the frame's CRLF, then the max entries and ttl arguments.
        self._log_tail = b"\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (
            len(max_entries),
            max_entries,
            len(ttl_ms),
            ttl_ms,
        )
        self._on_lost = on_lost
        self._queue: deque[Command] = deque()
        self._queued_bytes = 0
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._conn: AbstractConnection | None = None
        self._closing = False
        self._pushed = 0  # commands ever queued
        self._done = 0  # commands ever written or given up
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []
        #: What the bound and failures cost (for logs, metrics and tests).
        self.dropped_publishes = 0
        self.lost_log_writes = 0
        self.batches = 0

    # ---- the hot path ---------------------------------------------------------------------------------

    def push(self, command: Command, size: int, bounded: bool = True) -> bool:
        """Queue ``command`` (``size`` bytes of frame) unless that passes the bound; False if it was not
        queued (the caller applies the overflow policy). ``bounded=False``: twice the bound."""
        limit = 1 if bounded else 2
        if (
            len(self._queue) >= limit * MAX_QUEUED_COMMANDS
            or self._queued_bytes + size > limit * MAX_QUEUED_BYTES
        ):
            return False
        self._queue.append(command)
        self._queued_bytes += size
        self._pushed += 1
        if self._task is None and not self._closing:
            self._task = asyncio.create_task(self._write_forever(), name="cobrowse-redis-writer")
        self._wake.set()
        return True

    async def flush(self) -> None:
        """Return once everything queued before this call was written (or given up)."""
        target = self._pushed
        if self._done >= target:
            return
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append((target, waiter))
        await waiter

    async def close(self, flush_seconds: float) -> None:
        """Write what is queued (for at most ``flush_seconds``), then stop."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.flush(), flush_seconds)
        self._closing = True
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self._disconnect()
        for _, waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)

    # ---- the writer task ------------------------------------------------------------------------------

    async def _write_forever(self) -> None:
        delay = RECONNECT_FIRST_DELAY
        while not self._closing:
            if not self._queue:
                self._wake.clear()
                await self._wake.wait()
                continue
            batch = [self._queue.popleft() for _ in range(min(len(self._queue), MAX_BATCH_COMMANDS))]
            self._queued_bytes -= sum(len(c[3]) for c in batch)
            try:
                await self._write(batch)
                delay = RECONNECT_FIRST_DELAY
            except Exception as exc:  # Redis errors, and anything else: the task must go on writing
                log.warning(
                    "Redis writes failed (%s): %d commands lost; retrying in %.2f s",
                    exc,
                    len(batch),
                    delay,
                    exc_info=not isinstance(exc, RedisError | OSError),
                )
                await self._disconnect()
                for command in batch:
                    self._lose(command)
                self._finished(len(batch))
                await asyncio.sleep(delay * random.uniform(0.5, 1.0))
                delay = min(2 * delay, RECONNECT_MAX_DELAY)
                continue
            self._finished(len(batch))

    def _finished(self, count: int) -> None:
        self._done += count
        self.batches += 1
        if self._waiters:
            waiting = []
            for target, waiter in self._waiters:
                if target <= self._done:
                    if not waiter.done():
                        waiter.set_result(None)
                else:
                    waiting.append((target, waiter))
            self._waiters = waiting

    def _lose(self, command: Command) -> None:
        if command[0] == PUBLISH:
            self.dropped_publishes += 1
        else:
            self.lost_log_writes += 1
            self._on_lost(command[1], command[0] == DELETE)

    async def _write(self, batch: list[Command]) -> None:
        conn = self._conn
        if conn is None or not conn.is_connected:
            conn = self._connect()
            await conn.connect()  # type: ignore[no-untyped-call]
            await conn.send_command(b"SCRIPT", b"LOAD", self._script, check_health=False)
            await conn.read_response()
            self._conn = conn
        out: list[bytes] = []
        sent: list[list[Command]] = []  # the queued commands behind each command sent (one or two)
        i, n = 0, len(batch)
        while i < n:
            command = batch[i]
            op = command[0]
            if op == LOG:
                after = batch[i + 1] if i + 1 < n else None
                merged = after is not None and after[0] == PUBLISH and after[3] is command[3]
                self._pack_log(out, command, after if merged else None)
                sent.append([command, after] if merged and after is not None else [command])
                i += 2 if merged else 1
                continue
            if op == PUBLISH:
                out.append(b"*3\r\n$7\r\nPUBLISH\r\n")
                _bulk(out, command[1])
                _bulk(out, command[2], command[3])
            else:
                out.append(b"*2\r\n$3\r\nDEL\r\n")
                _bulk(out, self._log_key(command[1]))
            sent.append([command])
            i += 1
        await conn.send_packed_command(out, check_health=False)
        for index, error in await _read_replies(conn, len(sent)):
            log.warning("a Redis write failed: %s", error.decode(errors="replace"))
            for command in sent[index]:  # this command failed, the others stand
                self._lose(command)
            if error.startswith(b"-NOSCRIPT"):  # the script cache was flushed: reconnecting loads it again
                await self._disconnect()

    def _pack_log(self, out: list[bytes], log_command: Command, publish: Command | None) -> None:
        """EVALSHA of the log script: the entry, and the PUBLISH of the same frame when one follows it.
        Formatted in three pieces (head, frame, tail): the frame is never copied."""
        _, session, seq, frame, reset = log_command
        key = self._log_key(session)
        seq_text = b"%d" % seq
        out.append(
            b"*%d\r\n$7\r\nEVALSHA\r\n$%d\r\n%s\r\n$1\r\n1\r\n$%d\r\n%s\r\n$1\r\n%s\r\n$%d\r\n%s\r\n$%d\r\n"
            % (
                9 if publish is None else 11,
                len(self._script_sha),
                self._script_sha,
                len(key),
                key,
                b"1" if reset else b"0",
                len(seq_text),
                seq_text,
                len(frame),
            )
        )
        out.append(frame)
        if publish is None:
            out.append(self._log_tail)
        else:
            channel, header = publish[1], publish[2]
            out.append(
                b"%s$%d\r\n%s\r\n$%d\r\n%s\r\n" % (self._log_tail, len(channel), channel, len(header), header)
            )

    async def _disconnect(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.disconnect(nowait=True)


async def _read_replies(conn: AbstractConnection, count: int) -> list[tuple[int, bytes]]:
    """Read the replies to ``count`` commands that each answer with one line (an integer, or an error);
    return the errors as (command index, line). Read straight from the connection's stream in large chunks:
    redis-py's parser costs tens of microseconds a reply, more than the write itself. Any other reply means
    the connection is out of step: it raises, and the caller closes it."""
    stream = conn._reader
    if stream is None:
        raise RedisConnectionError("the writer's connection is closed")
    errors: list[tuple[int, bytes]] = []
    index = 0
    pending = b""
    async with asyncio.timeout(READ_TIMEOUT):
        while index < count:
            chunk = await stream.read(1 << 16)
            if not chunk:
                raise RedisConnectionError("Redis closed the writer's connection")
            lines = (pending + chunk).split(b"\r\n")
            pending = lines.pop()
            for line in lines:
                if line[:1] == b"-":
                    errors.append((index, line))
                elif line[:1] != b":":
                    raise RedisConnectionError(f"unexpected reply to a write: {line[:40]!r}")
                index += 1
    if index != count or pending:
        raise RedisConnectionError("more replies than writes")
    return errors
