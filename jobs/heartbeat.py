"""Proof that a running job's worker is alive, so the sweep never takes back a healthy job."""

import logging
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor

from django.conf import settings
from django.db import DatabaseError, close_old_connections, connections
from django.utils import timezone

from core.per_process import per_process
from jobs import live
from jobs.models import Job
from jobs.progress import Progress

logger = logging.getLogger(__name__)


class Heartbeat:
    """While it is entered, the run of `progress.job` beats every JOBS_HEARTBEAT_SECONDS: into the
    cache, and into `Job.heartbeat_at` (with the latest percent and step).

    One thread per process beats for every run in it, and hands the database writes to another
    thread with its own connection: the handler may hold one transaction for minutes (an import)
    or compute without reporting, and neither may stop the beat. Where the database takes no
    second writer meanwhile (SQLite), the database writes wait for the handler's transaction while
    the cache beats go on. A run starts no thread of its own: a thread's start waits for the new
    thread to be scheduled, before every job."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.job_id = progress.job.pk
        self.attempt = progress.job.attempts

    def __enter__(self) -> "Heartbeat":
        _beater().add(self)
        return self

    def __exit__(self, *exc_info: object) -> None:
        _beater().remove(self)

    def write_database(self) -> None:
        """Only while this run still owns the job: a run the sweep took back writes nothing."""
        Job.objects.filter(pk=self.job_id, status=Job.Status.RUNNING, attempts=self.attempt).update(
            heartbeat_at=timezone.now(), progress=self.progress.percent, step=self.progress.step
        )


class _Beater:
    """The process's heartbeat thread and its database writer. Each run beats first one period
    after it was added, then every period."""

    def __init__(self) -> None:
        self._due: dict[Heartbeat, float] = {}  # monotonic time of each run's next beat
        self._changed = threading.Condition()
        # Each run's latest database write, and whether the writer holds a connection.
        self._writing: dict[Heartbeat, Future] = {}
        self._connected = False
        self._wake_at = 0.0  # when the thread's current sleep ends
        self._database = ThreadPoolExecutor(max_workers=1, thread_name_prefix="heartbeat-db")
        threading.Thread(target=self._run, name="heartbeat", daemon=True).start()

    def add(self, heartbeat: Heartbeat) -> None:
        with self._changed:
            due = self._due[heartbeat] = time.monotonic() + settings.JOBS_HEARTBEAT_SECONDS
            # Wake the thread only if it would sleep past this run's first beat (never while the
            # period stays the same): a woken thread competes with the job that is starting.
            if due < self._wake_at:
                self._changed.notify()

    def remove(self, heartbeat: Heartbeat) -> None:
        with self._changed:
            self._due.pop(heartbeat, None)
            if not self._due:
                self._changed.notify()  # to let go of the writer's connection

    def _run(self) -> None:
        while True:
            with self._changed:
                while not (due := self._take_due()):
                    if not self._due and self._connected:
                        # No run left: the writer lets go of its connection until one comes.
                        self._database.submit(connections.close_all)
                        self._connected = False
                    now = time.monotonic()
                    period = settings.JOBS_HEARTBEAT_SECONDS
                    self._wake_at = min(self._due.values(), default=now + period)
                    self._changed.wait(timeout=self._wake_at - now)
                self._writing = {h: f for h, f in self._writing.items() if h in self._due}
            for heartbeat in due:
                live.heartbeat_set(job_id=heartbeat.job_id, attempt=heartbeat.attempt)
                writing = self._writing.get(heartbeat)
                if writing is None or writing.done():
                    self._writing[heartbeat] = self._database.submit(_write, heartbeat)
                    self._connected = True

    def _take_due(self) -> list[Heartbeat]:
        """The runs due to beat now, each then due again one period later."""
        now = time.monotonic()
        due = [heartbeat for heartbeat, at in self._due.items() if at <= now]
        for heartbeat in due:
            self._due[heartbeat] = now + settings.JOBS_HEARTBEAT_SECONDS
        return due


def _write(heartbeat: Heartbeat) -> None:
    # This thread's connection outlives any request: drop it when it broke, as between requests.
    close_old_connections()
    try:
        heartbeat.write_database()
    except DatabaseError as exc:
        logger.info("job %s: heartbeat not written to the database: %s", heartbeat.job_id, exc)


# One per process beats for every run in it.
_beater = per_process(_Beater)
