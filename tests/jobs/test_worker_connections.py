"""Worker processes keep their database connection from one task to the next, health-checked
between tasks as the web side does between requests (CONN_MAX_AGE, CONN_HEALTH_CHECKS): a task
does not start by connecting, and a connection that broke while the worker waited is replaced
before a job uses it. PostgreSQL and a real worker process only: the proof is pg_backend_pid()."""

from collections import defaultdict

import pytest
from django.db import connection

from jobs.models import Job
from jobs.services import job_create
from tests.processes import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def worker(job_worker):
    if job_worker is None or connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL and a worker process (the services mode)")
    return job_worker


def finished(job_id) -> Job:
    return wait_until(
        lambda: Job.objects.filter(pk=job_id, status__in=Job.FINISHED).first(),
        timeout=30,
        what="the job to finish",
    )


def run_one_by_one(tenant, count: int) -> list[dict]:
    """`count` backend-pid jobs, each started after the previous one finished."""
    results = []
    for _ in range(count):
        job = finished(job_create(tenant=tenant, kind="test_backend_pid", input={}).pk)
        assert job.status == Job.Status.SUCCEEDED, job.error
        results.append(job.result)
    return results


def backends_by_worker(results: list[dict]) -> dict[int, set[int]]:
    backends = defaultdict(set)
    for result in results:
        backends[result["worker_pid"]].add(result["backend_pid"])
    return backends


def test_a_worker_process_runs_its_jobs_on_one_connection(worker, tenant):
    # Five jobs on a pool of two processes: at least one process runs several of them.
    results = run_one_by_one(tenant, 5)
    assert all(len(pids) == 1 for pids in backends_by_worker(results).values()), results


def test_a_connection_killed_between_jobs_is_replaced_and_no_job_fails(worker, tenant):
    before = backends_by_worker(run_one_by_one(tenant, 3))
    killed = set().union(*before.values())
    with connection.cursor() as cursor:
        for pid in killed:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])

    after = backends_by_worker(run_one_by_one(tenant, 5))
    assert not killed & set().union(*after.values())
    assert all(len(pids) == 1 for pids in after.values()), after
