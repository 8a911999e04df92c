"""Audit reports: listed and read per tenant, and the tampering their verification detects."""

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command

from audits.models import AuditReport, Finding, Waiver
from projects.models import Position, Project
from tests.audits.audit_runs import EXPECTED, start_audit, verify
from tests.factories import ProjectFactory
from tests.projects.conftest import sample

pytestmark = pytest.mark.django_db


class TestTampering:
    def test_a_changed_stored_report_is_detected(self, audited, member):
        report = AuditReport.objects.get(project=audited)
        content = b"".join(default_storage.open(report.document.key).chunks())
        forged = content.replace(b'"red"', b'"green"', 1)
        default_storage.delete(report.document.key)
        default_storage.save(report.document.key, ContentFile(forged))
        result = verify(audited, member)
        assert result["ok"] is False
        assert any("SHA-256" in problem for problem in result["problems"])
        with pytest.raises(CommandError):
            call_command("verify_reports", "--project", str(audited.id))

    def test_a_missing_stored_report_is_detected(self, audited, member):
        report = AuditReport.objects.get(project=audited)
        default_storage.delete(report.document.key)
        assert verify(audited, member)["problems"] == ["report 1: the stored document is missing"]

    def test_a_changed_finding_row_is_detected(self, audited, member):
        finding = Finding.objects.filter(project=audited, recommendation="red").first()
        Finding.objects.filter(pk=finding.pk).update(recommendation="green")
        result = verify(audited, member)
        assert result["ok"] is False
        assert any(str(finding.position_id) in problem for problem in result["problems"])

    def test_a_changed_position_status_is_detected(self, audited, member):
        position = Position.objects.filter(project=audited, audit_status="red").first()
        Position.objects.filter(pk=position.pk).update(audit_status="green")
        result = verify(audited, member)
        assert result["ok"] is False
        assert any(f"position {position.pk} is green" in problem for problem in result["problems"])

    def test_changed_counts_and_report_rows_are_detected(self, audited, member):
        Project.objects.filter(pk=audited.pk).update(red_count=0)
        assert any("red count" in p for p in verify(audited, member)["problems"])
        Project.objects.filter(pk=audited.pk).update(red_count=EXPECTED["audit_counts"]["red"])
        assert verify(audited, member)["ok"] is True
        AuditReport.objects.filter(project=audited).update(red_count=1)
        assert any("red 1" in p for p in verify(audited, member)["problems"])
        AuditReport.objects.filter(project=audited).update(sha256="f" * 64)
        assert verify(audited, member)["ok"] is False

    def test_a_deleted_finding_is_detected(self, audited, viewer):
        assert verify(audited, viewer)["ok"] is True  # anyone with access can verify
        Finding.objects.filter(project=audited).first().delete()
        assert verify(audited, viewer)["ok"] is False

    def test_a_changed_finding_of_an_older_versions_audit_is_detected(
        self, audited, import_file, member
    ):
        import_file(audited, sample("budget-v2-en.csv"), "budget-v2-en.csv")
        start_audit(audited, member)
        assert verify(audited, member)["ok"] is True
        old = Finding.objects.filter(version__number=1, recommendation="amber").first()
        Finding.objects.filter(pk=old.pk).update(reasoning="Nothing to see here.")
        result = verify(audited, member)
        assert result["ok"] is False
        assert any(
            p.startswith("report 1:") and str(old.position_id) in p for p in result["problems"]
        )


class TestReports:
    def test_list_detail_and_document(self, audited, member):
        reports = member.client.get(f"/api/v1/projects/{audited.id}/reports/").json()["results"]
        assert len(reports) == 1
        report = reports[0]
        assert report["number"] == 1 and report["version"] == 1
        detail = member.client.get(f"/api/v1/reports/{report['id']}/").json()
        assert detail == report
        assert detail["document"]["download"] == (
            f"/api/v1/evidence/{detail['document']['id']}/download/"
        )
        assert member.client.get(detail["document"]["download"]).status_code == 302

    def test_another_tenant_gets_404_everywhere(self, audited, outsider):
        finding = Finding.objects.filter(project=audited).first()
        report = AuditReport.objects.get(project=audited)
        base = f"/api/v1/projects/{audited.id}"
        for url in (
            f"{base}/findings/",
            f"{base}/waivers/",
            f"{base}/reports/",
            f"{base}/reports/verify/",
            f"/api/v1/reports/{report.id}/",
        ):
            assert outsider.client.get(url).status_code == 404, url
        for url in (f"{base}/audits/", f"{base}/findings/{finding.id}/waive/"):
            response = outsider.client.post(url, {"reason": "mine"}, format="json")
            assert response.status_code == 404, url
        assert not Waiver.objects.exists()

    def test_a_finding_of_another_project_is_404(self, audited, member, tenant):
        other = ProjectFactory(tenant=tenant)
        finding = Finding.objects.filter(project=audited).first()
        url = f"/api/v1/projects/{other.id}/findings/{finding.id}/waive/"
        assert member.client.post(url, {"reason": "x"}, format="json").status_code == 404
