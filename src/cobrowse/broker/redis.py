"""The Redis broker (``redis://``, ``rediss://``, ``redis+sentinel://``): many server nodes share sessions.

Channels. Each session channel is one Redis channel (``<prefix>:ch:{<session>}:agents``; never a global
channel that every node must decode). Most traffic has its publisher and listeners on one node (the cluster's
routing tunnels every connection of a session to its home node), so a publish is delivered to this node's
receivers directly, exactly as the in-memory broker does, and PUBLISHed to Redis for the other nodes only,
behind the hot path: queued for this node's writer task (:mod:`.redis_writer`, bounded, pipelined).

The log. The node that writes a session's log (its home) keeps it in memory as well, from the session's
snapshot on, and serves ``log_read`` from there: an agent joining reads exactly what was published before it
listened, with no round trip. The Redis copy (a Stream) is written behind, in order, by the writer; it is what
a node that did not write the log reads (after a failover: this node's own queued writes are flushed first).
If the node dies, Redis lacks at most the writes still queued (milliseconds of frames; past the writer's
bound, the session's Redis log is deleted and restarts at its next snapshot): the page resends what the new
home never saw (protocol.continuity.resume_from_log).
Each message starts with this broker's random origin id; a node drops what it published itself. A node
SUBSCRIBEs to a Redis channel only while it has local receivers for it, on one shared pub/sub connection per
node whose reader task delivers remote messages to local listeners and (bounded) subscriptions.

Connection loss. The reader reconnects with backoff (50 ms doubling to 2 s) and subscribes again to every
channel with local receivers; what other nodes published during the gap is lost to this node's receivers
(agents see the sequence gap and resynchronise from the log). A pub/sub connection silent for
``KEEPALIVE_SECONDS`` x 3 despite its PINGs is taken for dead. The key, home and node calls raise the client's
exception (after one immediate retry on a fresh connection); publishing and logging never wait for Redis.

Keys, with a hash tag per session so that a Redis Cluster keeps a session's keys on one slot:
``<prefix>:log:{<id>}`` (the late-join log, a Stream), ``<prefix>:home:{<id>}``, ``<prefix>:key:<group>:<key>``
(a key claim), ``<prefix>:node:<node>`` (a heartbeat). See docs/scaling.md, "The Redis broker".
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import math
import os
import random
import re
import time
from typing import Any
from urllib.parse import unquote, urlsplit

import redis.asyncio as aioredis
from redis.asyncio.connection import AbstractConnection
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from .base import Kind
from .local import LocalDelivery
from .redis_writer import DELETE, LOG, PUBLISH, RedisWriter
from .scripts import CLAIM_HOME, CLAIM_KEY, COMPARE_AND_DELETE, HOME_OF, LOG_APPEND

log = logging.getLogger("cobrowse.broker")

#: Second safety net of a session's log, in entries (XADD MAXLEN ~): SessionCore bounds it by bytes first
#: (a fresh snapshot is asked for past 8 MB), which at realistic frames is a few thousand entries. Past this
#: bound the oldest entries, the snapshot first, are trimmed.
LOG_MAX_ENTRIES = 100_000
#: A session's log expires this long after its last write, so a dead cluster leaves no log behind for ever.
LOG_TTL_SECONDS = 12 * 3600
#: How long ``subscribe``/``listen`` wait for Redis to confirm the SUBSCRIBE before raising.
SUBSCRIBE_TIMEOUT = 5.0
RECONNECT_FIRST_DELAY = 0.05
RECONNECT_MAX_DELAY = 2.0
KEEPALIVE_SECONDS = 15.0
ORIGIN_BYTES = 8
#: How long ``disconnect`` waits for the writer to write what is queued.
FLUSH_ON_CLOSE_SECONDS = 5.0

_SESSION_CHANNEL = re.compile(r"session:(\d+)(.*)", re.DOTALL)


def client_for(url: str) -> aioredis.Redis:
    """A client (and its pool) for ``url``: ``redis://`` and ``rediss://`` (TLS) through ``from_url``;
    ``redis+sentinel://[:password@]host:port[,host:port...]/service_name[/db]`` through Sentinel."""
    options: dict[str, Any] = {
        "socket_timeout": 5.0,
        "socket_connect_timeout": 2.0,
        "retry": Retry(NoBackoff(), 1),  # one immediate retry: a pooled connection may predate a restart
        "decode_responses": False,
    }
    if url.startswith("redis+sentinel://"):
        parts = urlsplit(url)
        hosts = parts.netloc.rpartition("@")[2]
        sentinels = []
        for host in hosts.split(","):
            name, _, port = host.rpartition(":")
            sentinels.append((name or port, int(port) if name else 26379))
        path = [p for p in parts.path.split("/") if p]
        if not path:
            raise ValueError(f"broker URL {url!r} needs the Sentinel service name: redis+sentinel://h:p/name")
        if len(path) > 1:
            options["db"] = int(path[1])
        if parts.password:
            options["password"] = unquote(parts.password)
        sentinel = Sentinel(sentinels, socket_timeout=2.0)  # type: ignore[no-untyped-call]
        client: aioredis.Redis = sentinel.master_for(path[0], **options)
        return client
    return aioredis.Redis.from_url(url, **options)


class _Mirror:
    """This node's copy of a log it writes: two lists, like the in-memory broker's log (ints and bytes are
    not tracked by the garbage collector; a tuple per frame would be)."""

    __slots__ = ("frames", "seqs")

    def __init__(self) -> None:
        self.seqs: list[int] = []
        self.frames: list[bytes] = []


class RedisBroker(LocalDelivery):
    """A node's broker on a shared Redis. ``prefix`` starts every key and channel name (several
    deployments, or tests, may share one Redis)."""

    def __init__(self, url: str, *, prefix: str = "cobrowse") -> None:
        super().__init__()
        self.url = url
        self._prefix = prefix
        self._redis = client_for(url)
        self._origin = os.urandom(ORIGIN_BYTES)
        self._claim_key = self._redis.register_script(CLAIM_KEY)
        self._compare_and_delete = self._redis.register_script(COMPARE_AND_DELETE)
        self._claim_home = self._redis.register_script(CLAIM_HOME)
        self._home_of = self._redis.register_script(HOME_OF)
        # ---- the pub/sub connection and what it is subscribed to
        self._reader: asyncio.Task[None] | None = None
        self._conn: AbstractConnection | None = None  # while it is up
        self._last_heard = 0.0
        self._closing = False
        #: Redis channel -> local channel, for every channel with local receivers.
        self._channels: dict[bytes, str] = {}
        #: Redis channel -> SUBSCRIBE commands sent on the current connection and not yet confirmed.
        self._unconfirmed: dict[bytes, int] = {}
        #: Redis channel -> resolved once Redis confirmed the subscription (new receivers wait on it).
        self._confirmed: dict[bytes, asyncio.Future[None]] = {}
        #: How often the pub/sub connection was re-established (for logs, metrics and tests).
        self.reconnects = 0
        # ---- the log: this node's copies, and the writes behind (see the module's docstring)
        self._mirrors: dict[int, _Mirror] = {}
        #: Sessions whose Redis log lost a write: not written again until their next snapshot.
        self._gapped: set[int] = set()
        self.writer = RedisWriter(
            self._redis.connection_pool.make_connection,  # type: ignore[arg-type]
            (hashlib.sha1(LOG_APPEND.encode()).hexdigest().encode(), LOG_APPEND),
            lambda session_id: self._log_key(session_id).encode(),
            (LOG_MAX_ENTRIES, LOG_TTL_SECONDS * 1000),
            self._log_lost,
        )

    # ---- names ----------------------------------------------------------------------------------------

    def redis_channel(self, channel: str) -> bytes:
        """``session:5:agents`` -> ``<prefix>:ch:{5}:agents`` (the session id as the Cluster hash tag)."""
        match = _SESSION_CHANNEL.fullmatch(channel)
        tail = f"{{{match[1]}}}{match[2]}" if match else channel
        return f"{self._prefix}:ch:{tail}".encode()

    def _log_key(self, session_id: int) -> str:
        return f"{self._prefix}:log:{{{session_id}}}"

    def _home_key(self, session_id: int) -> str:
        return f"{self._prefix}:home:{{{session_id}}}"

    def _claim(self, group_id: int, key: str) -> str:
        return f"{self._prefix}:key:{group_id}:{key}"

    def _node_key(self, node: str) -> str:
        return f"{self._prefix}:node:{node}"

    # ---- lifecycle ------------------------------------------------------------------------------------

    async def connect(self) -> None:
        """Check that Redis answers (a server started against a wrong URL fails here) and start the reader."""
        await self._redis.ping()
        self._ensure_reader()

    async def disconnect(self) -> None:
        await self.writer.close(FLUSH_ON_CLOSE_SECONDS)
        self._closing = True
        await self._close_local()
        for waiter in self._confirmed.values():
            if not waiter.done():
                waiter.set_result(None)
        self._channels.clear()
        self._confirmed.clear()
        reader, conn = self._reader, self._conn
        self._reader = None
        if reader is not None:
            reader.cancel()
            if conn is not None:  # ends a read that a swallowed cancellation left waiting
                with contextlib.suppress(Exception):
                    await conn.disconnect(nowait=True)
            await asyncio.wait({reader}, timeout=SUBSCRIBE_TIMEOUT)
            if not reader.done():
                log.warning("the Redis pub/sub reader did not stop")
        await self._redis.aclose()

    async def ping(self) -> None:
        await self._redis.ping()

    # ---- channels -------------------------------------------------------------------------------------

    async def publish(self, channel: str, payload: bytes) -> None:
        self._deliver_payload(channel, payload)
        if not self.writer.push(
            (PUBLISH, self.redis_channel(channel), self._origin, payload, 0), len(payload), False
        ):
            self.writer.dropped_publishes += 1
            log.error("Redis write queue full: a message on %s was not sent to other nodes", channel)

    async def publish_frame(self, channel: str, kind: Kind, seq: int, frame: bytes) -> None:
        """Deliver here, then queue the PUBLISH for other nodes. Overflow policy: a page-event frame past the
        writer's bound is not sent to other nodes (their receivers see the sequence gap and resynchronise);
        control messages are queued up to twice the bound."""
        await LocalDelivery.publish_frame(self, channel, kind, seq, frame)
        header = b"".join((self._origin, kind.value, seq.to_bytes(8, "big")))
        events = kind is Kind.EVENTS
        if not self.writer.push((PUBLISH, self.redis_channel(channel), header, frame, 0), len(frame), events):
            self.writer.dropped_publishes += 1
            if not events:
                log.error(
                    "Redis write queue full: a control message on %s was not sent to other nodes", channel
                )

    async def _receivers_changed(self, channel: str) -> None:
        if self._closing:
            return
        name = self.redis_channel(channel)
        if not self._has_receivers(channel):
            if self._channels.pop(name, None) is not None:
                waiter = self._confirmed.pop(name, None)
                if waiter is not None and not waiter.done():
                    waiter.set_result(None)
                await self._send(b"UNSUBSCRIBE", name)
            return
        if name not in self._channels:
            self._channels[name] = channel
            self._confirmed[name] = asyncio.get_running_loop().create_future()
            self._ensure_reader()
            if self._conn is not None:  # else the reader subscribes once it is connected
                self._unconfirmed[name] = self._unconfirmed.get(name, 0) + 1
                await self._send(b"SUBSCRIBE", name)
        waiter = self._confirmed.get(name)
        if waiter is not None:
            try:
                await asyncio.wait_for(asyncio.shield(waiter), SUBSCRIBE_TIMEOUT)
            except TimeoutError:
                raise RedisTimeoutError(
                    f"Redis did not confirm the subscription to {name.decode()} within {SUBSCRIBE_TIMEOUT:g} s"
                ) from None

    async def _send(self, *command: bytes) -> None:
        """A (UN)SUBSCRIBE on the pub/sub connection if it is up; if it fails, the reader reconnects and
        subscribes to what is wanted then."""
        conn = self._conn
        if conn is None or not conn.is_connected:
            return
        try:
            await conn.send_command(*command, check_health=False)
        except (RedisError, OSError) as exc:
            log.warning("could not send %s to Redis: %s", command[0].decode(), exc)

    def _ensure_reader(self) -> None:
        if self._reader is None and not self._closing:
            self._reader = asyncio.create_task(self._read_forever(), name="cobrowse-redis-pubsub")

    async def _read_forever(self) -> None:
        """The pub/sub connection's life: connect, subscribe to what is wanted, read until it fails, again.

        Not only cancellation ends it: redis-py may swallow a cancellation that arrives while it connects,
        so the loop also checks ``_closing``, and :meth:`disconnect` closes the connection under it."""
        delay = RECONNECT_FIRST_DELAY
        connected_before = False
        while not self._closing:
            conn = self._pubsub_connection()
            keepalive: asyncio.Task[None] | None = None
            try:
                await conn.connect()  # type: ignore[no-untyped-call]
                if self._closing:
                    break
                self._unconfirmed = dict.fromkeys(self._channels, 1)
                self._conn = conn
                self._last_heard = time.monotonic()
                if self._channels:
                    await conn.send_command(b"SUBSCRIBE", *self._channels, check_health=False)
                if connected_before:
                    self.reconnects += 1
                    log.info("Redis pub/sub connection re-established (%d channels)", len(self._channels))
                connected_before = True
                keepalive = asyncio.create_task(self._keep_alive(conn), name="cobrowse-redis-keepalive")
                while not self._closing:
                    response = await conn.read_response(timeout=math.inf, push_request=True)
                    self._last_heard = time.monotonic()
                    delay = RECONNECT_FIRST_DELAY
                    self._on_response(response)
            except (RedisError, OSError) as exc:
                if not self._closing:
                    log.warning("Redis pub/sub connection lost (%s); reconnecting in %.2f s", exc, delay)
            finally:
                self._conn = None
                if keepalive is not None:
                    keepalive.cancel()
                with contextlib.suppress(Exception):
                    await conn.disconnect(nowait=True)
            if not self._closing:
                await asyncio.sleep(delay * random.uniform(0.5, 1.0))
                delay = min(2 * delay, RECONNECT_MAX_DELAY)

    def _pubsub_connection(self) -> AbstractConnection:
        """A new connection of the client's pool, speaking RESP2: redis-py's RESP3 parser formats every push
        message into a debug log line (even when debug logging is off), which costs more than the message.
        (Without the pool's maintenance-notification options: redis-py supports them on RESP3 only.)"""
        pool = self._redis.connection_pool
        options = {k: v for k, v in pool.connection_kwargs.items() if not k.startswith("maint_notifications")}
        conn: AbstractConnection = pool.connection_class(**{**options, "protocol": 2})
        return conn

    async def _keep_alive(self, conn: AbstractConnection) -> None:
        """PING an idle pub/sub connection; close it when it stays silent for three rounds (a peer that
        vanished without a reset), which ends the reader's read and so reconnects."""
        while True:
            await asyncio.sleep(KEEPALIVE_SECONDS)
            silent = time.monotonic() - self._last_heard
            if silent >= 3 * KEEPALIVE_SECONDS:
                log.warning("Redis pub/sub connection silent for %.0f s; reconnecting", silent)
                await conn.disconnect(nowait=True)
                return
            if silent >= KEEPALIVE_SECONDS:
                with contextlib.suppress(RedisError, OSError):
                    await conn.send_command(b"PING", check_health=False)

    def _on_response(self, response: Any) -> None:
        if not isinstance(response, list) or not response:
            return  # the PONG of a connection not subscribed to anything
        kind = response[0]
        if kind == b"message":
            channel = self._channels.get(response[1])
            data: bytes = response[2]
            if channel is not None and data[:ORIGIN_BYTES] != self._origin:
                try:
                    self._deliver_remote(channel, data)
                except Exception:  # a foreign or truncated message must not stop the reader
                    log.exception("an undecodable message on %s", channel)
        elif kind == b"subscribe":
            name = response[1]
            left = self._unconfirmed.get(name, 0) - 1
            if left > 0:
                self._unconfirmed[name] = left
                return
            self._unconfirmed.pop(name, None)
            waiter = self._confirmed.pop(name, None)
            if waiter is not None and not waiter.done():
                waiter.set_result(None)

    def _deliver_remote(self, channel: str, data: bytes) -> None:
        """Another node's message (origin, kind, seq, frame) to this node's receivers, unpacked only as far
        as each kind of receiver needs."""
        subscribers = self._subscribers.get(channel)
        if subscribers:
            payload = data[ORIGIN_BYTES:]
            for sub in tuple(subscribers):
                sub._deliver(payload)
        listeners = self._listeners.get(channel)
        if listeners:
            kind = Kind(data[ORIGIN_BYTES : ORIGIN_BYTES + 1])
            seq = int.from_bytes(data[ORIGIN_BYTES + 1 : ORIGIN_BYTES + 9], "big")
            frame = data[ORIGIN_BYTES + 9 :]
            for listener in listeners:
                try:
                    listener.deliver(kind, seq, frame)
                except Exception:
                    log.exception("a listener failed")

    # ---- the late-join log ----------------------------------------------------------------------------

    async def log_append(self, session_id: int, seq: int, frame: bytes, reset: bool) -> None:
        """Append to this node's copy (from a snapshot on) and queue the Redis write; never waits."""
        mirror = self._mirrors.get(session_id)
        if reset:
            self._mirrors[session_id] = mirror = _Mirror()
        if mirror is not None:
            mirror.seqs.append(seq)
            mirror.frames.append(frame)
            if len(mirror.seqs) > LOG_MAX_ENTRIES + LOG_MAX_ENTRIES // 10:  # Redis trims near the bound too
                del mirror.seqs[:-LOG_MAX_ENTRIES], mirror.frames[:-LOG_MAX_ENTRIES]
        if not reset and session_id in self._gapped:
            return  # its Redis log restarts at the next snapshot
        if self.writer.push((LOG, session_id, seq, frame, reset), len(frame)):
            if reset:
                self._gapped.discard(session_id)
        else:
            self.writer.lost_log_writes += 1
            self._log_lost(session_id)

    def _log_lost(self, session_id: int, deleting: bool = False) -> None:
        """A write of the session's Redis log was dropped or failed: delete that log (a log with a hole must
        not be resumed from) and skip its writes until the next snapshot. This node's copy is complete.
        ``deleting``: the lost write was that deletion (Redis away), which is queued again."""
        if session_id in self._gapped and not deleting:
            return  # its deletion is queued already
        if not deleting:
            log.warning(
                "Redis writes fell behind: the Redis log of session %s restarts at its next snapshot",
                session_id,
            )
        self._gapped.add(session_id)
        if not self.writer.push((DELETE, session_id, 0, b"", 0), 0, False):
            log.error("Redis write queue full: the log of session %s could not be deleted", session_id)

    async def log_read(self, session_id: int) -> list[tuple[int, bytes]]:
        """From this node's copy if it writes the log; else from Redis, once this node's queued writes are."""
        mirror = self._mirrors.get(session_id)
        if mirror is not None:
            return list(zip(mirror.seqs, mirror.frames, strict=True))
        await self.writer.flush()
        entries: Any = await self._redis.xrange(self._log_key(session_id))
        return [(int(fields[b"s"]), fields[b"f"]) for _, fields in entries]

    async def log_drop(self, session_id: int) -> None:
        self._mirrors.pop(session_id, None)
        self._gapped.discard(session_id)
        if not self.writer.push((DELETE, session_id, 0, b"", 0), 0, False):
            log.error("Redis write queue full: the log of session %s could not be deleted", session_id)

    # ---- key claims -----------------------------------------------------------------------------------

    async def claim_key(self, group_id: int, key: str, holder: str) -> bool:
        return bool(await self._claim_key(keys=[self._claim(group_id, key)], args=[holder]))

    async def release_key(self, group_id: int, key: str, holder: str) -> None:
        await self._compare_and_delete(keys=[self._claim(group_id, key)], args=[holder])

    async def transfer_key(self, group_id: int, key: str, holder: str) -> None:
        await self._redis.set(self._claim(group_id, key), holder)

    # ---- nodes and homes ------------------------------------------------------------------------------

    async def heartbeat(self, node: str, url: str, ttl: float) -> None:
        await self._redis.set(self._node_key(node), url, px=max(1, math.ceil(ttl * 1000)))

    async def node_url(self, node: str) -> str | None:
        url: Any = await self._redis.get(self._node_key(node))
        return None if url is None else url.decode()

    async def claim_home(self, session_id: int, node: str) -> str:
        home: bytes = await self._claim_home(
            keys=[self._home_key(session_id)], args=[node, self._node_key("")]
        )
        return home.decode()

    async def home_of(self, session_id: int) -> str | None:
        home: bytes | None = await self._home_of(keys=[self._home_key(session_id)], args=[self._node_key("")])
        return None if home is None else home.decode()

    async def drop_home(self, session_id: int, node: str) -> None:
        await self._compare_and_delete(keys=[self._home_key(session_id)], args=[node])
