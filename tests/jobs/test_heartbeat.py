"""Heartbeats: every run in a process beats from the one heartbeat thread of that process."""

import threading

import pytest
from django.db import connections

from jobs import live
from jobs.services import job_create, job_execute
from tests.jobs import kinds  # noqa: F401 - registers the test job kinds

pytestmark = pytest.mark.django_db(transaction=True)


def test_runs_beat_from_one_thread_per_process(tenant, settings):
    settings.JOBS_HEARTBEAT_SECONDS = 0.1
    jobs = [
        job_create(
            tenant=tenant, kind="selftest", input={"steps": 2, "delay": 0.15}, dispatch=False
        )
        for _ in range(3)
    ]

    def run(job_id: str) -> None:
        try:
            job_execute(job_id=job_id)
        finally:
            connections.close_all()

    runs = [threading.Thread(target=run, args=[str(job.id)]) for job in jobs]
    for thread in runs:
        thread.start()
    for thread in runs:
        thread.join(timeout=30)

    beats = live.heartbeats_get(job_ids=[job.id for job in jobs])
    assert {beats[str(job.id)].attempt for job in jobs} == {1}
    names = [thread.name for thread in threading.enumerate()]
    assert names.count("heartbeat") == 1
