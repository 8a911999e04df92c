"""Where an import's writer takes the file's rows from, in batches.

- `ReadAhead` (PostgreSQL): batches of rows are taken on a thread (from the process parsing the
  file, `import_process`) while the caller's thread writes the batches taken so far in its
  transaction. Only the caller's thread touches the database: a reader that needs it (a GAEB
  bid asks for the current positions) has the call run there (`on_owner`).
- `Spool`: compact batches in a temporary file, for rows read before they are written (the
  embedded database, whose write lock would otherwise be held while the file is parsed) and for
  rows held back until the file shows whether it is a tender.
"""

import marshal
import queue
import tempfile
import threading
from collections.abc import Callable, Generator
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import closing
from typing import Any, TypeVar

SPOOL_MEMORY = 8 * 1024 * 1024
QUEUE_BATCHES = 8  # batches read ahead of the writer (over a COPY's worth); memory stays flat
_WAIT = 0.1  # seconds between looks at whether the other side gave up

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


class _Stopped(Exception):
    """The writer gave up (an error, a cancel): the reader unwinds."""


class ReadAhead:
    """Runs `produce` (a generator of batches of rows, given a progress callback) on a thread and
    hands the batches over; an exception of the reader is raised in the writer."""

    def __init__(
        self, produce: Callable[[Callable[[int, int], None]], Generator[list[tuple], None, None]]
    ) -> None:
        self._produce = produce
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
            # Closed however the reading ends: a reader in another process is stopped with it.
            with closing(self._produce(self._progress)) as batches:
                for batch in batches:
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
