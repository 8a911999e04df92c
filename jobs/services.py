"""The job lifecycle: create (and dispatch after commit), execute, cancel."""

import logging
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from jobs.errors import JobCancelled, JobInputError, JobTransientError
from jobs.models import Job
from jobs.progress import Progress
from jobs.registry import get_job_kind
from projects.models import Project
from tenants.models import Tenant, UsageCounter
from tenants.services import usage_consume

logger = logging.getLogger(__name__)


def job_create(
    *,
    tenant: Tenant,
    kind: str,
    input: dict[str, Any] | None = None,
    project: Project | None = None,
    created_by: AbstractBaseUser | None = None,
    count_usage: bool = True,
) -> Job:
    """Count the job against the monthly quota, commit its row, and dispatch it after commit.

    `count_usage=False` is for follow-up work the platform starts on its own (extracting an
    uploaded document's text): it is not the tenant's job to pay for and never refused for quota."""
    job_kind = get_job_kind(kind)
    if project is not None and project.tenant_id != tenant.id:
        raise ValueError("the project belongs to another tenant")
    with transaction.atomic():
        if count_usage:
            usage_consume(tenant=tenant, metric=UsageCounter.Metric.JOBS_STARTED)
        job = Job.objects.create(
            tenant=tenant,
            project=project,
            kind=job_kind.name,
            queue=job_kind.queue,
            input=input or {},
            created_by=created_by if getattr(created_by, "pk", None) else None,
        )
        transaction.on_commit(lambda: job_dispatch(job=job))
    return job


def job_dispatch(*, job: Job) -> None:
    """Hand the job to the broker. If the broker is down the job stays queued and the periodic
    sweep dispatches it again, so nothing is lost."""
    from jobs.tasks import run_job

    try:
        result = run_job.apply_async(args=[str(job.id)], queue=job.queue)
    except Exception:  # any broker failure: the sweep retries, see above
        logger.warning("could not dispatch job %s; the sweep will retry", job.id, exc_info=True)
        return
    Job.objects.filter(pk=job.pk).update(celery_task_id=result.id)


def _claim(job_id: str) -> Job | None:
    """Move a queued job to running; None when another worker has it or it is finished."""
    now = timezone.now()
    claimed = Job.objects.filter(pk=job_id, status=Job.Status.QUEUED).update(
        status=Job.Status.RUNNING, started_at=now, heartbeat_at=now, attempts=F("attempts") + 1
    )
    return Job.objects.select_related("tenant", "project").get(pk=job_id) if claimed else None


def job_execute(*, job_id: str, progress_class: type[Progress] = Progress) -> Job | None:
    """Run a queued job's handler and record how it ended. Returns None if it was not claimable.

    A transient error puts the job back in the queue and is raised again for the caller (the
    Celery task) to retry."""
    job = _claim(job_id)
    if job is None:
        return None
    progress = progress_class(job)
    if job.cancel_requested_at is not None:
        _finish(job, progress, Job.Status.CANCELLED, event="job.cancelled")
        return job
    try:
        result = get_job_kind(job.kind).handler(job, progress)
    except JobCancelled:
        _finish(job, progress, Job.Status.CANCELLED, event="job.cancelled")
    except JobInputError as exc:
        error = {"code": exc.code, "message": exc.message, "details": exc.details}
        _finish(job, progress, Job.Status.FAILED, error=error, event="job.failed")
    except JobTransientError as exc:
        progress.flush()
        progress.log(f"Temporary problem, will retry: {exc.message}", level="warning")
        Job.objects.filter(pk=job.pk).update(status=Job.Status.QUEUED)
        raise
    except Exception as exc:
        logger.exception("job %s (%s) crashed", job.id, job.kind)
        error = {"code": "internal_error", "message": f"{type(exc).__name__}: {exc}", "details": {}}
        _finish(job, progress, Job.Status.FAILED, error=error, event="job.failed")
    else:
        _finish(job, progress, Job.Status.SUCCEEDED, result=result, event="job.succeeded")
    return job


def _finish(job: Job, progress: Progress, status: str, *, event: str, **fields: Any) -> None:
    progress.flush()
    now = timezone.now()
    if status == Job.Status.SUCCEEDED:
        fields["progress"] = 100
    Job.objects.filter(pk=job.pk).update(
        status=status, finished_at=now, heartbeat_at=now, step=progress._step, **fields
    )
    job.refresh_from_db()
    data = {"status": status}
    if job.error:
        data["error"] = job.error
    if job.result is not None:
        data["result"] = job.result
    progress.emit(event, data)


def job_cancel(*, job: Job) -> Job:
    """Ask a job to stop. A queued job is cancelled when a worker picks it up; a running one at
    its next `check_cancelled()`. A finished job is left as it is."""
    if not job.is_finished and job.cancel_requested_at is None:
        Job.objects.filter(pk=job.pk).update(cancel_requested_at=timezone.now())
        job.refresh_from_db()
    return job
