"""Fixtures for tests that need jobs to run the way they run in production: dispatched through a
broker to a worker. With services (Redis broker) that is a real `celery worker` process; on the
embedded default it is the in-process worker thread on the memory broker, as `make run` has it."""

import pytest

from config.inprocess import inprocess_worker_start, inprocess_worker_stop
from tests.jobs import kinds  # noqa: F401 - registers the test job kinds
from tests.processes import (
    FAST_JOB_SETTINGS,
    CeleryWorker,
    purge_broker,
    uses_memory_broker,
)


@pytest.fixture
def fast_jobs(settings):
    """This process uses the short heartbeats and backoffs the worker processes use."""
    for name, value in FAST_JOB_SETTINGS.items():
        setattr(settings, name, value)


@pytest.fixture(scope="module")
def celery_worker(django_db_setup, tmp_path_factory):
    """With a Redis broker: one real worker process for the module (tests may kill and restart
    it). On the embedded default: None."""
    if uses_memory_broker():
        yield None
        return
    purge_broker()
    worker = CeleryWorker(log_dir=tmp_path_factory.mktemp("celery"))
    worker.start()
    yield worker
    worker.stop()


@pytest.fixture
def job_worker(transactional_db, fast_jobs, celery_worker):
    """Something that runs dispatched jobs: the real worker process (started again if a test
    killed it), or the in-process worker for this test."""
    if celery_worker is not None:
        if not celery_worker.alive():
            celery_worker.start()
        yield celery_worker
        return
    purge_broker()
    inprocess_worker_start(beat=False)
    yield None
    inprocess_worker_stop()
