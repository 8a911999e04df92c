"""Audit runs end to end (API → job → results), findings and waivers, the commands and the
admin."""

import json
from collections import Counter
from decimal import Decimal

import pytest
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command

from audits.models import AuditPolicy, AuditReport, Finding, Waiver
from audits.selectors import audit_policy_for
from audits.services import audit_run
from evidence.selectors import evidence_stored_bytes
from jobs.models import Job, JobEvent
from jobs.services import job_create, job_execute
from projects.models import Position, Project
from tests.audits.audit_runs import EXPECTED, start_audit, verdicts, verify
from tests.factories import PriceCatalogFactory, ProjectFactory
from tests.projects.conftest import sample

pytestmark = pytest.mark.django_db


class TestAuditRun:
    def test_the_sample_gets_exactly_the_expected_verdicts_and_counts(
        self, audited, sample_catalog, member
    ):
        assert verdicts(audited) == EXPECTED["verdicts"]
        counts = EXPECTED["audit_counts"]
        assert (audited.green_count, audited.amber_count, audited.red_count) == (
            counts["green"],
            counts["amber"],
            counts["red"],
        )
        job = Job.objects.get(kind="audit_project")
        assert job.result["counts"] == counts
        assert job.progress == 100
        steps = {e.payload.get("step") for e in JobEvent.objects.filter(job=job)}
        assert {"reading positions", "auditing", "writing the results"} <= steps
        assert job.result["catalog"] == str(sample_catalog.id)
        assert job.result["catalog_version"] == 1
        report = AuditReport.objects.get(project=audited)
        assert (report.number, report.previous_sha256, report.version.number) == (1, "", 1)
        assert (report.green_count, report.amber_count, report.red_count) == tuple(
            counts[k] for k in ("green", "amber", "red")
        )
        assert report.finding_count == Finding.objects.filter(project=audited).count() > 0
        assert audited.status == Project.Status.READY
        # The positions list filters by the new statuses.
        listing = member.client.get(f"/api/v1/projects/{audited.id}/positions/?status=red")
        assert len(listing.json()["results"]) == min(counts["red"], 50)

    def test_findings_say_which_rule_why_and_what_to_fix_citing_catalog_and_line(
        self, audited, sample_catalog
    ):
        cost = Finding.objects.filter(project=audited, rule="cost.deviation").first()
        assert cost.catalog_id == sample_catalog.id and cost.catalog_version == 1
        assert cost.catalog_item is not None and cost.catalog_item.code in cost.reasoning
        assert cost.evidence["catalog_item"] == str(cost.catalog_item_id)
        assert cost.suggested_fix and cost.role == "cost"
        assert cost.source_line == cost.position.source_line is not None
        roles = set(Finding.objects.filter(project=audited).values_list("role", flat=True))
        assert {"validation", "arithmetic", "catalog", "cost", "duplicates"} <= roles

    def test_the_report_is_stored_as_evidence_and_chains(self, audited, member):
        first = AuditReport.objects.get(project=audited)
        assert first.document.kind == "report" and first.document.project_id == audited.id
        document = json.loads(b"".join(default_storage.open(first.document.key).chunks()))
        assert document["number"] == 1 and document["counts"]["red"] == first.red_count
        assert len(document["positions"]["rows"]) == EXPECTED["positions"]
        start_audit(audited, member)
        second = AuditReport.objects.get(project=audited, number=2)
        assert second.previous_sha256 == first.sha256 != second.sha256
        assert verify(audited, member) == {
            "ok": True,
            "project": str(audited.id),
            "reports": 2,
            "problems": [],
        }

    def test_a_rerun_replaces_the_versions_results(self, audited, member):
        before = Finding.objects.filter(project=audited).count()
        start_audit(audited, member)
        assert Finding.objects.filter(project=audited).count() == before
        report = AuditReport.objects.get(project=audited, number=2)
        assert set(Finding.objects.filter(project=audited).values_list("report", flat=True)) == {
            report.id
        }
        assert verdicts(audited) == EXPECTED["verdicts"]

    def test_a_failed_rerun_leaves_the_previous_results(self, audited, member, tenant):
        findings = set(Finding.objects.filter(project=audited).values_list("id", flat=True))
        # Room for nothing more: the report cannot be stored, so nothing of the run stays.
        tenant.max_evidence_bytes = evidence_stored_bytes(tenant=tenant)
        tenant.save()
        job = start_audit(audited, member)
        assert job.status == Job.Status.FAILED
        assert job.error["code"] == "storage_quota_exceeded"
        assert set(Finding.objects.filter(project=audited).values_list("id", flat=True)) == findings
        assert AuditReport.objects.filter(project=audited).count() == 1
        assert audited.status == Project.Status.READY
        assert verify(audited, member)["ok"] is True

    def test_an_old_version_can_be_audited(self, audited, import_file, member):
        import_file(audited, sample("budget-v2-en.csv"), "budget-v2-en.csv")
        job = start_audit(audited, member, version=1)
        assert job.result["version"] == 1
        assert job.result["counts"] == EXPECTED["audit_counts"]
        assert verify(audited, member)["ok"] is True
        current = member.client.get(f"/api/v1/projects/{audited.id}/findings/").json()
        assert current["results"] == []  # version 2 is not audited yet
        old = member.client.get(f"/api/v1/projects/{audited.id}/findings/?version=1").json()
        assert old["results"]

    def test_without_a_catalog_only_the_catalog_free_rules_run(self, imported, member):
        job = start_audit(imported, member, catalog=None)
        assert job.status == Job.Status.SUCCEEDED and job.result["catalog"] is None
        roles = set(Finding.objects.filter(project=imported).values_list("role", flat=True))
        assert roles and not roles & {"catalog", "cost"}

    def test_a_tenant_policy_changes_the_thresholds(self, imported, sample_catalog, tenant):
        AuditPolicy.objects.create(tenant=tenant, cost_red_above=Decimal("0.05"))
        policy = audit_policy_for(tenant=tenant)
        assert policy.cost_red_above == Decimal("0.05")
        assert policy.arithmetic_rel_tolerance == Decimal("0.005")
        outcome = audit_run(project=imported, catalog=sample_catalog, policy=policy)
        assert outcome.report.red_count > EXPECTED["audit_counts"]["red"]

    def test_bad_input_is_refused_before_any_job(self, imported, project, member, outsider):
        url = f"/api/v1/projects/{imported.id}/audits/"
        assert member.client.post(url, {"version": 9}, format="json").status_code == 404
        foreign = PriceCatalogFactory(tenant=outsider.tenant)
        response = member.client.post(url, {"catalog": str(foreign.id)}, format="json")
        assert response.status_code == 404
        empty = PriceCatalogFactory(tenant=imported.tenant, version=0)
        response = member.client.post(url, {"catalog": str(empty.id)}, format="json")
        assert (response.status_code, response.json()["error"]["code"]) == (409, "catalog_empty")
        bare = ProjectFactory(tenant=imported.tenant)
        response = member.client.post(f"/api/v1/projects/{bare.id}/audits/", {}, format="json")
        assert (response.status_code, response.json()["error"]["code"]) == (409, "no_version")
        assert not Job.objects.filter(kind="audit_project").exists()

    def test_the_job_refuses_another_tenants_catalog(self, imported, outsider):
        foreign = PriceCatalogFactory(tenant=outsider.tenant)
        job = job_create(
            tenant=imported.tenant,
            kind="audit_project",
            input={"catalog": str(foreign.id)},
            project=imported,
            dispatch=False,
        )
        job_execute(job_id=str(job.id))
        job.refresh_from_db()
        assert (job.status, job.error["code"]) == (Job.Status.FAILED, "catalog_not_found")
        assert not Finding.objects.exists()

    def test_a_redelivered_job_finds_its_report(self, audited):
        job = Job.objects.get(kind="audit_project")
        Job.objects.filter(pk=job.pk).update(status=Job.Status.QUEUED)
        job_execute(job_id=str(job.id))
        job.refresh_from_db()
        assert job.result["redelivered"] is True
        assert AuditReport.objects.filter(project=audited).count() == 1

    def test_viewers_cannot_start_audits_but_read_the_results(self, audited, viewer):
        response = viewer.client.post(f"/api/v1/projects/{audited.id}/audits/", {}, format="json")
        assert response.status_code == 403
        for path in ("findings", "waivers", "reports", "reports/verify"):
            response = viewer.client.get(f"/api/v1/projects/{audited.id}/{path}/")
            assert response.status_code == 200, path

    def test_only_one_audit_or_import_at_a_time(self, imported, member):
        url = f"/api/v1/projects/{imported.id}/audits/"
        assert member.client.post(url, {}, format="json").status_code == 202
        assert member.client.post(url, {}, format="json").status_code == 409


class TestFindings:
    def test_list_filters_and_pages(self, audited, member, django_assert_max_num_queries):
        url = f"/api/v1/projects/{audited.id}/findings/"
        with django_assert_max_num_queries(8):
            page = member.client.get(url + "?page_size=20").json()
        assert len(page["results"]) == 20 and page["next"]
        seen, next_url = [], url + "?page_size=100"
        while next_url:
            page = member.client.get(next_url).json()
            seen += page["results"]
            next_url = page["next"]
        assert len(seen) == len({f["id"] for f in seen}) == Finding.objects.count()
        red = member.client.get(url + "?status=red").json()["results"]
        assert red and {f["recommendation"] for f in red} == {"red"}
        rule = member.client.get(url + "?rule=catalog.unknown_code").json()["results"]
        assert rule and {f["rule"] for f in rule} == {"catalog.unknown_code"}
        one = member.client.get(url + "?line_key=1").json()["results"]
        assert one and {f["line_key"] for f in one} == {"1"}
        assert one[0]["waived"] is False and one[0]["version"] == 1
        bad = member.client.get(url + "?status=purple")
        assert bad.status_code == 400

    def test_a_waiver_changes_the_status_and_stays_in_the_history(self, audited, member, viewer):
        # A red position whose only finding is red: waived, it turns green.
        per_line = Counter(Finding.objects.filter(project=audited).values_list("line_key"))
        finding = next(
            f
            for f in Finding.objects.filter(project=audited, recommendation="red")
            if per_line[(f.line_key,)] == 1
        )
        red_before = audited.red_count
        url = f"/api/v1/projects/{audited.id}/findings/{finding.id}/waive/"
        assert viewer.client.post(url, {"reason": "x"}, format="json").status_code == 403
        assert member.client.post(url, {"reason": " "}, format="json").status_code == 400
        response = member.client.post(url, {"reason": "Measured on site."}, format="json")
        assert response.status_code == 201, response.content
        waiver = response.json()
        assert waiver["active"] is True and waiver["reason"] == "Measured on site."
        assert waiver["actor"] and waiver["created_at"]
        position = Position.objects.get(pk=finding.position_id)
        assert position.audit_status == "green"
        audited.refresh_from_db()
        assert audited.red_count == red_before - 1
        assert member.client.post(url, {"reason": "again"}, format="json").status_code == 409
        listed = member.client.get(
            f"/api/v1/projects/{audited.id}/findings/?line_key={finding.line_key}"
        ).json()["results"]
        assert listed[0]["waived"] is True and listed[0]["waiver"] == waiver["id"]
        assert verify(audited, member)["ok"] is True

        # A re-audit keeps the waiver (by line key and rule).
        job = start_audit(audited, member)
        assert job.result["waived"] == 1
        assert job.result["counts"]["red"] == red_before - 1
        assert Position.objects.get(pk=finding.position_id).audit_status == "green"

        withdraw = f"/api/v1/projects/{audited.id}/waivers/{waiver['id']}/withdraw/"
        because = {"reason": "The supplier withdrew its quote."}
        assert viewer.client.post(withdraw, because, format="json").status_code == 403
        unexplained = member.client.post(withdraw, {"reason": " "}, format="json")
        assert unexplained.status_code == 400
        assert unexplained.json()["error"]["details"]["reason"]
        assert Waiver.objects.get().withdrawn_at is None
        response = member.client.post(withdraw, because, format="json")
        assert response.status_code == 200 and response.json()["active"] is False
        assert response.json()["withdrawn_reason"] == because["reason"]
        assert member.client.post(withdraw, because, format="json").status_code == 409
        assert Position.objects.get(pk=finding.position_id).audit_status == "red"
        audited.refresh_from_db()
        assert audited.red_count == red_before
        history = member.client.get(f"/api/v1/projects/{audited.id}/waivers/").json()["results"]
        assert [(w["id"], w["active"]) for w in history] == [(waiver["id"], False)]
        assert history[0]["withdrawn_by"]
        assert Waiver.objects.count() == 1
        assert verify(audited, member)["ok"] is True

    def test_waiving_an_older_audit_leaves_rows_a_newer_audit_covers(
        self, audited, import_file, member
    ):
        import_file(audited, sample("budget-v2-en.csv"), "budget-v2-en.csv")
        start_audit(audited, member)  # version 2, sharing its unchanged rows with version 1
        v1 = Finding.objects.filter(version__number=1)
        per_line = Counter(v1.values_list("line_key", flat=True))
        shared = next(  # alone on its row: waived, version 1 alone would make the row green
            f
            for f in v1.filter(recommendation="red", position__valid_to__isnull=True)
            if per_line[f.line_key] == 1
        )
        status = Position.objects.get(pk=shared.position_id).audit_status
        assert status == "red"
        url = f"/api/v1/projects/{audited.id}/findings/{shared.id}/waive/"
        assert member.client.post(url, {"reason": "old"}, format="json").status_code == 201
        assert Position.objects.get(pk=shared.position_id).audit_status == status
        assert verify(audited, member)["ok"] is True


class TestCommands:
    def test_audit_project_runs_the_job_inline(self, imported, sample_catalog, capsys):
        call_command("audit_project", str(imported.id), "--catalog", str(sample_catalog.id))
        out = capsys.readouterr()
        counts = EXPECTED["audit_counts"]
        assert f"{counts['green']} green, {counts['amber']} amber, {counts['red']} red" in out.out
        assert "100%" in out.err
        job = Job.objects.get(kind="audit_project")
        assert job.status == Job.Status.SUCCEEDED and job.input["actor"]

    def test_audit_project_fails_clearly(self, imported):
        jobs_before = Job.objects.count()
        with pytest.raises(CommandError, match="Version 7 not found"):
            call_command("audit_project", str(imported.id), "--version", "7")
        assert Job.objects.count() == jobs_before  # refused by audit_start, as the API refuses
        with pytest.raises(CommandError, match="No project"):
            call_command("audit_project", "00000000-0000-0000-0000-000000000000")

    def test_verify_reports(self, audited, tenant, capsys):
        call_command("verify_reports", "--tenant", tenant.slug)
        assert "1 projects, 1 reports checked, 0 with problems" in capsys.readouterr().out
        Position.objects.filter(project=audited, audit_status="red").update(audit_status="green")
        with pytest.raises(CommandError, match="1 with problems"):
            call_command("verify_reports")
        assert "TAMPERED" in capsys.readouterr().out
        with pytest.raises(CommandError, match="No tenant"):
            call_command("verify_reports", "--tenant", "nobody")


class TestAdmin:
    @pytest.fixture
    def superuser_client(self, client):
        from django.contrib.auth import get_user_model

        get_user_model().objects.create_superuser("root", "root@example.com", "pw-for-tests-only")
        client.login(username="root", password="pw-for-tests-only")
        return client

    def test_pages_and_the_verify_action(self, superuser_client, audited, member):
        finding = Finding.objects.filter(project=audited).first()
        member.client.post(
            f"/api/v1/projects/{audited.id}/findings/{finding.id}/waive/",
            {"reason": "ok"},
            format="json",
        )
        report = AuditReport.objects.get(project=audited)
        for url in (
            "/admin/audits/finding/",
            f"/admin/audits/finding/?project={audited.id}&recommendation=red",
            f"/admin/audits/finding/{finding.pk}/change/",
            "/admin/audits/waiver/",
            "/admin/audits/auditreport/",
            f"/admin/audits/auditreport/{report.pk}/change/",
            "/admin/audits/auditpolicy/",
            "/admin/audits/auditpolicy/add/",
        ):
            assert superuser_client.get(url).status_code == 200, url
        response = superuser_client.post(
            "/admin/audits/auditreport/",
            {"action": "verify_chain", "_selected_action": [str(report.pk)]},
            follow=True,
        )
        assert "chain intact" in response.content.decode()
        Position.objects.filter(project=audited, audit_status="red").update(audit_status="green")
        response = superuser_client.post(
            "/admin/audits/auditreport/",
            {"action": "verify_chain", "_selected_action": [str(report.pk)]},
            follow=True,
        )
        assert "tampered" in response.content.decode()

    def test_the_project_action_starts_an_audit(self, superuser_client, imported, sample_catalog):
        response = superuser_client.post(
            "/admin/projects/project/",
            {"action": "audit", "_selected_action": [str(imported.pk)]},
            follow=True,
        )
        assert response.status_code == 200
        job = Job.objects.get(kind="audit_project", project=imported)
        assert job.input["actor"] == "root"

    def test_the_admin_shows_other_tenants_nothing(self, client, audited, outsider):
        from tests.factories import MembershipFactory

        staff = MembershipFactory(tenant=outsider.tenant, role="admin").user
        staff.is_staff = True
        staff.save()
        from django.contrib.auth.models import Permission

        staff.user_permissions.set(
            Permission.objects.filter(
                codename__in=["view_finding", "view_auditreport", "view_waiver"]
            )
        )
        client.force_login(staff)
        finding = Finding.objects.filter(project=audited).first()
        report = AuditReport.objects.get(project=audited)
        assert str(finding.pk) not in client.get("/admin/audits/finding/").content.decode()
        assert client.get(f"/admin/audits/finding/{finding.pk}/change/").status_code in (
            302,
            404,
        )
        assert client.get(f"/admin/audits/auditreport/{report.pk}/change/").status_code in (
            302,
            404,
        )
