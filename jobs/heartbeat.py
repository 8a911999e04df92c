"""Proof that a running job's worker is alive, so the sweep never takes back a healthy job."""

import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor

from django.conf import settings
from django.db import DatabaseError, connections
from django.utils import timezone

from jobs import live
from jobs.models import Job
from jobs.progress import Progress

logger = logging.getLogger(__name__)


class Heartbeat:
    """Beats every JOBS_HEARTBEAT_SECONDS from its own thread: into the cache, and into
    `Job.heartbeat_at` (with the latest percent and step) through another thread's own connection.

    Threads, because the handler may hold one transaction for minutes (an import) or compute
    without reporting, and neither may stop the beat. Where the database takes no second writer
    meanwhile (SQLite), the database write waits for the handler's transaction while the cache
    beat goes on."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.job_id = progress.job.pk
        self.attempt = progress.job.attempts
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"heartbeat-{self.job_id}", daemon=True
        )

    def __enter__(self) -> "Heartbeat":
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(timeout=1)

    def _run(self) -> None:
        database = ThreadPoolExecutor(
            max_workers=1, thread_name_prefix=f"heartbeat-db-{self.job_id}"
        )
        writing: Future | None = None
        try:
            while not self._stop.wait(settings.JOBS_HEARTBEAT_SECONDS):
                live.heartbeat_set(job_id=self.job_id, attempt=self.attempt)
                if writing is None or writing.done():
                    writing = database.submit(self._write_database)
        finally:
            database.submit(connections.close_all)  # that thread's own connection
            database.shutdown(wait=False)

    def _write_database(self) -> None:
        """Only while this run still owns the job: a run the sweep took back writes nothing."""
        try:
            Job.objects.filter(
                pk=self.job_id, status=Job.Status.RUNNING, attempts=self.attempt
            ).update(
                heartbeat_at=timezone.now(), progress=self.progress.percent, step=self.progress.step
            )
        except DatabaseError as exc:
            logger.info("job %s: heartbeat not written to the database: %s", self.job_id, exc)
