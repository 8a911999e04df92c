"""Auditing from a project's admin page and working the findings there: the audit of a chosen
version and catalog, waive with a reason, withdraw, attach a document; each through the API's
services, a refusal always a message."""

import pytest

from audits.models import AuditReport, Finding, Waiver
from evidence.models import Attachment
from jobs.models import Job
from jobs.services import job_execute
from tests.factories import EvidenceFactory
from tests.projects.conftest import sample

pytestmark = pytest.mark.django_db


@pytest.fixture
def audited(root_client, project, import_file, sample_catalog):
    import_file(project, sample("budget-v1-en.csv"), "budget-v1-en.csv")
    response = root_client.post(
        f"/admin/projects/project/{project.pk}/audit/",
        {"version": "1", "catalog": str(sample_catalog.pk)},
        follow=True,
    )
    job = Job.objects.get(kind="audit_project")
    assert response.redirect_chain[-1][0] == f"/admin/jobs/job/{job.pk}/change/"
    assert job.input["catalog"] == str(sample_catalog.pk) and job.input["version"] == 1
    job_execute(job_id=job.id)
    project.refresh_from_db()
    return project


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def findings_page(client, project, **query):
    return client.get(f"/admin/projects/project/{project.pk}/findings/", query)


def test_the_audit_makes_a_report_and_findings_per_position(root_client, audited):
    assert AuditReport.objects.filter(project=audited).count() == 1
    response = findings_page(root_client, audited)
    page = response.context["page"]
    assert page.paginator.count == Finding.objects.filter(project=audited).count() > 0
    reds = findings_page(root_client, audited, status="red").context["page"]
    assert all(f.recommendation == "red" for f in reds)
    panel = root_client.get(f"/admin/projects/project/{audited.pk}/change/").content.decode()
    assert "Verify the report chain" in panel


def test_waive_needs_a_reason_then_withdraw(root_client, audited):
    finding = Finding.objects.filter(project=audited).exclude(recommendation="green").first()
    url = f"/admin/projects/project/{audited.pk}/findings/{finding.pk}/waive/"
    empty = root_client.post(url, {"reason": "  "}, follow=True)
    assert any("say why" in m for m in messages_of(empty))
    assert not Waiver.objects.exists()
    done = root_client.post(url, {"reason": "Agreed with the client."}, follow=True)
    waiver = Waiver.objects.get()
    assert (waiver.reason, waiver.actor, waiver.rule) == (
        "Agreed with the client.",
        "root",
        finding.rule,
    )
    assert any("Waived" in m for m in messages_of(done))
    twice = root_client.post(url, {"reason": "again"}, follow=True)
    assert any("waived already" in m for m in messages_of(twice))
    withdraw = f"/admin/projects/project/{audited.pk}/waivers/{waiver.pk}/withdraw/"
    unexplained = root_client.post(withdraw, {"reason": ""}, follow=True)
    assert any("say why" in m for m in messages_of(unexplained))
    waiver.refresh_from_db()
    assert waiver.withdrawn_at is None
    root_client.post(withdraw, {"reason": "The quote was withdrawn."}, follow=True)
    waiver.refresh_from_db()
    assert waiver.withdrawn_at is not None and waiver.withdrawn_by == "root"
    assert waiver.withdrawn_reason == "The quote was withdrawn."
    findings_page = root_client.get(f"/admin/projects/project/{audited.pk}/findings/")
    assert "The quote was withdrawn." in findings_page.content.decode()
    again = root_client.post(withdraw, {"reason": "again"}, follow=True)
    assert any("withdrawn already" in m for m in messages_of(again))


def test_a_document_is_attached_to_a_finding(root_client, audited):
    document = EvidenceFactory(tenant=audited.tenant, project=audited, name="quote.txt")
    finding = Finding.objects.filter(project=audited).first()
    url = f"/admin/projects/project/{audited.pk}/findings/{finding.pk}/attach/"
    root_client.post(url, {"evidence": str(document.pk)}, follow=True)
    attachment = Attachment.objects.get(evidence=document)
    assert (attachment.line_key, attachment.rule) == (finding.line_key, finding.rule)
    missing = root_client.post(url, {"evidence": "nonsense"}, follow=True)
    assert any("Choose one of the project's documents" in m for m in messages_of(missing))


def test_auditing_against_an_empty_catalog_is_a_message(root_client, project, import_file):
    from tests.factories import PriceCatalogFactory

    import_file(project, sample("budget-v1-en.csv"), "budget-v1-en.csv")
    empty = PriceCatalogFactory(tenant=project.tenant, version=0)
    response = root_client.post(
        f"/admin/projects/project/{project.pk}/audit/", {"catalog": str(empty.pk)}, follow=True
    )
    assert not Job.objects.filter(kind="audit_project").exists()
    # An empty catalog is not offered: the form refuses it before the service would.
    assert any("catalog" in m.lower() for m in messages_of(response))


def test_the_report_chain_is_verified_from_the_project_page(root_client, audited):
    response = root_client.post(
        f"/admin/projects/project/{audited.pk}/reports/verify/", follow=True
    )
    assert any("Chain intact (1 reports)" in m for m in messages_of(response))
