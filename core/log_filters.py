"""Logging filters."""

import logging
import threading
import time


class AtMostEvery(logging.Filter):
    """Lets a logger's records through at most once every `seconds`; the next one let through
    says how many were held back. For a logger that reports every call during an outage (django-
    redis logs each cache call while Redis is down): the outage is told, the log not flooded."""

    def __init__(self, seconds: float) -> None:
        super().__init__()
        self.seconds = seconds
        self._lock = threading.Lock()
        self._next_at = float("-inf")
        self._held_back = 0

    def filter(self, record: logging.LogRecord) -> bool:
        now = time.monotonic()
        with self._lock:
            if now < self._next_at:
                self._held_back += 1
                return False
            self._next_at = now + self.seconds
            held_back, self._held_back = self._held_back, 0
        if held_back:
            record.msg = f"{record.msg} (and {held_back} more like it not logged)"
        return True
