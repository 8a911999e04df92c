"""Jobs dispatched through a broker to a worker: a real `celery worker` process on Redis with
services, the in-process worker on the memory broker on the embedded default (`make run`)."""

import subprocess
import sys

import pytest

from jobs.models import Job, JobEvent
from jobs.selectors import job_events_replay
from jobs.services import job_create, job_sweep
from projects.models import Project
from tests.processes import (
    CeleryWorker,
    ThisProcessBroker,
    process_env,
    uses_memory_broker,
    wait_until,
)
from tests.servers import RedisServer, free_port

pytestmark = pytest.mark.django_db(transaction=True)


def wait_for_status(job: Job, *statuses: str, timeout: float = 30) -> Job:
    def reached() -> bool:
        job.refresh_from_db()
        return job.status in statuses

    wait_until(reached, timeout=timeout, what=f"job {job.id} to be one of {statuses}")
    return job


def event_types(job: Job) -> list[str]:
    return list(JobEvent.objects.filter(job=job).order_by("seq").values_list("type", flat=True))


def event_messages(job: Job) -> list[str]:
    payloads = JobEvent.objects.filter(job=job, type="job.log").values_list("payload", flat=True)
    return [payload["message"] for payload in payloads]


def assert_gapless(job: Job) -> None:
    seqs = list(JobEvent.objects.filter(job=job).order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, len(seqs) + 1))
    job.refresh_from_db()
    assert job.last_seq == len(seqs)


def steps_done(job: Job) -> int:
    """How far the job got, from its events: stored, or published and not stored yet."""
    events = job_events_replay(tenant=job.tenant, job_id=job.id, since=0)
    return max((e["payload"]["done"] for e in events if e["type"] == "job.progress"), default=0)


def start_selftest(actor, **options) -> Job:
    response = actor.client.post(
        "/api/v1/jobs/", {"kind": "selftest", "input": options}, format="json"
    )
    assert response.status_code == 202, response.content
    return Job.objects.get(pk=response.json()["id"])


def test_a_job_started_through_the_api_runs_on_the_worker(job_worker, member):
    job = wait_for_status(start_selftest(member, steps=3, delay=0), "succeeded")
    assert job.result == {"steps": 3}
    assert job.celery_task_id
    assert event_types(job) == ["job.progress"] * 3 + ["job.log", "job.succeeded"]
    assert_gapless(job)


def test_transient_errors_retry_with_backoff_then_succeed(job_worker, tenant):
    job = job_create(tenant=tenant, kind="test_flaky", input={"succeed_at": 3})
    job = wait_for_status(job, "succeeded", "failed")
    assert (job.status, job.attempts, job.result) == ("succeeded", 3, {"attempts": 3})
    retries = [m for m in event_messages(job) if m.startswith("Temporary problem, retrying in")]
    assert len(retries) == 2
    assert_gapless(job)


def test_a_job_that_exhausts_its_retries_fails_with_a_clear_error(job_worker, tenant):
    job = wait_for_status(job_create(tenant=tenant, kind="test_flaky"), "succeeded", "failed")
    assert (job.status, job.attempts) == ("failed", 3)  # JOBS_MAX_ATTEMPTS in FAST_JOB_SETTINGS
    assert job.error["code"] == "retries_exhausted"
    assert job.error["message"] == "Gave up after 3 attempts: Storage timed out (attempt 3)."
    assert job.error["details"]["last_error"]["code"] == "storage_timeout"
    assert event_types(job)[-1] == "job.failed"


def test_bad_input_fails_at_once_without_retrying(job_worker, member):
    job = wait_for_status(start_selftest(member, steps=3, delay=0, fail_at=1), "failed")
    assert job.attempts == 1
    assert job.error["code"] == "selftest_failure"


def test_cancel_mid_run_stops_within_one_chunk_and_rolls_back(job_worker, member):
    response = member.client.post(
        "/api/v1/jobs/",
        {"kind": "test_chunks", "input": {"chunks": 20, "hold": 0.3}},
        format="json",
    )
    job = Job.objects.get(pk=response.json()["id"])
    done_before = wait_until(
        lambda: steps_done(job) >= 2 and steps_done(job), timeout=30, what="two chunks"
    )

    assert member.client.post(f"/api/v1/jobs/{job.id}/cancel/").status_code == 200
    job = wait_for_status(job, "cancelled", "succeeded", "failed")

    assert job.status == "cancelled"
    assert steps_done(job) <= done_before + 1
    assert not Project.objects.filter(name__endswith=f"of {job.id}").exists()
    assert event_types(job)[-1] == "job.cancelled"
    assert_gapless(job)


def test_a_job_whose_worker_is_killed_completes_exactly_once(job_worker, tenant):
    if job_worker is not None:
        # Services: SIGKILL the real worker's process group mid-job; a new worker starts.
        job = job_create(tenant=tenant, kind="selftest", input={"steps": 20, "delay": 0.1})
        wait_until(lambda: steps_done(job) >= 2, timeout=30, what="the job to make progress")
        job_worker.kill()
        job_worker.start()
    else:
        # Embedded: another process claims and runs the job, and is SIGKILLed mid-job; the
        # in-process worker gets it back from the sweep.
        job = job_create(
            tenant=tenant, kind="selftest", input={"steps": 20, "delay": 0.1}, dispatch=False
        )
        code = (
            "import django; django.setup(); from jobs.services import job_execute; "
            f"job_execute(job_id='{job.id}')"
        )
        runner = subprocess.Popen(
            [sys.executable, "-c", code],
            env=process_env(DJANGO_SETTINGS_MODULE="config.settings"),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_until(lambda: steps_done(job) >= 2, timeout=30, what="the job to make progress")
        finally:
            runner.kill()
            runner.wait(timeout=10)
    job.refresh_from_db()
    assert (job.status, job.attempts) == ("running", 1)

    # Its heartbeat goes stale (after 2 s here) and the sweep, as beat runs it, takes it back.
    wait_until(
        lambda: str(job.id) in job_sweep().requeued,
        timeout=30,
        what="the sweep to take the job back",
        every=0.5,
    )
    job = wait_for_status(job, "succeeded", "failed")

    assert (job.status, job.attempts) == ("succeeded", 2)
    assert event_types(job).count("job.succeeded") == 1
    assert "job.failed" not in event_types(job)
    assert "The worker running this job stopped responding; queued again." in event_messages(job)
    assert "Attempt 2 of 3." in event_messages(job)
    assert_gapless(job)
    assert job_sweep().requeued == []


def test_a_job_created_while_the_broker_is_down_runs_once_it_is_back(
    job_worker, member, tmp_path, settings
):
    settings.JOBS_REDISPATCH_AFTER_SECONDS = 0
    broker, redis, worker = ThisProcessBroker(), None, None
    try:
        if uses_memory_broker():
            broker.use(f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there
        else:
            redis = RedisServer(port=free_port())  # private: the shared Redis must stay up
            broker.use(redis.url())

        job = start_selftest(member, steps=2, delay=0)
        assert (job.status, job.dispatched_at, job.celery_task_id) == ("queued", None, "")

        if redis is None:
            broker.restore()  # the memory broker, which the in-process worker reads
        else:
            redis.start()  # back on the same address
            worker = CeleryWorker(log_dir=tmp_path, broker_url=redis.url())
            worker.start()
        assert str(job.id) in job_sweep().redispatched
        job = wait_for_status(job, "succeeded", "failed")
    finally:
        broker.restore()
        if worker is not None:
            worker.stop()
        if redis is not None:
            redis.stop()

    assert (job.status, job.attempts) == ("succeeded", 1)
    assert event_types(job).count("job.succeeded") == 1
