"""Job kinds for tests. Imported by the tests and by the worker processes they start
(`celery worker -I tests.jobs.kinds`), so both know them."""

import os
import time

from django.db import connection, transaction

from jobs.errors import JobTransientError
from jobs.models import Job
from jobs.progress import Progress
from jobs.registry import job_kind
from projects.models import Project


@job_kind("test_writes_in_a_transaction")
def writes_in_a_transaction(job: Job, progress: Progress) -> dict:
    """Reports progress while holding a transaction, then fails if asked: nothing it wrote stays."""
    with transaction.atomic():
        for i in range(1, 4):
            Project.objects.create(tenant=job.tenant, name=f"written by job {i}")
            progress.update(i, 3, step=f"row {i}")
        if job.input.get("fail"):
            raise RuntimeError("disk on fire")
    return {"rows": 3}


@job_kind("test_chunks", direct=True)
def chunks(job: Job, progress: Progress) -> dict:
    """Writes one project per chunk, all in one transaction (like an import), checking for
    cancellation between chunks; `hold` seconds per chunk."""
    count, hold = job.input.get("chunks", 10), job.input.get("hold", 0.2)
    with transaction.atomic():
        for i in range(1, count + 1):
            progress.check_cancelled(interval=0)
            Project.objects.create(tenant=job.tenant, name=f"chunk {i} of {job.id}")
            progress.update(i, count, step=f"chunk {i}")
            time.sleep(hold)
    return {"chunks": count}


@job_kind("test_flaky")
def flaky(job: Job, progress: Progress) -> dict:
    """Fails with a transient error until attempt `succeed_at` (never, if absent)."""
    succeed_at = job.input.get("succeed_at")
    if succeed_at is None or job.attempts < succeed_at:
        raise JobTransientError("storage_timeout", f"Storage timed out (attempt {job.attempts}).")
    return {"attempts": job.attempts}


@job_kind("test_exclusive", exclusive=True, direct=True)
def exclusive(job: Job, progress: Progress) -> dict:
    """Like an import: one at a time per project."""
    progress.update(1, 1)
    return {}


@job_kind("test_returns")
def returns(job: Job, progress: Progress):
    """Returns whatever its input says (to test results that cannot be stored)."""
    return {"list": [1, 2], "set": {1, 2}}[job.input["what"]]


@job_kind("test_long_transaction")
def long_transaction(job: Job, progress: Progress) -> dict:
    """Holds one transaction for `hold` seconds without reporting anything (a big import)."""
    with transaction.atomic():
        Project.objects.create(tenant=job.tenant, name=f"held by {job.id}")
        time.sleep(job.input.get("hold", 3))
    return {}


@job_kind("test_times_out")
def times_out(job: Job, progress: Progress) -> dict:
    """What Celery's soft time limit does to a handler: raise inside it."""
    from celery.exceptions import SoftTimeLimitExceeded

    progress.update(1, 2)
    raise SoftTimeLimitExceeded


@job_kind("test_loses_its_job")
def loses_its_job(job: Job, progress: Progress) -> dict:
    """Mid-run, the sweep takes its job back (its heartbeat looked stale); then it reports."""
    Job.objects.filter(pk=job.pk).update(status=Job.Status.QUEUED)
    progress.update(1, 2)
    return {"should": "never be recorded"}


@job_kind("test_publishes_then_dies")
def publishes_then_dies(job: Job, progress: Progress) -> dict:
    """Reports inside a transaction, then its process dies (BaseException: nothing is cleaned up,
    as with SIGKILL)."""
    with transaction.atomic():
        progress.update(1, 3, step="one")
        progress.update(2, 3, step="two")
        raise SystemExit("killed")


@job_kind("test_backend_pid")
def backend_pid(job: Job, progress: Progress) -> dict:
    """Which worker process ran it, on which PostgreSQL connection (its server process id)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    return {"worker_pid": os.getpid(), "backend_pid": pid}
