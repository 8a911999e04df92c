"""A per-process map of short-lived entries, for reads that every API request makes."""

import time
from collections.abc import Hashable
from typing import Any

from django.conf import settings

# Beyond this many entries the map starts over, so a stream of distinct keys cannot grow it.
MAX_ENTRIES = 10_000


class ProcessCache:
    """Entries live `settings.API_CACHE_SECONDS` (0 turns the cache off). Whoever keeps a cache
    must drop what a write changes: see tenants.caches."""

    def __init__(self) -> None:
        self._entries: dict[Hashable, tuple[float, Any]] = {}

    def get(self, key: Hashable) -> Any | None:
        entry = self._entries.get(key)
        if entry is None or entry[0] <= time.monotonic():
            return None
        return entry[1]

    def set(self, key: Hashable, value: Any) -> None:
        seconds = settings.API_CACHE_SECONDS
        if seconds <= 0:
            return
        if len(self._entries) >= MAX_ENTRIES:
            self._entries.clear()
        self._entries[key] = (time.monotonic() + seconds, value)

    def pop(self, key: Hashable) -> None:
        self._entries.pop(key, None)

    def clear(self) -> None:
        self._entries.clear()
