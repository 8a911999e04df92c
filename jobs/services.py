"""The job lifecycle: create and dispatch, execute, cancel, retry, sweep."""

import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from celery.utils.time import get_exponential_backoff_interval
from django.conf import settings
from django.contrib.auth.models import User
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from rest_framework import serializers

from core.db import delete_in_batches
from core.errors import ApiError
from core.storage_errors import is_storage_unavailable
from jobs import dispatching, live
from jobs.errors import JobCancelled, JobInputError, JobLost, JobTransientError
from jobs.heartbeat import Heartbeat
from jobs.models import Job, JobEvent
from jobs.progress import Progress
from jobs.registry import get_job_kind, job_kinds
from projects.models import Project
from tenants.models import ApiKey, Tenant, UsageCounter
from tenants.services import usage_consume

logger = logging.getLogger(__name__)


class JobRetryScheduled(Exception):
    """The job was queued again after a transient error; its next attempt is due in `countdown`
    seconds. The Celery task turns this into a delayed retry of itself."""

    def __init__(self, countdown: float) -> None:
        super().__init__(f"retry in {countdown} s")
        self.countdown = countdown


def job_create(
    *,
    tenant: Tenant,
    kind: str,
    input: dict[str, Any] | None = None,
    project: Project | None = None,
    created_by: User | None = None,
    created_by_key: ApiKey | None = None,
    dispatch: bool = True,
    count_usage: bool = True,
) -> Job:
    """Count the job against the monthly quota, commit its row, and dispatch it: after the
    commit, or, on PostgreSQL outside a caller's transaction, before the row is inserted (the
    claim waits for the commit; jobs/dispatching.py). `dispatch=False`: the caller runs it
    inline with `job_execute`. An exclusive kind (an import, an audit) is refused with 409 while
    another one is queued or running for the project.

    `count_usage=False` is for follow-up work the platform starts on its own (extracting an
    uploaded document's text): it is not the tenant's job to pay for and never refused for quota.
    """
    job_kind = get_job_kind(kind)
    if project is not None and project.tenant_id != tenant.id:
        raise ValueError("the project belongs to another tenant")
    if created_by_key is not None and created_by_key.tenant_id != tenant.id:
        raise ValueError("the API key belongs to another tenant")
    # The row names the task that will run it, so dispatching needs no second write.
    task_id = str(uuid.uuid4()) if dispatch else ""
    job = Job(
        tenant=tenant,
        project=project,
        kind=job_kind.name,
        queue=job_kind.queue,
        exclusive=job_kind.exclusive and project is not None,
        input=input or {},
        created_by=created_by if getattr(created_by, "pk", None) else None,
        created_by_key=created_by_key,
        celery_task_id=task_id,
        dispatched_at=timezone.now() if dispatch else None,
    )
    try:
        if count_usage and connection.vendor == "postgresql" and not connection.in_atomic_block:
            sending = None
            with transaction.atomic():
                if dispatch:
                    # Sent before the row is even inserted, so the broker trip overlaps the
                    # INSERT and the commit's WAL flush (4 ms and more): the claim waits for this
                    # transaction through the lock, and finds no row if it rolls back.
                    dispatching.take_creation_lock(job.pk)
                    sending = dispatching.sender().submit(
                        dispatching.send_task, job=job, task_id=task_id
                    )
                dispatching.insert_counted(job)
            if sending is not None and (error := sending.exception()) is not None:
                dispatching.not_dispatched(job=job, task_id=task_id, error=error)
            return job
        with transaction.atomic():
            if count_usage:
                usage_consume(tenant=tenant, metric=UsageCounter.Metric.JOBS_STARTED)
            job.save(force_insert=True)
    except IntegrityError:
        # The only unique constraint a new job can break: one exclusive job per project.
        raise _exclusive_conflict(project=project) from None
    if dispatch:
        transaction.on_commit(lambda: dispatching.publish_task(job=job, task_id=task_id))
    return job


def job_start_direct(
    *,
    tenant: Tenant,
    kind: str,
    input: dict[str, Any] | None = None,
    project: Project | None = None,
    created_by: User | None = None,
    created_by_key: ApiKey | None = None,
) -> Job:
    """Start a kind that may be started directly (the `selftest` diagnostic), its input cleaned by
    the kind's serializer: the one way `POST /api/v1/jobs/` and the admin start one. Raises
    ApiError `invalid_job_kind`, or `invalid` naming the bad input fields."""
    direct = [job_kind.name for job_kind in job_kinds() if job_kind.direct]
    if kind not in direct:
        raise ApiError(
            code="invalid_job_kind",
            message=f"Job kind {kind!r} cannot be started here; one of {direct}.",
            details={"kind": [f"Not a kind that can be started directly: {kind!r}."]},
        )
    job_kind = get_job_kind(kind)
    try:
        job_input = job_kind.validate_input(input or {})
    except serializers.ValidationError as exc:
        raise ApiError(
            code="invalid", message="input: invalid.", details={"input": exc.detail}
        ) from None
    return job_create(
        tenant=tenant,
        kind=job_kind.name,
        input=job_input,
        project=project,
        created_by=created_by,
        created_by_key=created_by_key,
    )


def _exclusive_conflict(*, project: Project | None) -> ApiError:
    active = Job.objects.filter(project=project, exclusive=True, status__in=Job.ACTIVE).first()
    what = f"a {active.kind} job ({active.id})" if active else "another job"
    return ApiError(
        code="job_conflict",
        message=f"This project has {what} queued or running; start this one when it has ended.",
        status_code=409,
        details={"job": str(active.id)} if active else {},
    )


def job_dispatch(*, job: Job) -> bool:
    """Hand the job to the broker. If the broker is down the job stays queued and the periodic
    sweep dispatches it again, so nothing is lost. A job dispatched twice still runs once: a worker
    must claim it first."""
    task_id = str(uuid.uuid4())
    Job.objects.filter(pk=job.pk).update(celery_task_id=task_id, dispatched_at=timezone.now())
    return dispatching.publish_task(job=job, task_id=task_id)


def job_execute(*, job_id: str, progress_class: Callable[[Job], Progress] = Progress) -> Job | None:
    """Run a queued job's handler and record how it ended. Returns None if it was not claimable
    (or this run lost it to the sweep).

    A transient error queues the job again and raises JobRetryScheduled for the caller (the Celery
    task) to run it again later; after JOBS_MAX_ATTEMPTS attempts the job fails instead."""
    job = dispatching.claim(job_id)
    if job is None:
        return None
    progress = progress_class(job)
    cancel_flagged = False
    if job.attempts > 1:
        # What an earlier attempt may have left: its unstored events, a cancel flag it did not
        # see. A first attempt has no earlier one (whatever ends or requeues a job stores the
        # events its runs published first), and the claim has just read whether cancellation
        # was asked for; a request racing it is seen at the handler's next check.
        cancel_flagged, outbox_marks = live.run_start_read(job_id=job.id)
        progress.run_started(outbox_marks=outbox_marks)
    else:
        progress.run_started(first_attempt=True)
    try:
        if job.attempts > 1:
            progress.log(f"Attempt {job.attempts} of {settings.JOBS_MAX_ATTEMPTS}.")
        if job.cancel_requested_at is not None or cancel_flagged:
            return _finish(job, progress, Job.Status.CANCELLED)
        with Heartbeat(progress):
            try:
                handler = get_job_kind(job.kind).handler
                result = handler(job, progress)
            except JobLost:
                raise
            except JobCancelled:
                return _finish(job, progress, Job.Status.CANCELLED)
            except JobInputError as exc:
                return _finish(job, progress, Job.Status.FAILED, error=_error(exc))
            except JobTransientError as exc:
                return _retry_later(job, progress, exc)
            except SoftTimeLimitExceeded:
                limit = settings.JOBS_SOFT_TIME_LIMIT_SECONDS
                error = {
                    "code": "time_limit",
                    "message": f"The job ran longer than its time limit ({limit} s).",
                    "details": {},
                }
                return _finish(job, progress, Job.Status.FAILED, error=error)
            except Exception as exc:
                if is_storage_unavailable(exc):
                    logger.warning("job %s (%s): storage unavailable: %s", job.id, job.kind, exc)
                    transient = JobTransientError(
                        "storage_unavailable", "File storage is unavailable."
                    )
                    return _retry_later(job, progress, transient)
                logger.exception("job %s (%s) crashed", job.id, job.kind)
                # The log has the exception; the tenant sees no internals (hosts, keys, paths).
                error = {
                    "code": "internal_error",
                    "message": f"The job stopped on an internal error (logged with job {job.id}).",
                    "details": {},
                }
                return _finish(job, progress, Job.Status.FAILED, error=error)
        stored_result = _json_safe_result(result)
        if stored_result is None:
            return _finish(job, progress, Job.Status.FAILED, error=_bad_result_error(job))
        return _finish(job, progress, Job.Status.SUCCEEDED, result=stored_result)
    except JobLost:
        logger.warning("job %s: attempt %s lost the job to the sweep", job.id, job.attempts)
        return None


def _error(exc: JobInputError | JobTransientError) -> dict[str, Any]:
    return {"code": exc.code, "message": exc.message, "details": exc.details}


def retry_delay(*, attempt: int) -> int:
    """Seconds to wait after failed attempt number `attempt`: exponential, capped, full jitter."""
    return get_exponential_backoff_interval(
        factor=settings.JOBS_RETRY_BACKOFF_SECONDS,
        retries=attempt - 1,
        maximum=settings.JOBS_RETRY_BACKOFF_MAX_SECONDS,
        full_jitter=True,
    )


def _retry_later(job: Job, progress: Progress, exc: JobTransientError) -> Job | None:
    if job.attempts >= settings.JOBS_MAX_ATTEMPTS:
        error = {
            "code": "retries_exhausted",
            "message": f"Gave up after {job.attempts} attempts: {exc.message}",
            "details": {"last_error": _error(exc)},
        }
        return _finish(job, progress, Job.Status.FAILED, error=error)
    delay = retry_delay(attempt=job.attempts)
    progress.log(f"Temporary problem, retrying in {delay} s: {exc.message}", level="warning")
    progress.flush()
    due = timezone.now() + timedelta(seconds=delay)
    requeued = Job.objects.filter(
        pk=job.pk, status=Job.Status.RUNNING, attempts=job.attempts
    ).update(status=Job.Status.QUEUED, available_at=due, dispatched_at=due, step=progress.step)
    if not requeued:
        raise JobLost
    raise JobRetryScheduled(countdown=delay) from exc


def _finish(job: Job, progress: Progress, status: str, **fields: Any) -> Job | None:
    """Record how the run ended (only if this run still owns the job), with its last events and
    its final one in the same transaction, then say so live."""
    now = timezone.now()
    if status == Job.Status.SUCCEEDED:
        fields["progress"] = 100
    fields.update(status=status, finished_at=now, heartbeat_at=now, step=progress.step)
    with transaction.atomic():
        finished = Job.objects.filter(
            pk=job.pk, status=Job.Status.RUNNING, attempts=job.attempts
        ).update(**fields)
        if not finished:
            raise JobLost
        for name, value in fields.items():
            setattr(job, name, value)
        progress.owner_changed(status=status)
        _emit_finished(job, progress)
    return job


def _emit_finished(job: Job, progress: Progress) -> None:
    """The job's final event, stored (with any still pending) in the transaction that stores its
    final status."""
    data: dict[str, Any] = {"status": job.status}
    if job.error:
        data["error"] = job.error
    if job.result is not None:
        data["result"] = job.result
    progress.emit(f"job.{job.status}", data, store_first=True)


def _json_safe_result(result: Any) -> dict | None:
    """The handler's result if it is a JSON object we can store, else None."""
    if not isinstance(result, dict):
        return None
    try:
        return json.loads(json.dumps(result, cls=DjangoJSONEncoder))
    except (TypeError, ValueError):
        return None


def _bad_result_error(job: Job) -> dict[str, Any]:
    return {
        "code": "internal_error",
        "message": f"The {job.kind} handler returned something other than a JSON object.",
        "details": {},
    }


def job_cancel(*, job: Job) -> Job:
    """Ask a job to stop. A queued job is cancelled at once; a running one stops at its next
    `check_cancelled()` (the flag is also set in the cache, so a handler inside a long transaction
    sees it). A finished job is left as it is."""
    if job.is_finished:
        return job
    live.cancel_flag_set(job_id=job.id)
    now = timezone.now()
    with transaction.atomic():
        Job.objects.filter(pk=job.pk, cancel_requested_at__isnull=True).update(
            cancel_requested_at=now
        )
        cancelled = Job.objects.filter(pk=job.pk, status=Job.Status.QUEUED).update(
            status=Job.Status.CANCELLED, finished_at=now
        )
        job.refresh_from_db()
        if cancelled:
            _emit_finished(job, Progress(job))
    return job


def job_retry(*, job: Job, by: str = "") -> Job:
    """Queue a failed or cancelled job again, with a fresh set of attempts; its events go on."""
    if job.status not in {Job.Status.FAILED, Job.Status.CANCELLED}:
        raise ApiError(
            code="not_retryable",
            message=f"Only failed or cancelled jobs can be retried; this one is {job.status}.",
            status_code=409,
        )
    now = timezone.now()
    try:
        with transaction.atomic():
            requeued = Job.objects.filter(pk=job.pk, status=job.status).update(
                status=Job.Status.QUEUED,
                attempts=0,
                error=None,
                result=None,
                progress=0,
                step="",
                cancel_requested_at=None,
                started_at=None,
                finished_at=None,
                heartbeat_at=None,
                available_at=now,
                dispatched_at=None,
            )
    except IntegrityError:
        raise _exclusive_conflict(project=job.project) from None
    job.refresh_from_db()
    if requeued:
        live.cancel_flag_clear(job_id=job.id)
        progress = Progress(job)
        progress.log(f"Retried{f' by {by}' if by else ''}.")
        progress.flush()
        transaction.on_commit(lambda: job_dispatch(job=job))
    return job


@dataclass
class SweepReport:
    redispatched: list[str] = field(default_factory=list)
    requeued: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)


def job_sweep(*, limit: int = 500) -> SweepReport:
    """Take back running jobs whose worker vanished (no heartbeat for JOBS_STALE_AFTER_SECONDS):
    queue them again, or fail them once they have had JOBS_MAX_ATTEMPTS attempts; then dispatch
    again jobs still queued JOBS_REDISPATCH_AFTER_SECONDS after their dispatch was due (the broker
    was down, or lost the message). Safe to run anywhere, any number of times at once: every
    change is conditional on the state it saw."""
    report = SweepReport()
    now = timezone.now()
    stale_before = now - timedelta(seconds=settings.JOBS_STALE_AFTER_SECONDS)
    stale = list(
        Job.objects.filter(status=Job.Status.RUNNING, heartbeat_at__lt=stale_before)
        .select_related("tenant", "project")
        .order_by("heartbeat_at")[:limit]
    )
    beats = live.heartbeats_get(job_ids=[job.id for job in stale]) if stale else {}
    for job in stale:
        beat = beats.get(str(job.id))
        if beat and beat.attempt == job.attempts and beat.at >= stale_before.timestamp():
            continue  # alive: busy in a transaction the database heartbeat cannot get past
        _take_back(job=job, now=now, report=report)

    due_before = now - timedelta(seconds=settings.JOBS_REDISPATCH_AFTER_SECONDS)
    waiting = Job.objects.filter(status=Job.Status.QUEUED).filter(
        Q(dispatched_at__lte=due_before) | Q(dispatched_at__isnull=True, created_at__lte=due_before)
    )
    for job in waiting.order_by("created_at")[:limit]:
        if job_dispatch(job=job):
            report.redispatched.append(str(job.id))
    return report


def _take_back(*, job: Job, now: Any, report: SweepReport) -> None:
    if job.cancel_requested_at is not None:
        status, changes, bucket = Job.Status.CANCELLED, {"finished_at": now}, report.cancelled
    elif job.attempts >= settings.JOBS_MAX_ATTEMPTS:
        error = {
            "code": "worker_lost",
            "message": f"The worker running this job stopped responding; gave up after "
            f"{job.attempts} attempts.",
            "details": {},
        }
        status, changes, bucket = (
            Job.Status.FAILED,
            {"finished_at": now, "error": error},
            report.failed,
        )
    else:
        status, bucket = Job.Status.QUEUED, report.requeued
        changes = {"available_at": now, "dispatched_at": None}
    with transaction.atomic():
        taken = Job.objects.filter(
            pk=job.pk,
            status=Job.Status.RUNNING,
            attempts=job.attempts,
            heartbeat_at=job.heartbeat_at,
        ).update(status=status, **changes)
        if not taken:
            return  # it beat meanwhile, or another sweep got there first
        job.refresh_from_db()
        progress = Progress(job)
        if status != Job.Status.QUEUED:
            _emit_finished(job, progress)
    if status == Job.Status.QUEUED:
        progress.log(
            "The worker running this job stopped responding; queued again.", level="warning"
        )
        progress.flush()
        job_dispatch(job=job)
    bucket.append(str(job.id))


def job_event_purge_expired(*, now: datetime | None = None) -> int:
    """Delete the events of jobs that ended more than JOB_EVENT_RETENTION ago; returns how many.
    The job rows stay: their status, result and error remain readable."""
    cutoff = (now or timezone.now()) - settings.JOB_EVENT_RETENTION
    return delete_in_batches(
        JobEvent.objects.filter(job__finished_at__lt=cutoff, job__status__in=Job.FINISHED)
    )
