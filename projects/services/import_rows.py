"""Where an import's writer takes the file's rows from, in batches.

- `ReadAhead` (PostgreSQL): the file is read on a thread while the caller's thread writes the
  batches read so far in its transaction, so the parsing (Python's CPU) and the COPY (the
  server's) overlap. Only the caller's thread touches the database: a reader that needs it
  (a GAEB bid asks for the current positions) has the call run there (`on_owner`). Meanwhile
  the process hands the GIL over more often (`quick_switches`).
- `Spool`: compact batches in a temporary file, for rows read before they are written (the
  embedded database, whose write lock would otherwise be held while the file is parsed) and for
  rows held back until the file shows whether it is a tender.
"""

import marshal
import queue
import sys
import tempfile
import threading
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import contextmanager
from itertools import islice
from typing import Any, TypeVar

SPOOL_MEMORY = 8 * 1024 * 1024
QUEUE_BATCHES = 8  # batches read ahead of the writer (over a COPY's worth); memory stays flat
_WAIT = 0.1  # seconds between looks at whether the other side gave up
# Seconds a thread may hold the GIL while another waits for it, as long as a read-ahead runs.
# At Python's default (5 ms) the server idles: each time psycopg has waited for a megabyte of a
# COPY to reach it, the writer waits for the parsing thread to give the GIL back before sending
# more. A 100,000-row import took a third longer with it (bench/README.md).
SWITCH_INTERVAL = 0.0001

T = TypeVar("T")


class Spool:
    """Batches of row tuples in a temporary file (in memory up to SPOOL_MEMORY)."""

    def __init__(self) -> None:
        self._file = tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY)
        self.count = 0

    def add(self, batch: list[tuple]) -> None:
        # marshal is the fastest serialiser of plain tuples. Length-prefixed: marshal.load on a
        # file reads it in tiny pieces, loads on bytes does not.
        data = marshal.dumps(batch)
        self._file.write(len(data).to_bytes(8, "little"))
        self._file.write(data)
        self.count += len(batch)

    def batches(self) -> Generator[list[tuple], None, None]:
        """The batches added so far, then the spool is empty again."""
        self._file.seek(0)
        while size := self._file.read(8):
            data = self._file.read(int.from_bytes(size, "little"))
            yield marshal.loads(data)  # noqa: S302 - our own spool, written just before
        self._file.seek(0)
        self._file.truncate()
        self.count = 0

    def close(self) -> None:
        self._file.close()


_switching = threading.Lock()
_switch_users = 0
_switch_default = 0.0


@contextmanager
def quick_switches() -> Iterator[None]:
    """The process's switch interval at SWITCH_INTERVAL until the last user leaves."""
    global _switch_users, _switch_default
    with _switching:
        if not _switch_users:
            _switch_default = sys.getswitchinterval()
            sys.setswitchinterval(SWITCH_INTERVAL)
        _switch_users += 1
    try:
        yield
    finally:
        with _switching:
            _switch_users -= 1
            if not _switch_users:
                sys.setswitchinterval(_switch_default)


class _Stopped(Exception):
    """The writer gave up (an error, a cancel): the reader unwinds."""


class ReadAhead:
    """Runs `produce` (an iterator of rows, given a progress callback) on a thread and hands its
    rows over in batches of `batch_size`; an exception of the reader is raised in the writer."""

    def __init__(
        self,
        produce: Callable[[Callable[[int, int], None]], Iterator[tuple]],
        *,
        batch_size: int,
    ) -> None:
        self._produce = produce
        self._batch_size = batch_size
        self._queue: queue.Queue = queue.Queue(maxsize=QUEUE_BATCHES)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="import-reader", daemon=True)
        self.read = (0, 1)  # the reader's progress: (done, total)

    def on_owner(self, function: Callable[[], T]) -> Callable[[], T]:
        """`function`, run on the writer's thread when the reader calls it."""

        def call() -> T:
            if threading.current_thread() is not self._thread:
                return function()
            result: Future = Future()
            self._put(("call", (function, result)))
            while True:
                try:
                    return result.result(timeout=_WAIT)
                except FutureTimeout:
                    if self._stop.is_set():
                        raise _Stopped from None

        return call

    def batches(self) -> Generator[list[tuple], None, None]:
        """The rows, batch by batch, as they are read; stops the reader when left early."""
        with quick_switches():
            yield from self._handed_over()

    def _handed_over(self) -> Generator[list[tuple], None, None]:
        self._thread.start()
        try:
            while True:
                kind, value = self._queue.get()
                if kind == "rows":
                    yield value
                elif kind == "call":
                    function, result = value
                    try:
                        result.set_result(function())
                    except Exception as exc:  # noqa: BLE001 - the reader's to handle
                        result.set_exception(exc)
                elif kind == "error":
                    raise value
                else:
                    return
        finally:
            self._stop.set()
            self._thread.join()

    def _progress(self, done: int, total: int) -> None:
        self.read = (done, total)
        if self._stop.is_set():
            raise _Stopped

    def _run(self) -> None:
        try:
            rows = iter(self._produce(self._progress))
            while batch := list(islice(rows, self._batch_size)):  # cut in C, not row by row
                self._put(("rows", batch))
            self._put(("done", None))
        except _Stopped:
            return
        except BaseException as exc:  # noqa: BLE001 - every failure goes to the writer
            try:
                self._put(("error", exc))
            except _Stopped:
                return

    def _put(self, item: tuple[str, Any]) -> None:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=_WAIT)
                return
            except queue.Full:
                continue
        raise _Stopped
