"""On PostgreSQL a job created outside a transaction (an API POST) is published before its row is
inserted, and its claim waits for the creating transaction (docs/features/jobs.md, Dispatch): the
job runs once it is committed, never if its creation rolls back, and never twice. A claim whose
connection the server has just ended is made on a new one."""

import threading
import time

import pytest
from django.db import connection, connections

from jobs import dispatching
from jobs.models import Job, JobEvent
from jobs.services import job_create, job_execute
from tests.processes import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def postgresql():
    if connection.vendor != "postgresql":
        # SQLite has neither: jobs are published after the commit, and no server ends connections.
        pytest.skip("publishing before the commit and ending a backend are PostgreSQL's")


class Runner(threading.Thread):
    """A worker's run of the job, on a connection of its own: `job_execute`'s answer."""

    def __init__(self, job_id: str) -> None:
        super().__init__(daemon=True)
        self.job_id = job_id
        self.answer: Job | str | None = "not run"

    def run(self) -> None:
        try:
            self.answer = job_execute(job_id=self.job_id)
        finally:
            connections.close_all()


@pytest.fixture
def unsent(monkeypatch):
    """Jobs are not sent to any broker: the tests run them here, as a worker would."""
    monkeypatch.setattr(dispatching, "send_task", lambda *, job, task_id: None)


def waiting_runs(monkeypatch, *, runners: int, then=None) -> list[Runner]:
    """When a job has been published, before its row is inserted, start `runners` runs of it,
    check that they wait for the creating transaction, insert the row, then call `then` (e.g. to
    fail the creation)."""
    insert_counted = dispatching.insert_counted
    started: list[Runner] = []

    def run_then_insert(job: Job) -> None:
        assert connection.in_atomic_block
        started.extend(Runner(str(job.id)) for _ in range(runners))
        for runner in started:
            runner.start()
        for runner in started:
            runner.join(timeout=0.5)
            assert runner.is_alive(), "the claim did not wait for the creating transaction"
        insert_counted(job)
        if then is not None:
            then(job)

    monkeypatch.setattr(dispatching, "insert_counted", run_then_insert)
    return started


def test_a_job_published_before_its_commit_runs_once_it_is_committed(tenant, unsent, monkeypatch):
    runners = waiting_runs(monkeypatch, runners=1)

    job = job_create(tenant=tenant, kind="selftest", input={"steps": 1, "delay": 0})

    runners[0].join(timeout=10)
    job.refresh_from_db()
    assert (job.status, job.attempts) == ("succeeded", 1)
    assert isinstance(runners[0].answer, Job) and runners[0].answer.pk == job.pk


def test_two_claims_waiting_for_one_creation_run_the_job_once(tenant, unsent, monkeypatch):
    runners = waiting_runs(monkeypatch, runners=2)

    job = job_create(tenant=tenant, kind="selftest", input={"steps": 2, "delay": 0})

    for runner in runners:
        runner.join(timeout=10)
    assert sorted(runner.answer is None for runner in runners) == [False, True]
    job.refresh_from_db()
    assert (job.status, job.attempts) == ("succeeded", 1)
    seqs = list(JobEvent.objects.filter(job=job).order_by("seq").values_list("seq", flat=True))
    assert seqs == [1, 2, 3, 4]


def test_a_job_whose_creation_rolls_back_never_runs(tenant, unsent, monkeypatch):
    def fail(job: Job) -> None:
        raise RuntimeError("the request failed after publishing")

    runners = waiting_runs(monkeypatch, runners=1, then=fail)

    with pytest.raises(RuntimeError):
        job_create(tenant=tenant, kind="selftest", input={"steps": 1, "delay": 0})

    runners[0].join(timeout=10)
    assert runners[0].answer is None
    assert not Job.objects.exists()
    assert not JobEvent.objects.exists()


def test_a_real_worker_never_runs_a_job_whose_creation_rolled_back(job_worker, tenant, monkeypatch):
    if job_worker is None:
        pytest.skip("needs a worker process (the services mode)")
    insert_counted = dispatching.insert_counted
    published: list[tuple[str, str]] = []

    def insert_publish_then_fail(job: Job) -> None:
        insert_counted(job)
        dispatching.send_task(job=job, task_id=job.celery_task_id)
        published.append((str(job.id), job.celery_task_id))
        time.sleep(1)  # the worker's claim waits for this transaction meanwhile
        raise RuntimeError("the request failed after publishing")

    monkeypatch.setattr(dispatching, "insert_counted", insert_publish_then_fail)
    with pytest.raises(RuntimeError):
        job_create(tenant=tenant, kind="selftest", input={"steps": 1, "delay": 0})
    monkeypatch.setattr(dispatching, "insert_counted", insert_counted)

    [(job_id, task_id)] = published
    wait_until(
        lambda: f"run_job[{task_id}] succeeded" in job_worker.log_tail(1_000_000),
        timeout=30,
        what="the worker to take the rolled-back job's message",
    )
    assert not Job.objects.filter(pk=job_id).exists()
    assert not JobEvent.objects.exists()
    # The worker goes on running jobs.
    after = job_create(tenant=tenant, kind="selftest", input={"steps": 1, "delay": 0})
    wait_until(
        lambda: Job.objects.filter(pk=after.pk, status="succeeded").exists(),
        timeout=30,
        what="the next job",
    )


def test_a_claim_that_waits_too_long_leaves_the_job_to_the_sweep(tenant, unsent, monkeypatch):
    monkeypatch.setattr(dispatching, "CREATION_LOCK_TIMEOUT", "100ms")
    insert_counted = dispatching.insert_counted
    runners: list[Runner] = []

    def insert_then_run(job: Job) -> None:
        insert_counted(job)
        runners.append(Runner(str(job.id)))
        runners[0].start()
        runners[0].join(timeout=10)  # gives up while the creation is still open

    monkeypatch.setattr(dispatching, "insert_counted", insert_then_run)
    job = job_create(tenant=tenant, kind="selftest", input={"steps": 1, "delay": 0})

    assert runners[0].answer is None
    job.refresh_from_db()
    assert (job.status, job.attempts) == ("queued", 0)


def backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def end_backend(pid: int) -> None:
    """End a backend as the server does on a restart, from another connection, and wait until
    it is gone."""

    def end() -> None:
        try:
            with connections["default"].cursor() as cursor:
                cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
                gone = "SELECT NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = %s)"
                wait_until(
                    lambda: cursor.execute(gone, [pid]) or cursor.fetchone()[0],
                    timeout=10,
                    what="the backend to end",
                )
        finally:
            connections.close_all()

    ender = threading.Thread(target=end)
    ender.start()
    ender.join()


def test_a_claim_that_finds_its_connection_ended_claims_the_job_on_a_new_one(tenant, unsent):
    job = job_create(tenant=tenant, kind="selftest", input={"steps": 1, "delay": 0})
    ended = backend_pid()
    end_backend(ended)

    # Straight to the claim, as when the server ends the kept connection just after the check
    # before the task: without a second try the job would wait queued for the sweep.
    run = job_execute(job_id=str(job.id))

    assert run is not None and (run.status, run.attempts) == ("succeeded", 1)
    assert backend_pid() != ended
