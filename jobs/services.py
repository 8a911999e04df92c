"""The job lifecycle: create (and dispatch after commit), execute, cancel, retry, sweep."""

import functools
import json
import logging
import os
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from celery.utils.time import get_exponential_backoff_interval
from django.conf import settings
from django.contrib.auth.models import User
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, OperationalError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from rest_framework import serializers

from core.db import RowReader, delete_in_batches
from core.errors import ApiError
from core.storage_errors import is_storage_unavailable
from jobs import live
from jobs.errors import JobCancelled, JobInputError, JobLost, JobTransientError
from jobs.heartbeat import Heartbeat
from jobs.models import Job, JobEvent
from jobs.progress import Progress
from jobs.registry import get_job_kind, job_kinds
from projects.models import Project
from tenants.caches import forget_tenant_usage, usage_notification
from tenants.models import ApiKey, Tenant, UsageCounter
from tenants.services import usage_consume, usage_count_sql, usage_refused

logger = logging.getLogger(__name__)

# Dispatching runs in the request that created the job: when the broker is down, give up fast and
# leave the job to the sweep rather than hold the response for long.
DISPATCH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2}
# The longest a claim waits for the transaction creating its job (job_create holds it open only
# to publish the job and commit).
CREATION_LOCK_TIMEOUT = "10s"
# Clocks of API and worker hosts may differ a little; a retry's message must not be refused for it.
CLOCK_SLACK = timedelta(seconds=1)


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
    """Count the job against the monthly quota, commit its row, and dispatch it after commit
    (`dispatch=False`: the caller runs it inline with `job_execute`). An exclusive kind (an
    import, an audit) is refused with 409 while another one is queued or running for the project.

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
                _insert_counted(job, lock=dispatch)
                if dispatch:
                    # Sent while the commit waits for the WAL to reach the disk (4 ms and more):
                    # the claim waits for this transaction through the lock the INSERT took.
                    sending = _sender().submit(_send_task, job=job, task_id=task_id)
            if sending is not None and sending.exception() is not None:
                _not_dispatched(job=job, task_id=task_id, error=sending.exception())
            return job
        with transaction.atomic():
            if count_usage:
                usage_consume(tenant=tenant, metric=UsageCounter.Metric.JOBS_STARTED)
            job.save(force_insert=True)
    except IntegrityError:
        # The only unique constraint a new job can break: one exclusive job per project.
        raise _exclusive_conflict(project=project) from None
    if dispatch:
        transaction.on_commit(lambda: _publish_task(job=job, task_id=task_id))
    return job


def _insert_counted(job: Job, *, lock: bool) -> None:
    """Count a new job against the monthly quota and insert its row in one statement, on
    PostgreSQL: one round trip where a count and an INSERT take two. The INSERT takes its row
    from the count's, so a refused count inserts nothing; the statement also sends the usage
    cache's notification and, with `lock`, takes the job's creation lock (`_creation_lock_key`)
    for the rest of the transaction."""
    count_sql, params = usage_count_sql(tenant=job.tenant, metric=UsageCounter.Metric.JOBS_STARTED)
    fields = Job._meta.concrete_fields
    if lock:
        params.append(_creation_lock_key(job.pk))
    params += [field.get_db_prep_save(field.pre_save(job, True), connection) for field in fields]
    notification, notification_params = usage_notification(tenant_id=job.tenant_id) or ("1", [])
    sql = _counted_insert_sql(count_sql=count_sql, notification=notification, lock=lock)
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, *notification_params])
        inserted = cursor.fetchone() is not None
    if not inserted:
        raise usage_refused(tenant=job.tenant, metric=UsageCounter.Metric.JOBS_STARTED, amount=1)
    job._state.adding, job._state.db = False, connection.alias
    forget_tenant_usage(tenant_id=job.tenant_id, notified=True)


@functools.cache
def _counted_insert_sql(*, count_sql: str, notification: str, lock: bool) -> str:
    """`_insert_counted`'s statement, built once per process: its text never changes."""
    fields = Job._meta.concrete_fields
    quote = connection.ops.quote_name
    columns = ", ".join(quote(str(field.column)) for field in fields)
    # The values come from a SELECT, whose parameters PostgreSQL does not type by their columns.
    values = ", ".join(f"%s::{field.cast_db_type(connection)}" for field in fields)
    locked = "locked AS (SELECT pg_advisory_xact_lock(%s)), " if lock else ""
    return (
        f"WITH counted AS ({count_sql}), {locked}"  # noqa: S608 - model names
        f"job AS (INSERT INTO {quote(Job._meta.db_table)} ({columns}) "
        f"SELECT {values} FROM counted{', locked' if lock else ''} RETURNING 1) "
        f"SELECT {notification} FROM job"
    )


def _creation_lock_key(job_id: uuid.UUID | str) -> int:
    """The PostgreSQL advisory lock a job's creating transaction holds when it publishes the job
    before its commit: the job id's first 64 bits (two jobs sharing them only wait a little)."""
    return int.from_bytes(uuid.UUID(str(job_id)).bytes[:8], "big", signed=True)


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
    return _publish_task(job=job, task_id=task_id)


def _publish_task(*, job: Job, task_id: str) -> bool:
    try:
        _send_task(job=job, task_id=task_id)
    except Exception as exc:  # noqa: BLE001 - any broker failure: the sweep retries (job_dispatch)
        return _not_dispatched(job=job, task_id=task_id, error=exc)
    return True


def _send_task(*, job: Job, task_id: str) -> None:
    from jobs.tasks import run_job

    run_job.apply_async(
        args=(str(job.id),),
        task_id=task_id,
        queue=job.queue,
        retry=True,
        retry_policy=DISPATCH_RETRY_POLICY,
    )


def _not_dispatched(*, job: Job, task_id: str, error: BaseException) -> bool:
    """Mark a job whose message did not reach the broker, so the sweep dispatches it again soon
    (it looks for jobs whose dispatch is long past). False."""
    logger.warning("could not dispatch job %s; the sweep will retry", job.id, exc_info=error)
    Job.objects.filter(pk=job.pk, celery_task_id=task_id).update(
        celery_task_id="", dispatched_at=None
    )
    return False


_senders: tuple[int, ThreadPoolExecutor] | None = None
_senders_lock = threading.Lock()


def _sender() -> ThreadPoolExecutor:
    """Threads that publish jobs while the request's thread commits: one pool per process (a
    forked worker process starts its own: threads do not survive a fork)."""
    global _senders
    with _senders_lock:
        if _senders is None or _senders[0] != os.getpid():
            _senders = (os.getpid(), ThreadPoolExecutor(4, thread_name_prefix="job-sender"))
        return _senders[1]


def _claim(job_id: str) -> Job | None:
    """Move a queued job that is due to running; None when another worker has it, it is finished,
    its retry is not due yet (a duplicate message: the due one follows), or it was never
    committed.

    One UPDATE … RETURNING, read as the ORM reads rows, where the ORM would take an UPDATE and a
    SELECT: every job waits for its claim. Its tenant and project load if its handler asks.

    On PostgreSQL a job may be published before its row commits (job_create), so the claim first
    waits for the job's creation lock, which the creating transaction took before publishing and
    holds until it ends; the UPDATE, a statement of its own, then sees the row committed, or none
    if the creation rolled back (such a job never runs). Both travel in one round trip."""
    now = timezone.now()
    moment = Job._meta.get_field("started_at")
    params = [
        Job.Status.RUNNING,
        moment.get_db_prep_value(now, connection),  # started_at, unless an attempt did
        moment.get_db_prep_value(now, connection),  # heartbeat_at
        Job._meta.pk.get_db_prep_value(job_id, connection),
        Job.Status.QUEUED,
        moment.get_db_prep_value(now + CLOCK_SLACK, connection),  # available_at
    ]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            try:
                cursor.execute(
                    _CLAIM_SQL_POSTGRESQL,
                    [CREATION_LOCK_TIMEOUT, _creation_lock_key(job_id), *params],
                )
            except OperationalError:  # the lock's timeout: the sweep dispatches the job again
                logger.warning(
                    "job %s: its creation did not end in %s", job_id, CREATION_LOCK_TIMEOUT
                )
                return None
            cursor.nextset()
        else:
            cursor.execute(_CLAIM_SQL, params)
        row = cursor.fetchone()
    return _JOB_ROWS.read(row) if row is not None else None


_JOB_ROWS = RowReader(Job)
_CLAIM_SQL = (
    "UPDATE jobs_job SET status = %s, started_at = COALESCE(started_at, %s), heartbeat_at = %s, "  # noqa: S608 - model names
    "attempts = attempts + 1 WHERE id = %s AND status = %s AND available_at <= %s "
    f"RETURNING {_JOB_ROWS.columns('jobs_job')}"
)
# Two statements in one implicit transaction (a client-side bound query); in READ COMMITTED each
# takes its own snapshot, so the UPDATE sees what the transaction that held the lock committed.
# The lock is shared: claims of one job (duplicate messages) wait side by side.
# The claim also commits without waiting for its WAL to reach the disk (an fsync: 4 ms, and far
# more on a busy disk, before every job could start). A claim lost in a crash of the database
# server is recovered like a worker that vanished: the row is queued again, the run's next fenced
# write finds it lost, and the sweep dispatches the job again.
_CLAIM_SQL_POSTGRESQL = (
    "WITH settings AS (SELECT set_config('lock_timeout', %s, true), "  # noqa: S608 - model names
    "set_config('synchronous_commit', 'off', true)) "
    "SELECT pg_advisory_xact_lock_shared(%s) FROM settings; " + _CLAIM_SQL
)


def job_execute(*, job_id: str, progress_class: Callable[[Job], Progress] = Progress) -> Job | None:
    """Run a queued job's handler and record how it ended. Returns None if it was not claimable
    (or this run lost it to the sweep).

    A transient error queues the job again and raises JobRetryScheduled for the caller (the Celery
    task) to run it again later; after JOBS_MAX_ATTEMPTS attempts the job fails instead."""
    job = _claim(job_id)
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
