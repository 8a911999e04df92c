"""An import's file parsed in a process of its own (PostgreSQL, where `os.fork` exists).

Parsing is Python's CPU; so is the part of a COPY psycopg does. In one process they take turns
with one GIL; with the parsing in a forked child they run at once, on two cores (bench/README.md:
a 100,000-row CSV imported in 1.88 s instead of 2.12, a GAEB bid in 2.78 s instead of 3.34).

The child gets the file and the parsing code by the fork, and gives back, over a pipe, its rows
in batches (marshal, the rows are plain tuples) with its progress, then what it noted in the
import's report, or the exception that stopped it. It touches no connection of the parent's
(database, cache, broker, S3): the file must be read to a local file or to memory before the
fork, and a reader that needs the database (a GAEB bid asks for the current positions) has the
parent run the query and send the answer back. It leaves by `os._exit`, running none of the
parent's clean-up, and objects it inherited are frozen out of its garbage collector, so nothing
of the parent's is closed from the child.
"""

import gc
import marshal
import os
import pickle
import signal
import struct
import traceback
from collections.abc import Callable, Generator, Iterator
from itertools import islice
from typing import IO, Any

from projects.importers import ImportFailed

# What parses a file: given a progress callback and the current positions (asked for when
# needed), its stored rows.
Read = Callable[[Callable[[int, int], None], Callable[[], Any]], Iterator[tuple]]

_HEADER = struct.Struct("<cQ")  # a frame: its kind, then its length in bytes
_ROWS, _CALL, _FAILED, _DONE = b"r", b"c", b"e", b"d"
_PIPE_BUFFER = 1 << 20


class ReaderProcessDied(RuntimeError):
    """The reading process ended without saying why (killed, out of memory)."""


class _RemoteTraceback(Exception):
    """The child's traceback, as text: the cause of an exception it raised."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text

    def __str__(self) -> str:
        return self.text


def can_fork() -> bool:
    """Whether this system can read a file in a forked process (POSIX)."""
    return hasattr(os, "fork")


def batches_in_child(
    read: Read,
    *,
    carry: object,
    on_progress: Callable[[int, int], None],
    previous: Callable[[], Any],
    batch_size: int,
) -> Generator[list[tuple], None, None]:
    """The rows `read(on_progress, previous)` yields, in batches of `batch_size`, read in a
    forked child. `carry` (the import's report) gets the attributes the child's copy of it had
    when it finished or failed; `on_progress` hears the child's progress with each batch;
    `previous` is called here, in this process, when the child asks for it. Leaving the
    generator early kills the child; the child is reaped either way."""
    rows_out, rows_in = os.pipe()
    calls_out, calls_in = os.pipe()
    gc.freeze()  # the child's collector leaves alone what it inherits
    try:
        pid = os.fork()
    except OSError:
        gc.unfreeze()
        for end in (rows_out, rows_in, calls_out, calls_in):
            os.close(end)
        raise
    if pid == 0:
        os.close(rows_out)
        os.close(calls_in)
        _child(read, carry, rows_in=rows_in, calls_out=calls_out, batch_size=batch_size)
    gc.unfreeze()
    os.close(rows_in)
    os.close(calls_out)
    exited = False
    try:
        with (
            open(rows_out, "rb", buffering=_PIPE_BUFFER) as frames,
            open(calls_in, "wb") as replies,
        ):
            while True:
                kind, payload = _read_frame(frames)
                if kind == _ROWS:
                    done, total, batch = marshal.loads(payload)  # noqa: S302 - our child's
                    on_progress(done, total)
                    yield batch
                elif kind == _CALL:
                    _write_frame(replies, _CALL, pickle.dumps(_outcome(previous)))
                    replies.flush()
                elif kind == _DONE:
                    vars(carry).update(pickle.loads(payload))  # noqa: S301 - our child's
                    _reap(pid)
                    exited = True
                    return
                elif kind == _FAILED:
                    error, remote, state = pickle.loads(payload)  # noqa: S301 - our child's
                    vars(carry).update(state)
                    if remote:
                        error.__cause__ = _RemoteTraceback(remote)
                    raise error
                else:  # the pipe closed without a last word
                    status = _reap(pid)
                    exited = True
                    raise ReaderProcessDied(
                        f"the process reading the file ended unexpectedly ({_said(status)})"
                    )
    finally:
        if not exited:
            _kill(pid)


def _child(read: Read, carry: object, *, rows_in: int, calls_out: int, batch_size: int) -> None:
    """Run in the forked child: never returns."""
    code = 0
    try:
        # The parent's handlers (a worker's warm shutdown, a time limit) are not the child's.
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGUSR1, signal.SIGHUP):
            signal.signal(signum, signal.SIG_DFL)
        with (
            open(rows_in, "wb", buffering=_PIPE_BUFFER) as frames,
            open(calls_out, "rb") as replies,
        ):
            progress = [0, 1]

            def on_progress(done: int, total: int) -> None:
                progress[:] = done, total

            def previous() -> Any:
                _write_frame(frames, _CALL, b"")
                frames.flush()
                kind, payload = _read_frame(replies)
                if kind != _CALL:
                    raise ReaderProcessDied("the importing process went away")
                ok, value = pickle.loads(payload)  # noqa: S301 - our parent's
                if not ok:
                    raise value
                return value

            try:
                rows = iter(read(on_progress, previous))
                while batch := list(islice(rows, batch_size)):  # cut in C, not row by row
                    _write_frame(frames, _ROWS, marshal.dumps((*progress, batch)))
                _write_frame(frames, _DONE, pickle.dumps(vars(carry)))
            except BaseException as exc:  # noqa: BLE001 - every failure goes to the parent
                _write_frame(frames, _FAILED, _failure(exc, carry))
    except BaseException:  # noqa: BLE001 - the parent is gone; nobody to tell
        code = 1
    finally:
        os._exit(code)


def _failure(exc: BaseException, carry: object) -> bytes:
    """The child's exception as the parent will raise it, with the child's traceback (none for
    the import's own ImportFailed, which says all it has to say)."""
    remote = "" if isinstance(exc, ImportFailed) else "".join(traceback.format_exception(exc))
    try:
        data = pickle.dumps((exc, remote, vars(carry)))
        pickle.loads(data)  # noqa: S301 - what the parent will load, tried here
        return data
    except Exception:  # noqa: BLE001 - an exception that does not travel is named instead
        error = RuntimeError(f"reading the file failed: {type(exc).__name__}: {exc}")
        return pickle.dumps((error, remote, vars(carry)))


def _outcome(function: Callable[[], Any]) -> tuple[bool, Any]:
    try:
        return True, function()
    except Exception as exc:  # noqa: BLE001 - raised in the child, which asked
        return False, exc


def _write_frame(stream: IO[bytes], kind: bytes, payload: bytes) -> None:
    stream.write(_HEADER.pack(kind, len(payload)))
    stream.write(payload)


def _read_frame(stream: IO[bytes]) -> tuple[bytes, bytes]:
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        return b"", b""
    kind, size = _HEADER.unpack(header)
    payload = stream.read(size)
    if len(payload) < size:
        return b"", b""
    return kind, payload


def _reap(pid: int) -> int | None:
    """The child's wait status, once it has ended."""
    try:
        return os.waitpid(pid, 0)[1]
    except ChildProcessError:  # reaped already
        return None


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    _reap(pid)


def _said(status: int | None) -> str:
    if status is not None and os.WIFSIGNALED(status):
        return f"signal {os.WTERMSIG(status)}"
    if status is not None and os.WIFEXITED(status):
        return f"exit code {os.WEXITSTATUS(status)}"
    return "no status"
