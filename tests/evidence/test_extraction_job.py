"""Every upload with text to read queues one `extract_evidence_text` job, committed with the
upload; the job runs here inline through `job_execute`, the function the Celery task calls."""

import pytest

from evidence.models import Evidence
from jobs.models import Job
from tenants.models import UsageCounter
from tests.evidence.helpers import PNG, csv_bytes, pdf_bytes, run_extraction_jobs, upload
from tests.factories import ProjectFactory, UsageCounterFactory


def extraction_jobs() -> list[Job]:
    return list(Job.objects.filter(kind="extract_evidence_text"))


@pytest.mark.django_db
class TestExtractionJob:
    def test_an_upload_queues_one_job_that_extracts_the_text(self, member, tenant):
        project = ProjectFactory(tenant=tenant)
        body = upload(member.client, csv_bytes("Kalkulace"), project=str(project.pk)).json()

        [job] = extraction_jobs()
        assert (job.status, job.queue, job.project, job.input) == (
            "queued",
            "low",
            project,
            {"evidence": body["id"]},
        )
        assert Evidence.objects.get(pk=body["id"]).text_status == "pending"

        run_extraction_jobs()

        job.refresh_from_db()
        evidence = Evidence.objects.get(pk=body["id"])
        assert job.status == "succeeded"
        assert job.result == {
            "evidence": body["id"],
            "text_status": "extracted",
            "characters": len(evidence.text),
        }
        assert "Kalkulace" in evidence.text

    def test_it_is_not_counted_against_the_monthly_job_quota(self, member, tenant):
        tenant.max_jobs_per_month = 1
        tenant.save()
        UsageCounterFactory(tenant=tenant, metric=UsageCounter.Metric.JOBS_STARTED, value=1)

        response = upload(member.client, csv_bytes("quota"))

        assert response.status_code == 201
        assert len(extraction_jobs()) == 1
        assert UsageCounter.objects.get(tenant=tenant, metric="jobs_started").value == 1

    def test_documents_without_text_and_duplicates_queue_nothing(self, member):
        photo = upload(member.client, PNG, name="photo.png").json()
        upload(member.client, csv_bytes("dup"))
        upload(member.client, csv_bytes("dup"))

        assert Evidence.objects.get(pk=photo["id"]).text_status == "not_applicable"
        assert len(extraction_jobs()) == 1

    def test_an_unreadable_document_fails_its_job_with_the_reason(self, member):
        upload(member.client, b"%PDF-1.4\n" + b"\x00garbage" * 100, name="broken.pdf")

        [job] = run_extraction_jobs()

        assert job.status == "failed"
        assert job.error["code"] == "unreadable_document"
        assert job.error["message"].startswith("Not a readable PDF")

    def test_a_document_gone_before_its_job_runs(self, member, tenant):
        body = upload(member.client, pdf_bytes("short-lived")).json()
        Evidence.objects.filter(pk=body["id"]).delete()

        [job] = run_extraction_jobs()

        assert job.status == "failed"
        assert job.error["code"] == "not_found"
