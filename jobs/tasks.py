from celery import shared_task

from jobs.errors import JobTransientError
from jobs.services import job_execute


@shared_task(
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(JobTransientError,),
    retry_backoff=True,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=5,
    soft_time_limit=3600,
    time_limit=3660,
)
def run_job(job_id: str) -> None:
    """The one task that runs any job kind."""
    job_execute(job_id=job_id)
