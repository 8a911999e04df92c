"""A storage server that stops answering (issue 20): the test freezes its own S3 server process
(SIGSTOP) and thaws it (SIGCONT). Requests answer 503 `storage_unavailable` JSON within the
storage timeouts, jobs retry, and nothing shown to a tenant names the endpoint, bucket or key."""

import os
import signal
import time
from contextlib import contextmanager

import pytest
from django.utils import timezone

from jobs.models import Job
from jobs.services import JobRetryScheduled, job_execute
from tests.evidence.helpers import csv_bytes, upload
from tests.projects.conftest import sample
from tests.s3server import start_s3_server

# Connect 2 s, read 4 s, 2 attempts (config/storages.py): well inside gunicorn's 30 s.
ANSWER_WITHIN = 15


@pytest.fixture
def private_s3(settings):
    server = start_s3_server()
    settings.STORAGES = {**settings.STORAGES, "default": server.storage()}
    yield server
    if server.process.poll() is None:
        os.kill(server.process.pid, signal.SIGCONT)
    server.stop()


@contextmanager
def frozen(server):
    os.kill(server.process.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(server.process.pid, signal.SIGCONT)


def leaks(text: str, server) -> bool:
    return any(
        part in text for part in (server.endpoint_url, "127.0.0.1", server.bucket, "tenants/")
    )


@pytest.mark.django_db
class TestFrozenStorage:
    def test_uploads_and_readyz_answer_503_json_in_time_and_recover(
        self, member, private_s3, client
    ):
        assert upload(member.client, csv_bytes("before")).status_code == 201
        with frozen(private_s3):
            started = time.monotonic()
            response = upload(member.client, csv_bytes("frozen"), name="frozen.csv")
            assert time.monotonic() - started < ANSWER_WITHIN
            assert response.status_code == 503
            assert response["Content-Type"] == "application/json"
            assert response.json()["error"]["code"] == "storage_unavailable"
            assert not leaks(response.content.decode(), private_s3)

            started = time.monotonic()
            ready = client.get("/readyz")
            assert time.monotonic() - started < ANSWER_WITHIN
            assert ready.status_code == 503
            assert ready.json()["components"]["storage"]["status"] == "down"
            assert not leaks(ready.content.decode(), private_s3)
        assert upload(member.client, csv_bytes("after"), name="after.csv").status_code == 201
        assert client.get("/readyz").json()["components"]["storage"]["status"] == "ok"


@pytest.mark.django_db
class TestJobsDuringAnOutage:
    def test_an_audit_retries_with_backoff_and_its_error_names_no_storage_detail(
        self, project, import_file, member, private_s3, settings
    ):
        settings.JOBS_MAX_ATTEMPTS = 2
        job = import_file(project, sample("budget-v1-en.csv"), "budget-v1-en.csv")
        assert job.status == "succeeded", job.error
        private_s3.stop()  # refused at once: the audit's report cannot be stored
        response = member.client.post(f"/api/v1/projects/{project.id}/audits/", {}, format="json")
        job_id = response.json()["id"]
        with pytest.raises(JobRetryScheduled):
            job_execute(job_id=job_id)
        job = Job.objects.get(pk=job_id)
        assert (job.status, job.attempts, job.error) == ("queued", 1, None)
        assert job.available_at is not None

        Job.objects.filter(pk=job_id).update(available_at=timezone.now())
        job_execute(job_id=job_id)  # the last attempt
        job.refresh_from_db()
        assert (job.status, job.error["code"]) == ("failed", "retries_exhausted")
        assert job.error["details"]["last_error"]["code"] == "storage_unavailable"
        shown = member.client.get(f"/api/v1/jobs/{job_id}/").content.decode()
        shown += member.client.get(f"/api/v1/jobs/{job_id}/events/").content.decode()
        assert not leaks(shown, private_s3)
