"""An import can name a document the tenant keeps already, instead of uploading the file again."""

import pytest

from jobs.models import Job
from jobs.services import job_execute
from projects.models import BudgetVersion
from tests.evidence.helpers import upload
from tests.projects.conftest import sample


@pytest.mark.django_db
class TestImportFromEvidence:
    def test_a_document_becomes_version_1(self, member, project):
        evidence = upload(member.client, sample("budget-v1-en.csv"), name="budget-v1-en.csv").json()

        response = member.client.post(
            f"/api/v1/projects/{project.id}/imports/", {"evidence": evidence["id"]}, format="json"
        )
        assert response.status_code == 202, response.content
        assert response.json()["input"]["evidence"] == evidence["id"]
        job_execute(job_id=response.json()["id"])

        job = Job.objects.get(pk=response.json()["id"])
        assert job.status == Job.Status.SUCCEEDED, job.error
        version = BudgetVersion.objects.get(project=project)
        assert (version.number, version.position_count) == (1, 300)
        assert str(version.total_cost) == "186349633.20"

    def test_another_tenants_document_is_404_and_starts_nothing(self, member, outsider, project):
        theirs = upload(outsider.client, sample("budget-v1-en.csv")).json()
        response = member.client.post(
            f"/api/v1/projects/{project.id}/imports/", {"evidence": theirs["id"]}, format="json"
        )
        assert response.status_code == 404
        assert not Job.objects.filter(project=project).exists()

    def test_neither_a_file_nor_a_document_is_400(self, member, project):
        response = member.client.post(f"/api/v1/projects/{project.id}/imports/", {}, format="json")
        assert response.status_code == 400
        assert "either a file or an evidence id" in response.json()["error"]["message"]
