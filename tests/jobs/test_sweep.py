"""The periodic sweep: jobs of vanished workers are taken back, jobs the broker lost dispatched."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from jobs import live
from jobs.models import Job, JobEvent
from jobs.services import job_create, job_sweep

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _thresholds(settings):
    settings.JOBS_STALE_AFTER_SECONDS = 60
    settings.JOBS_REDISPATCH_AFTER_SECONDS = 120
    settings.JOBS_MAX_ATTEMPTS = 3


def ago(seconds: float):
    return timezone.now() - timedelta(seconds=seconds)


def running(tenant, *, attempts: int = 1, heartbeat_age: float = 300, **changes) -> Job:
    job = job_create(tenant=tenant, kind="selftest", dispatch=False)
    Job.objects.filter(pk=job.pk).update(
        status=Job.Status.RUNNING, attempts=attempts, heartbeat_at=ago(heartbeat_age), **changes
    )
    job.refresh_from_db()
    return job


def last_event(job: Job) -> JobEvent:
    return JobEvent.objects.filter(job=job).order_by("seq").last()


def test_a_job_whose_worker_stopped_beating_is_queued_and_dispatched_again(tenant):
    job = running(tenant)
    report = job_sweep()
    assert report.requeued == [str(job.id)]
    job.refresh_from_db()
    assert (job.status, job.attempts) == ("queued", 1)
    assert job.celery_task_id and job.dispatched_at is not None
    assert last_event(job).payload["message"] == (
        "The worker running this job stopped responding; queued again."
    )


def test_after_its_last_attempt_it_fails_instead(tenant):
    job = running(tenant, attempts=3)
    assert job_sweep().failed == [str(job.id)]
    job.refresh_from_db()
    assert job.status == "failed"
    assert job.error["code"] == "worker_lost"
    assert job.error["message"] == (
        "The worker running this job stopped responding; gave up after 3 attempts."
    )
    assert last_event(job).type == "job.failed"


def test_a_cancelled_job_whose_worker_vanished_is_cancelled(tenant):
    job = running(tenant, cancel_requested_at=ago(10))
    assert job_sweep().cancelled == [str(job.id)]
    job.refresh_from_db()
    assert (job.status, last_event(job).type) == ("cancelled", "job.cancelled")


def test_a_job_that_beats_is_left_alone(tenant):
    running(tenant, heartbeat_age=5)
    # Busy in a long transaction: the database heartbeat is old, the cache one is fresh.
    busy = running(tenant)
    live.heartbeat_set(job_id=busy.id, attempt=1)
    report = job_sweep()
    assert report.requeued == report.failed == []
    assert set(Job.objects.values_list("status", flat=True)) == {"running"}


def test_a_heartbeat_of_an_earlier_attempt_does_not_count(tenant):
    job = running(tenant, attempts=2)
    live.heartbeat_set(job_id=job.id, attempt=1)
    assert job_sweep().requeued == [str(job.id)]


def test_a_job_still_queued_long_after_its_dispatch_is_dispatched_again(tenant):
    lost = job_create(tenant=tenant, kind="selftest", dispatch=False)
    never_dispatched = job_create(tenant=tenant, kind="selftest", dispatch=False)
    recent = job_create(tenant=tenant, kind="selftest", dispatch=False)
    retry_not_due = job_create(tenant=tenant, kind="selftest", dispatch=False)
    Job.objects.filter(pk=lost.pk).update(dispatched_at=ago(600), created_at=ago(600))
    Job.objects.filter(pk=never_dispatched.pk).update(created_at=ago(600))
    Job.objects.filter(pk=recent.pk).update(dispatched_at=ago(5), created_at=ago(600))
    Job.objects.filter(pk=retry_not_due.pk).update(
        dispatched_at=timezone.now() + timedelta(minutes=5), created_at=ago(600)
    )

    report = job_sweep()
    assert sorted(report.redispatched) == sorted([str(lost.id), str(never_dispatched.id)])
    lost.refresh_from_db()
    assert lost.dispatched_at > ago(10)
    # Dispatched again just now: the next sweep leaves it alone.
    assert job_sweep().redispatched == []


def test_two_sweeps_at_once_take_a_job_back_once(tenant):
    job = running(tenant)
    first, second = job_sweep(), job_sweep()
    assert first.requeued == [str(job.id)] and second.requeued == []
    logs = JobEvent.objects.filter(job=job, type="job.log").count()
    assert logs == 1


def test_the_command_reports_what_it_did(tenant, capsys):
    running(tenant)
    call_command("sweep_jobs")
    assert capsys.readouterr().out.strip() == (
        "Dispatched again 0 queued jobs; took back 1 (queued again), failed 0, cancelled 0."
    )
