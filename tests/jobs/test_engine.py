"""The job lifecycle run inline: the same `job_execute` the Celery task calls."""

import threading
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import connections
from django.utils import timezone

from core.errors import ApiError
from jobs import live
from jobs.events import group_for
from jobs.models import Job, JobEvent
from jobs.services import (
    JobRetryScheduled,
    job_cancel,
    job_create,
    job_execute,
    job_retry,
    job_sweep,
    retry_delay,
)
from projects.models import Project
from tenants.models import Tenant, UsageCounter
from tests.factories import ProjectFactory
from tests.jobs import kinds  # noqa: F401 - registers the test job kinds


def events(job: Job) -> list[tuple[int, str]]:
    return list(JobEvent.objects.filter(job=job).order_by("seq").values_list("seq", "type"))


def types(job: Job) -> list[str]:
    return [event_type for _, event_type in events(job)]


def assert_gapless(job: Job) -> None:
    seqs = [seq for seq, _ in events(job)]
    assert seqs == list(range(1, len(seqs) + 1))
    job.refresh_from_db()
    assert job.last_seq == len(seqs)


def inline(tenant: Tenant, kind: str, **options) -> Job:
    """A job created for running inline here (not dispatched to any worker)."""
    return job_create(tenant=tenant, kind=kind, dispatch=False, **options)


@pytest.mark.django_db(transaction=True)
class TestJobLifecycle:
    def test_a_selftest_runs_to_success_with_gapless_events(self, tenant):
        job = inline(tenant, "selftest", input={"steps": 3, "delay": 0})
        job_execute(job_id=job.id)
        job.refresh_from_db()
        assert (job.status, job.progress, job.result, job.attempts) == (
            "succeeded",
            100,
            {"steps": 3},
            1,
        )
        assert job.started_at <= job.finished_at
        assert types(job) == ["job.progress"] * 3 + ["job.log", "job.succeeded"]
        assert_gapless(job)

    def test_bad_input_fails_at_once_with_a_clear_error(self, tenant):
        job = inline(tenant, "selftest", input={"steps": 3, "delay": 0, "fail_at": 2})
        job_execute(job_id=job.id)
        job.refresh_from_db()
        assert (job.status, job.attempts) == ("failed", 1)
        assert job.error == {
            "code": "selftest_failure",
            "message": "Failed at step 2 as asked.",
            "details": {},
        }
        assert types(job)[-1] == "job.failed"

    def test_a_job_runs_at_most_once(self, tenant):
        job = inline(tenant, "selftest", input={"steps": 1, "delay": 0})
        assert job_execute(job_id=job.id) is not None
        assert job_execute(job_id=job.id) is None  # a redelivered message finds it finished
        job.refresh_from_db()
        assert job.attempts == 1
        assert types(job).count("job.succeeded") == 1

    def test_a_job_cancelled_while_queued_is_cancelled_at_once_and_never_runs(self, tenant):
        job = inline(tenant, "selftest", input={"steps": 1, "delay": 0})
        job = job_cancel(job=job)
        assert (job.status, job.attempts) == ("cancelled", 0)
        assert job.finished_at is not None
        assert job_execute(job_id=job.id) is None
        assert types(job) == ["job.cancelled"]

    def test_cancelling_a_finished_job_changes_nothing(self, tenant):
        job = inline(tenant, "selftest", input={"steps": 1, "delay": 0})
        job_execute(job_id=job.id)
        job.refresh_from_db()
        assert job_cancel(job=job).status == "succeeded"
        assert job.cancel_requested_at is None

    def test_a_crash_rolls_back_the_handlers_writes_and_keeps_its_events(self, tenant):
        project = ProjectFactory(tenant=tenant)
        job = inline(tenant, "test_writes_in_a_transaction", project=project, input={"fail": True})
        job_execute(job_id=job.id)
        job.refresh_from_db()
        assert job.status == "failed"
        assert job.error["code"] == "internal_error"
        # The log has the exception; the tenant is shown no internals.
        assert "disk on fire" not in job.error["message"]
        assert str(job.id) in job.error["message"]
        assert not Project.objects.filter(name__startswith="written by job").exists()
        # The progress reported inside the rolled-back transaction is still replayable, in order.
        assert types(job) == ["job.progress"] * 3 + ["job.failed"]
        assert_gapless(job)

    def test_a_result_that_is_not_a_json_object_fails_the_job(self, tenant):
        job = inline(tenant, "test_returns", input={"what": "set"})
        job_execute(job_id=job.id)
        job.refresh_from_db()
        assert job.status == "failed"
        assert job.error["message"] == (
            "The test_returns handler returned something other than a JSON object."
        )

    def test_the_soft_time_limit_fails_the_job(self, tenant):
        job = inline(tenant, "test_times_out")
        job_execute(job_id=job.id)
        job.refresh_from_db()
        assert (job.status, job.error["code"]) == ("failed", "time_limit")

    def test_a_job_over_the_monthly_quota_is_refused_and_not_created(self, tenant):
        Tenant.objects.filter(pk=tenant.pk).update(max_jobs_per_month=1)
        tenant.refresh_from_db()
        job_create(tenant=tenant, kind="selftest")
        with pytest.raises(ApiError) as excinfo:
            job_create(tenant=tenant, kind="selftest")
        assert excinfo.value.error_code == "quota_exceeded"
        assert Job.objects.filter(tenant=tenant).count() == 1
        assert UsageCounter.objects.get(tenant=tenant).value == 1

    def test_an_unknown_kind_is_refused(self, tenant):
        with pytest.raises(ApiError, match="Unknown job kind 'nope'"):
            job_create(tenant=tenant, kind="nope")


@pytest.mark.django_db(transaction=True)
class TestRetries:
    def test_a_transient_error_queues_the_job_again_after_a_backoff(self, tenant, settings):
        settings.JOBS_RETRY_BACKOFF_SECONDS = 4
        job = inline(tenant, "test_flaky", input={"succeed_at": 2})
        before = timezone.now()
        with pytest.raises(JobRetryScheduled) as retry:
            job_execute(job_id=job.id)
        job.refresh_from_db()
        assert (job.status, job.attempts) == ("queued", 1)
        assert 0 <= retry.value.countdown <= 4
        # Due after the backoff; the sweep leaves it alone until then.
        assert job.available_at == job.dispatched_at
        assert job.available_at >= before + timedelta(seconds=retry.value.countdown)

        Job.objects.filter(pk=job.pk).update(available_at=timezone.now() + timedelta(minutes=1))
        assert job_execute(job_id=job.id) is None  # a duplicate message before the retry is due

        Job.objects.filter(pk=job.pk).update(available_at=timezone.now())
        job_execute(job_id=job.id)
        job.refresh_from_db()
        assert (job.status, job.attempts, job.result) == ("succeeded", 2, {"attempts": 2})
        assert_gapless(job)

    def test_after_the_last_attempt_the_job_fails_saying_why(self, tenant, settings):
        settings.JOBS_MAX_ATTEMPTS = 2
        job = inline(tenant, "test_flaky")
        with pytest.raises(JobRetryScheduled):
            job_execute(job_id=job.id)
        Job.objects.filter(pk=job.pk).update(available_at=timezone.now())
        job_execute(job_id=job.id)
        job.refresh_from_db()
        assert (job.status, job.attempts) == ("failed", 2)
        assert job.error["code"] == "retries_exhausted"
        assert job.error["message"] == "Gave up after 2 attempts: Storage timed out (attempt 2)."

    def test_delays_grow_exponentially_up_to_the_maximum_with_full_jitter(self, settings):
        settings.JOBS_RETRY_BACKOFF_SECONDS = 2
        settings.JOBS_RETRY_BACKOFF_MAX_SECONDS = 60
        for attempt, ceiling in [(1, 2), (2, 4), (3, 8), (5, 32), (9, 60)]:
            delays = [retry_delay(attempt=attempt) for _ in range(300)]
            assert 0 <= min(delays) and max(delays) <= ceiling
            assert max(delays) > ceiling / 2  # spread over the whole range, not fixed

    def test_a_failed_job_can_be_retried_with_fresh_attempts(self, tenant):
        job = inline(tenant, "selftest", input={"steps": 1, "delay": 0, "fail_at": 1})
        job_execute(job_id=job.id)
        job.refresh_from_db()
        job = job_retry(job=job, by="root")
        assert (job.status, job.attempts, job.error, job.finished_at) == ("queued", 0, None, None)
        assert types(job)[-1] == "job.log"
        with pytest.raises(ApiError) as excinfo:
            job_retry(job=job)
        assert excinfo.value.status_code == 409


@pytest.mark.django_db(transaction=True)
class TestExclusiveJobs:
    def test_only_one_exclusive_job_per_project_is_queued_or_running(self, tenant):
        project, other = ProjectFactory(tenant=tenant), ProjectFactory(tenant=tenant)
        first = inline(tenant, "test_exclusive", project=project)
        with pytest.raises(ApiError) as excinfo:
            inline(tenant, "test_exclusive", project=project)
        assert (excinfo.value.status_code, excinfo.value.error_code) == (409, "job_conflict")
        assert excinfo.value.details == {"job": str(first.id)}
        assert UsageCounter.objects.get(tenant=tenant).value == 1  # the refused one is not counted
        inline(tenant, "test_exclusive", project=other)  # another project is free
        inline(tenant, "selftest", project=project)  # and other kinds are not exclusive

        job_execute(job_id=first.id)
        inline(tenant, "test_exclusive", project=project)  # the first one has ended: free again
        Job.objects.filter(pk=first.pk).update(status=Job.Status.FAILED)
        first.refresh_from_db()
        with pytest.raises(ApiError) as excinfo:
            job_retry(job=first)  # not while the second one holds the project
        assert excinfo.value.status_code == 409


@pytest.mark.django_db(transaction=True)
class TestOwnership:
    def test_a_run_whose_job_was_taken_back_records_nothing(self, tenant):
        job = inline(tenant, "test_loses_its_job")
        assert job_execute(job_id=job.id) is None
        job.refresh_from_db()
        assert (job.status, job.result, job.finished_at) == ("queued", None, None)
        assert events(job) == []

    def test_events_an_interrupted_attempt_published_are_kept_and_never_renumbered(
        self, tenant, settings
    ):
        settings.JOBS_STALE_AFTER_SECONDS = 2
        job = inline(tenant, "test_publishes_then_dies")
        with pytest.raises(SystemExit):
            job_execute(job_id=job.id)
        assert events(job) == []  # published, never stored: the process "died" in its transaction
        published = live.outbox_read(job_id=job.id, after=0)
        assert [entry["seq"] for entry in published] == [1, 2]

        Job.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - timedelta(minutes=1))
        assert job_sweep().requeued == [str(job.id)]
        assert [(seq, t) for seq, t in events(job)] == [
            (1, "job.progress"),
            (2, "job.progress"),
            (3, "job.log"),
        ]
        assert_gapless(job)


@pytest.mark.django_db(transaction=True)
def test_the_heartbeat_keeps_a_long_transaction_from_being_taken_back(tenant, settings):
    settings.JOBS_HEARTBEAT_SECONDS = 1
    settings.JOBS_STALE_AFTER_SECONDS = 2
    job = inline(tenant, "test_long_transaction", input={"hold": 4})

    def run() -> None:
        try:
            job_execute(job_id=str(job.id))
        finally:
            connections.close_all()

    runner = threading.Thread(target=run)
    runner.start()
    taken_back = []
    while runner.is_alive():
        report = job_sweep()
        taken_back += report.requeued + report.failed
        runner.join(timeout=0.5)
    job.refresh_from_db()
    assert taken_back == []
    assert (job.status, job.attempts) == ("succeeded", 1)


def test_a_job_goes_to_its_own_queue_only():
    """All three queues declared, as a worker consuming them declares them."""
    from config.celery import app as celery_app
    from jobs.tasks import run_job

    def drain(queue) -> int:
        taken = 0
        while taken < 10 and queue.get(no_ack=True) is not None:
            taken += 1
        return taken

    with celery_app.connection_for_write() as connection:
        channel = connection.default_channel
        queues = {name: queue(channel) for name, queue in celery_app.amqp.queues.items()}
        for queue in queues.values():
            queue.declare()
            drain(queue)
        run_job.apply_async(args=["no-such-job"], queue="low", connection=connection)
        counts = {name: drain(queue) for name, queue in queues.items()}
    assert counts == {"high": 0, "default": 0, "low": 1}


@pytest.mark.django_db(transaction=True)
def test_with_the_cache_down_jobs_still_run_and_publish_every_event_in_order(
    tenant, settings, unused_tcp_port
):
    """Redis down: no outbox, so each event is stored before it is published."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{unused_tcp_port}/0",
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2},
        }
    }
    layer = get_channel_layer()
    project = ProjectFactory(tenant=tenant)
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(group_for(f"project:{project.id}"), channel)
    job = inline(tenant, "test_writes_in_a_transaction", project=project)

    job_execute(job_id=job.id)

    job.refresh_from_db()
    assert job.status == "succeeded"
    assert types(job) == ["job.progress"] * 3 + ["job.succeeded"]
    assert_gapless(job)

    async def receive_four() -> list[int]:
        return [(await layer.receive(channel))["event"]["seq"] for _ in range(4)]

    assert async_to_sync(receive_four)() == [1, 2, 3, 4]
    async_to_sync(layer.group_discard)(group_for(f"project:{project.id}"), channel)
