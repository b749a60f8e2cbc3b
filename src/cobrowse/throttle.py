"""Slowing down password guessing: failed logins counted per username and per client address.

After ``limit`` failures within ``window`` seconds, further attempts for that username (or from that address)
are refused with HTTP 429 and a ``Retry-After`` until the oldest failure leaves the window, whether or not
the password would be right, so a guesser learns nothing while blocked. A success clears the username's
count. State is in memory per server process, bounded: at most ``max_keys`` usernames and addresses are
tracked (overflow policy: the least recently failed key is forgotten first).
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable

USER_LIMIT = 5
IP_LIMIT = 20
WINDOW = 15 * 60.0
MAX_KEYS = 10_000


class LoginThrottle:
    def __init__(
        self,
        user_limit: int = USER_LIMIT,
        ip_limit: int = IP_LIMIT,
        window: float = WINDOW,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = MAX_KEYS,
    ) -> None:
        self.user_limit = user_limit
        self.ip_limit = ip_limit
        self.window = window
        self.clock = clock
        self.max_keys = max_keys
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures.get(key)
        if times is None:
            return deque()
        while times and times[0] <= now - self.window:
            times.popleft()
        if not times:
            del self._failures[key]
        return times

    def _keys(self, username: str | None, address: str) -> list[tuple[str, int]]:
        keys = [(f"ip:{address}", self.ip_limit)]
        if username is not None:
            keys.append((f"user:{username.lower()}", self.user_limit))
        return keys

    def retry_after(self, username: str | None, address: str) -> int | None:
        """Seconds to wait before another attempt (of ``username``, None: any), or None if one may be made."""
        now = self.clock()
        waits = []
        for key, limit in self._keys(username, address):
            times = self._recent(key, now)
            if len(times) >= limit:
                waits.append(times[-limit] + self.window - now)
        return max(1, math.ceil(max(waits))) if waits else None

    def failed(self, username: str | None, address: str) -> None:
        now = self.clock()
        for key, _ in self._keys(username, address):
            times = self._recent(key, now)
            times.append(now)
            while len(times) > max(self.user_limit, self.ip_limit):
                times.popleft()
            self._failures[key] = times
            self._failures.move_to_end(key)
        while len(self._failures) > self.max_keys:
            self._failures.popitem(last=False)

    def succeeded(self, username: str) -> None:
        self._failures.pop(f"user:{username.lower()}", None)
