"""The job lifecycle run inline: the same `job_execute` the Celery task calls."""

import pytest
from django.db import transaction

from config.errors import ApiError
from jobs.models import Job, JobEvent
from jobs.progress import Progress
from jobs.registry import job_kind
from jobs.services import job_cancel, job_create, job_execute
from tenants.models import Tenant, UsageCounter
from tests.factories import ProjectFactory


@job_kind("test_writes_in_a_transaction")
def writes_in_a_transaction(job: Job, progress: Progress) -> dict:
    """Reports progress while holding a transaction, then fails if asked: nothing it wrote stays."""
    with transaction.atomic():
        for i in range(1, 4):
            ProjectFactory(tenant=job.tenant, name=f"written by job {i}")
            progress.update(i, 3, step=f"row {i}")
        if job.input.get("fail"):
            raise RuntimeError("disk on fire")
    return {"rows": 3}


def events(job: Job) -> list[tuple[int, str]]:
    return list(JobEvent.objects.filter(job=job).values_list("seq", "type"))


@pytest.mark.django_db(transaction=True)
class TestJobLifecycle:
    def test_a_selftest_runs_to_success_with_gapless_events(self, tenant):
        job = job_create(tenant=tenant, kind="selftest", input={"steps": 3, "delay": 0})
        job_execute(job_id=job.id)
        job.refresh_from_db()
        assert (job.status, job.progress, job.result, job.attempts) == (
            "succeeded",
            100,
            {"steps": 3},
            1,
        )
        assert job.started_at <= job.finished_at
        seqs = [seq for seq, _ in events(job)]
        assert seqs == list(range(1, len(seqs) + 1))
        assert events(job)[-1][1] == "job.succeeded"
        assert [t for _, t in events(job)].count("job.progress") == 3
        assert job.last_seq == seqs[-1]

    def test_bad_input_fails_at_once_with_a_clear_error(self, tenant):
        job = job_create(
            tenant=tenant, kind="selftest", input={"steps": 3, "delay": 0, "fail_at": 2}
        )
        job_execute(job_id=job.id)
        job.refresh_from_db()
        assert job.status == "failed"
        assert job.error == {
            "code": "selftest_failure",
            "message": "Failed at step 2 as asked.",
            "details": {},
        }
        assert events(job)[-1][1] == "job.failed"

    def test_a_job_runs_at_most_once(self, tenant):
        job = job_create(tenant=tenant, kind="selftest", input={"steps": 1, "delay": 0})
        assert job_execute(job_id=job.id) is not None
        assert job_execute(job_id=job.id) is None  # a redelivered message finds it finished
        job.refresh_from_db()
        assert job.attempts == 1
        assert [t for _, t in events(job)].count("job.succeeded") == 1

    def test_a_job_cancelled_while_queued_never_runs(self, tenant):
        job = job_create(tenant=tenant, kind="selftest", input={"steps": 1, "delay": 0})
        job_cancel(job=job)
        job_execute(job_id=job.id)
        job.refresh_from_db()
        assert job.status == "cancelled"
        assert [t for _, t in events(job)] == ["job.cancelled"]

    def test_a_crash_rolls_back_the_handlers_writes_and_keeps_its_events(self, tenant):
        project = ProjectFactory(tenant=tenant)
        job = job_create(
            tenant=tenant,
            kind="test_writes_in_a_transaction",
            project=project,
            input={"fail": True},
        )
        job_execute(job_id=job.id)
        job.refresh_from_db()
        assert job.status == "failed"
        assert job.error["code"] == "internal_error"
        assert "disk on fire" in job.error["message"]
        assert not tenant_projects_named(tenant, "written by job")
        # The progress reported inside the rolled-back transaction is still replayable, in order.
        assert [t for _, t in events(job)] == ["job.progress"] * 3 + ["job.failed"]
        assert [s for s, _ in events(job)] == [1, 2, 3, 4]

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


def tenant_projects_named(tenant: Tenant, prefix: str) -> list:
    from projects.models import Project

    return list(Project.objects.for_tenant(tenant).filter(name__startswith=prefix))
