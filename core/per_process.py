"""Objects made once per process, for the threads and event loops a process keeps running."""

import functools
import os
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def per_process(make: Callable[[], T]) -> Callable[[], T]:
    """`make()`'s result, made on the first call in each process: a forked process (a prefork
    worker) makes its own, since threads do not survive a fork."""
    lock = threading.Lock()
    made: tuple[int, T] | None = None

    @functools.wraps(make)
    def get() -> T:
        nonlocal made
        with lock:
            if made is None or made[0] != os.getpid():
                made = (os.getpid(), make())
            return made[1]

    return get
