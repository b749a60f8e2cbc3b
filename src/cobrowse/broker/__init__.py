"""Pub/sub between server nodes, chosen by URL: ``memory://`` (one node) or, later, ``redis://``."""

from __future__ import annotations

from .base import Broker, Kind, Listener, Listening, Overflow, Subscription, channel_for, pack, unpack
from .memory import MemoryBroker

__all__ = [
    "Broker",
    "Kind",
    "Listener",
    "Listening",
    "MemoryBroker",
    "Overflow",
    "Subscription",
    "channel_for",
    "create_broker",
    "pack",
    "unpack",
]


def create_broker(url: str) -> Broker:
    """Return the broker for ``url``; raise ValueError naming the supported schemes otherwise."""
    if url.startswith("memory://"):
        return MemoryBroker()
    if url.startswith(("redis://", "rediss://")):
        raise ValueError("the Redis broker is not available yet in this version; use memory://")
    raise ValueError(f"unsupported broker URL {url!r}: use memory://")
