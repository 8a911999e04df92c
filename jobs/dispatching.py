"""How a job travels from its row to the worker that runs it: the creation lock (when the job is
published before its row commits), the counted INSERT, publishing, and the claim."""

import functools
import logging
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from django.db import InterfaceError, OperationalError, connection
from django.utils import timezone

from core.db import RowReader
from core.per_process import per_process
from jobs.models import Job
from tenants.caches import forget_tenant_usage, usage_notification
from tenants.models import UsageCounter
from tenants.services import usage_count_sql, usage_refused

logger = logging.getLogger(__name__)

# Dispatching runs in the request that created the job: when the broker is down, give up fast and
# leave the job to the sweep rather than hold the response for long.
DISPATCH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2}
# The longest a claim waits for the transaction creating its job (job_create holds it open only
# to publish the job and commit).
CREATION_LOCK_TIMEOUT = "10s"
LOCK_NOT_AVAILABLE = "55P03"  # PostgreSQL's SQLSTATE when lock_timeout runs out
# Clocks of API and worker hosts may differ a little; a retry's message must not be refused for it.
CLOCK_SLACK = timedelta(seconds=1)


def take_creation_lock(job_id: uuid.UUID) -> None:
    """Hold the job's creation lock (`_creation_lock_key`) for the rest of the transaction, on
    PostgreSQL: the job's claim waits for it, so a job published before its row is inserted and
    committed runs once the row is committed, and never if its creation rolls back."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_creation_lock_key(job_id)])


def insert_counted(job: Job) -> None:
    """Count a new job against the monthly quota and insert its row in one statement, on
    PostgreSQL: one round trip where a count and an INSERT take two. The INSERT takes its row
    from the count's, so a refused count inserts nothing; the statement also sends the usage
    cache's notification."""
    count_sql, params = usage_count_sql(tenant=job.tenant, metric=UsageCounter.Metric.JOBS_STARTED)
    fields = Job._meta.concrete_fields
    params += [field.get_db_prep_save(field.pre_save(job, True), connection) for field in fields]
    notification, notification_params = usage_notification(tenant_id=job.tenant_id) or ("1", [])
    sql = _counted_insert_sql(count_sql=count_sql, notification=notification)
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, *notification_params])
        inserted = cursor.fetchone() is not None
    if not inserted:
        raise usage_refused(tenant=job.tenant, metric=UsageCounter.Metric.JOBS_STARTED, amount=1)
    job._state.adding, job._state.db = False, connection.alias
    forget_tenant_usage(tenant_id=job.tenant_id, notified=True)


@functools.cache
def _counted_insert_sql(*, count_sql: str, notification: str) -> str:
    """`insert_counted`'s statement, built once per process: its text never changes."""
    fields = Job._meta.concrete_fields
    quote = connection.ops.quote_name
    columns = ", ".join(quote(str(field.column)) for field in fields)
    # The values come from a SELECT, whose parameters PostgreSQL does not type by their columns.
    values = ", ".join(f"%s::{field.cast_db_type(connection)}" for field in fields)
    return (
        f"WITH counted AS ({count_sql}), "  # noqa: S608 - model names
        f"job AS (INSERT INTO {quote(Job._meta.db_table)} ({columns}) "
        f"SELECT {values} FROM counted RETURNING 1) "
        f"SELECT {notification} FROM job"
    )


def _creation_lock_key(job_id: uuid.UUID | str) -> int:
    """The PostgreSQL advisory lock a job's creating transaction holds when it publishes the job
    before its commit: the job id's first 64 bits (two jobs sharing them only wait a little)."""
    return int.from_bytes(uuid.UUID(str(job_id)).bytes[:8], "big", signed=True)


def publish_task(*, job: Job, task_id: str) -> bool:
    """Send the job's message; False (and the job marked for the sweep) when the broker failed."""
    try:
        send_task(job=job, task_id=task_id)
    except Exception as exc:  # noqa: BLE001 - any broker failure: the sweep retries (job_dispatch)
        return not_dispatched(job=job, task_id=task_id, error=exc)
    return True


def send_task(*, job: Job, task_id: str) -> None:
    """Send the job's message to its queue, retrying briefly (DISPATCH_RETRY_POLICY); raises
    when the broker cannot take it."""
    from jobs.tasks import run_job

    run_job.apply_async(
        args=(str(job.id),),
        task_id=task_id,
        queue=job.queue,
        retry=True,
        retry_policy=DISPATCH_RETRY_POLICY,
    )


def not_dispatched(*, job: Job, task_id: str, error: BaseException) -> bool:
    """Mark a job whose message did not reach the broker, so the sweep dispatches it again soon
    (it looks for jobs whose dispatch is long past). False."""
    logger.warning("could not dispatch job %s; the sweep will retry", job.id, exc_info=error)
    Job.objects.filter(pk=job.pk, celery_task_id=task_id).update(
        celery_task_id="", dispatched_at=None
    )
    return False


@per_process
def sender() -> ThreadPoolExecutor:
    """Threads that publish jobs while the request's thread inserts and commits them."""
    return ThreadPoolExecutor(4, thread_name_prefix="job-sender")


def claim(job_id: str) -> Job | None:
    """Move a queued job that is due to running; None when another worker has it, it is finished,
    its retry is not due yet (a duplicate message: the due one follows), or it was never
    committed.

    The claim is the run's first query. When its kept connection turns out broken (the server
    ended it so shortly before that the check before the task did not see it yet), the claim is
    made once more on a new connection: the job would otherwise wait queued for the sweep."""
    try:
        return _claim_once(job_id)
    except (OperationalError, InterfaceError):
        if connection.in_atomic_block or connection.is_usable():
            raise
        logger.warning("job %s: the claim's connection had ended; claiming on a new one", job_id)
        connection.close()
        return _claim_once(job_id)


def _claim_once(job_id: str) -> Job | None:
    """One UPDATE … RETURNING, read as the ORM reads rows, where the ORM would take an UPDATE and a
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
            except OperationalError as exc:
                if getattr(exc.__cause__, "sqlstate", None) != LOCK_NOT_AVAILABLE:
                    raise
                # The job, if its creation commits later, stays queued: the sweep dispatches it.
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
