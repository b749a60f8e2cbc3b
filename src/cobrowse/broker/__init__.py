"""Pub/sub between server nodes, chosen by URL: ``memory://`` (one node) or Redis (many nodes)."""

from __future__ import annotations

from .base import Broker, Kind, Listener, Listening, Overflow, Subscription, channel_for, pack, unpack
from .memory import MemoryBroker
from .redis import RedisBroker

__all__ = [
    "Broker",
    "Kind",
    "Listener",
    "Listening",
    "MemoryBroker",
    "Overflow",
    "RedisBroker",
    "Subscription",
    "channel_for",
    "create_broker",
    "pack",
    "unpack",
]


REDIS_SCHEMES = ("redis://", "rediss://", "redis+sentinel://")


def create_broker(url: str) -> Broker:
    """Return the broker for ``url``; raise ValueError naming the supported schemes otherwise.

    ``memory://``: this process only (one node). ``redis://`` and ``rediss://`` (TLS): a Redis server shared
    by every node. ``redis+sentinel://host:port[,host:port...]/service_name``: the master that Sentinel names.
    """
    if url.startswith("memory://"):
        return MemoryBroker()
    if url.startswith(REDIS_SCHEMES):
        return RedisBroker(url)
    raise ValueError(
        f"unsupported broker URL {url!r}: use memory://, redis://, rediss:// or redis+sentinel://"
    )
