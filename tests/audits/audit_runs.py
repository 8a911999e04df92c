"""An imported and an audited project, and starting and verifying audits the way the API does."""

import json

import pytest

from jobs.models import Job
from jobs.services import job_execute
from projects.models import Position, Project
from tests.conftest import SAMPLE_DATA, Actor
from tests.projects.conftest import sample

EXPECTED = json.loads((SAMPLE_DATA / "budget-expected.json").read_text())


def start_audit(project: Project, actor: Actor, **body) -> Job:
    response = actor.client.post(f"/api/v1/projects/{project.id}/audits/", body, format="json")
    assert response.status_code == 202, response.content
    assert response.json()["kind"] == "audit_project"
    job_execute(job_id=response.json()["id"])
    job = Job.objects.get(pk=response.json()["id"])
    project.refresh_from_db()
    return job


def verdicts(project: Project, version: int = 1) -> dict[str, str]:
    rows = Position.objects.filter(project=project, valid_from__lte=version)
    return {row.line_key: row.audit_status for row in rows if not row.valid_to}


@pytest.fixture
def imported(project, import_file):
    import_file(project, sample("budget-v1-en.csv"), "budget-v1-en.csv")
    return project


@pytest.fixture
def audited(imported, sample_catalog, member):
    job = start_audit(imported, member)
    assert job.status == Job.Status.SUCCEEDED, job.error
    return imported


def verify(project: Project, actor: Actor) -> dict:
    response = actor.client.get(f"/api/v1/projects/{project.id}/reports/verify/")
    assert response.status_code == 200, response.content
    return response.json()
