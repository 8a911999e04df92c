"""Celery entry points: fetch by id, call a service."""

from celery import Task, shared_task
from django.conf import settings

from jobs.services import JobRetryScheduled, job_execute, job_sweep


# Retries are not `autoretry_for`: their number and delay follow the job's own attempt count,
# which survives re-dispatches by the sweep (Celery's `request.retries` starts again at 0), and the
# job row must know when the retry is due so the sweep leaves it alone until then.
@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=None,
    soft_time_limit=settings.JOBS_SOFT_TIME_LIMIT_SECONDS,
    time_limit=settings.JOBS_TIME_LIMIT_SECONDS,
)
def run_job(self: Task, job_id: str) -> None:
    """The one task that runs any job kind; the job's queue (high, default, low) routes it."""
    try:
        job_execute(job_id=job_id)
    except JobRetryScheduled as retry:
        raise self.retry(countdown=retry.countdown, exc=retry.__cause__) from retry


@shared_task(soft_time_limit=120, time_limit=180)
def sweep_jobs() -> dict[str, int]:
    """Run by beat: take back jobs of vanished workers, re-dispatch jobs the broker lost."""
    report = job_sweep()
    return {name: len(ids) for name, ids in vars(report).items()}
