"""Imports end to end: upload → `import_budget` job → a version (or a failed job and nothing)."""

import io
import json
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from jobs.models import Job
from jobs.services import job_create, job_execute
from projects.models import BudgetVersion, Position, Project
from projects.rows import CONTENT_FIELDS
from projects.sources import import_source_save
from tenants.models import Tenant
from tests.conftest import SAMPLE_DATA
from tests.factories import ProjectFactory
from tests.projects.conftest import sample
from tests.projects.test_importers import kros_workbook

EXPECTED = json.loads((SAMPLE_DATA / "budget-expected.json").read_text())
pytestmark = pytest.mark.django_db


def content(project: Project) -> list[tuple]:
    return list(
        Position.objects.filter(project=project, valid_to__isnull=True)
        .order_by("ordinal")
        .values_list("line_key", *CONTENT_FIELDS)
    )


class TestSamples:
    @pytest.mark.parametrize("name", ["budget-v1-en.csv", "budget-v1-cs.csv", "budget-v1.xlsx"])
    def test_every_format_of_the_sample_is_the_expected_budget(
        self, name, project, member, import_file
    ):
        job = import_file(project, sample(name), name)
        assert job.status == "succeeded", job.error
        assert (job.result["version"], job.result["positions"]) == (1, EXPECTED["positions"])
        assert job.result["total_cost"] == EXPECTED["total_cost"]
        assert job.progress == 100
        assert (project.status, project.current_version.number) == ("ready", 1)
        assert project.position_count == EXPECTED["positions"]
        assert project.total_cost == Decimal(EXPECTED["total_cost"])
        version = project.current_version
        assert (version.trigger, version.source_name, version.added_count) == ("import", name, 300)
        assert version.actor == f"API key member key ({member.api_key.prefix})"
        assert version.job_id == job.id

    def test_the_three_formats_give_the_same_positions(self, tenant, import_file):
        budgets = []
        for name in ("budget-v1-en.csv", "budget-v1-cs.csv", "budget-v1.xlsx"):
            project = ProjectFactory(tenant=tenant)
            import_file(project, sample(name), name)
            budgets.append(content(project))
        assert budgets[0] == budgets[1] == budgets[2]
        assert len(budgets[0]) == 300

    def test_the_unixml_sample(self, project, import_file):
        job = import_file(project, sample("budget-v1.unixml.xml"), "budget-v1.unixml.xml")
        assert job.status == "succeeded", job.error
        assert project.position_count == EXPECTED["unixml"]["positions"]
        assert project.total_cost == Decimal(EXPECTED["unixml"]["total_cost"])

    def test_a_kros_export(self, project, import_file):
        job = import_file(project, kros_workbook(), "stavba.xlsx")
        assert job.status == "succeeded", job.error
        assert project.position_count == 4
        assert job.result["notes"]["skipped_sheets"] == ["Rekapitulace stavby"]

    def test_version_2_from_the_revised_budget_and_its_diff(self, project, member, import_file):
        import_file(project, sample("budget-v1-en.csv"), "budget-v1-en.csv")
        job = import_file(project, sample("budget-v2-en.csv"), "budget-v2-en.csv")
        assert job.status == "succeeded", job.error
        v2 = EXPECTED["v2"]
        assert job.result["changes"] == {
            "added": len(v2["added"]),
            "removed": len(v2["removed"]),
            "modified": len(v2["modified"]),
        }
        assert job.result["delta_cost"] == v2["delta_cost"]
        assert (project.current_version.number, project.position_count) == (2, v2["positions"])
        assert project.total_cost == Decimal(v2["total_cost"])

        diff = member.client.get(f"/api/v1/projects/{project.id}/diff/?from=1&to=2").json()
        assert [p["position_number"] for p in diff["added"]] == v2["added"]
        assert [p["position_number"] for p in diff["removed"]] == v2["removed"]
        assert [p["position_number"] for p in diff["modified"]] == v2["modified"]
        assert diff["delta_cost"] == v2["delta_cost"]
        assert diff["counts"] == job.result["changes"]
        assert diff["modified"][0]["changes"] == {
            "quantity": {"from": "249", "to": "373.5"},
            "total_price": {"from": "351680.13", "to": "527520.20"},
        }

    def test_rows_a_new_version_leaves_alone_are_shared_not_copied(self, project, import_file):
        import_file(project, sample("budget-v1-en.csv"), "budget-v1-en.csv")
        before = Position.objects.get(project=project, line_key="2")
        import_file(project, sample("budget-v2-en.csv"), "budget-v2-en.csv")
        assert Position.objects.get(project=project, line_key="2") == before
        assert before.valid_from == 1 and Position.objects.get(pk=before.pk).valid_to is None
        # Position 1 changed: its v1 row is closed at 2 and a new row opened.
        rows = Position.objects.filter(project=project, line_key="1").order_by("valid_from")
        assert [(r.valid_from, r.valid_to) for r in rows] == [(1, 2), (2, None)]

    def test_the_same_file_twice_makes_no_version(self, project, import_file, listen):
        import_file(project, sample("budget-v1-en.csv"), "a.csv")
        events = listen(project)
        job = import_file(project, sample("budget-v1-en.csv"), "a.csv")
        assert job.status == "succeeded", job.error
        assert job.result["unchanged"] is True
        assert job.result["message"].startswith("No changes: the file holds the same budget as ")
        assert job.result["changes"] == {"added": 0, "removed": 0, "modified": 0}
        assert (job.result["version"], job.result["positions"]) == (1, 300)
        assert BudgetVersion.objects.filter(project=project).count() == 1
        assert (project.status, project.current_version.number) == ("ready", 1)
        assert Position.objects.filter(project=project).count() == 300
        # No version.created event: nothing was committed.
        received = []
        while True:
            try:
                received.append(events.receive(timeout=0.3)["type"])
            except TimeoutError:
                break
        assert received and "version.created" not in received

    def test_the_same_budget_from_another_format_changes_nothing(self, project, import_file):
        import_file(project, sample("budget-v1-en.csv"), "a.csv")
        Position.objects.filter(project=project).update(audit_status="red")
        job = import_file(project, sample("budget-v1.xlsx"), "a.xlsx")
        assert job.result["changes"] == {"added": 0, "removed": 0, "modified": 0}
        assert job.result["unchanged"] is True
        assert Position.objects.filter(project=project, audit_status="red").count() == 300

    def test_insertions_and_moves_keep_the_file_order_of_every_version(
        self, project, member, import_file
    ):
        def budget(*rows: str) -> bytes:
            lines = [f"{r},{r.lower()},m,1,{ord(r)}.00,{ord(r)}.00" for r in rows]
            return ("No,Description,Unit,Quantity,Unit price,Total\n" + "\n".join(lines)).encode()

        def listed(version: int) -> list[str]:
            url = f"/api/v1/projects/{project.id}/positions/?version={version}"
            return [p["line_key"] for p in member.client.get(url).json()["results"]]

        import_file(project, budget("A", "B", "C", "D", "E"), "v1.csv")
        Position.objects.filter(project=project).update(audit_status="green")
        job = import_file(project, budget("A", "X", "B", "D", "C", "E", "F"), "v2.csv")
        assert listed(1) == ["A", "B", "C", "D", "E"]
        assert listed(2) == ["A", "X", "B", "D", "C", "E", "F"]
        assert job.result["changes"] == {"added": 2, "removed": 0, "modified": 0}
        # Only the new rows and the one that moved were written; the moved one kept its verdict.
        written = Position.objects.filter(project=project, valid_from=2)
        assert sorted(written.values_list("line_key", "audit_status")) == [
            ("C", "green"),
            ("F", "unaudited"),
            ("X", "unaudited"),
        ]


def bomb() -> bytes:
    entities = "".join(
        f'<!ENTITY l{i} "{"".join(f"&l{i - 1};" for _ in range(10))}">' for i in range(1, 10)
    )
    return (
        f'<?xml version="1.0"?><!DOCTYPE unixml [<!ENTITY l0 "lol">{entities}]>'
        '<unixml verze="1.2">&l9;</unixml>'
    ).encode()


def non_numeric_quantity() -> bytes:
    lines = sample("budget-v1-cs.csv").decode("cp1250").splitlines()
    cells = lines[16].split(";")
    cells[4] = "abc"
    lines[16] = ";".join(cells)
    return "\r\n".join(lines).encode("cp1250")


BROKEN = {
    "truncated XLSX": (
        "budget.xlsx",
        lambda: sample("budget-v1.xlsx")[:10_000],
        "unreadable_spreadsheet",
        "not a readable XLSX workbook",
    ),
    "invalid XML": (
        "budget.xml",
        lambda: sample("budget-v1.unixml.xml")[:50_000],
        "invalid_xml",
        "The XML is not well-formed: line",
    ),
    "XML entity bomb": ("bomb.xml", bomb, "forbidden_xml", "declares a DTD or entities"),
    "missing columns": (
        "budget.csv",
        lambda: b"Item,Code,Description,Unit,Unit price,Total\n1,A,Wall,m,1.00,1.00\n",
        "missing_columns",
        'the header row has no column "quantity"',
    ),
    "non-numeric quantity": (
        "budget-v1-cs.csv",
        non_numeric_quantity,
        "invalid_file",
        'row 17, column "Množství": "abc" is not a number',
    ),
    "header only": (
        "budget.csv",
        lambda: b"Code,Description,Unit,Quantity\n",
        "no_positions",
        "no positions",
    ),
}


class TestBrokenFiles:
    @pytest.mark.parametrize("case", BROKEN, ids=list(BROKEN))
    def test_a_broken_file_fails_the_job_clearly_and_writes_nothing(
        self, case, project, import_file
    ):
        name, data, code, message = BROKEN[case]
        job = import_file(project, data(), name)
        assert job.status == "failed"
        assert job.error["code"] == code
        assert message in job.error["message"]
        assert not BudgetVersion.objects.filter(project=project).exists()
        assert not Position.objects.filter(project=project).exists()
        assert (project.status, project.current_version) == ("draft", None)

    def test_the_problems_are_listed_in_the_jobs_error(self, project, import_file):
        job = import_file(project, non_numeric_quantity(), "budget-v1-cs.csv")
        assert job.error["details"]["error_count"] == 1
        assert job.error["details"]["errors"] == [
            {
                "where": "row 17",
                "column": "Množství",
                "message": 'row 17, column "Množství": "abc" is not a number',
            }
        ]

    # Refused at the upload, as every uploaded file is (evidence's checks): no job starts.
    @pytest.mark.parametrize(
        ("data", "status", "code"),
        [
            (b"", 400, "empty_file"),
            ("Kód;Popis;MJ;Množství\n1;Příčka;m;1\n".encode("utf-16-le"), 415, "unsupported_type"),
        ],
        ids=["empty file", "UTF-16 without a byte order mark"],
    )
    def test_a_file_evidence_refuses_starts_no_job(self, project, member, data, status, code):
        response = member.client.post(
            f"/api/v1/projects/{project.id}/imports/",
            {"file": SimpleUploadedFile("budget.csv", data)},
            format="multipart",
        )
        assert (response.status_code, response.json()["error"]["code"]) == (status, code)
        assert not Job.objects.filter(kind="import_budget").exists()

    def test_a_failed_import_leaves_the_current_version_as_it_was(self, project, import_file):
        import_file(project, sample("budget-v1-en.csv"), "v1.csv")
        job = import_file(project, b"Code,Description,Unit,Quantity\n", "empty.csv")
        assert job.status == "failed"
        assert (project.status, project.current_version.number) == ("ready", 1)
        assert project.position_count == 300


class TestRules:
    def test_the_plan_quota_is_checked_before_anything_commits(self, tenant, project, import_file):
        Tenant.objects.filter(pk=tenant.pk).update(max_positions_per_project=100)
        job = import_file(project, sample("budget-v1-en.csv"), "v1.csv")
        assert job.status == "failed"
        assert job.error["code"] == "quota_exceeded"
        # The one quota check (tenants.services.positions_quota_check), with the file's count.
        assert job.error["message"] == (
            "A project may hold 100 positions on your plan; this budget has 300."
        )
        assert job.error["details"] == {
            "metric": "positions_per_project",
            "requested": 300,
            "limit": 100,
        }
        assert not Position.objects.filter(project=project).exists()

    def test_an_unpriced_tender(self, project, import_file):
        data = b"Item,Code,Description,Unit,Quantity\n1,131201101,Jama,m3,12\n2,A,Zed,m2,3\n"
        job = import_file(project, data, "tender.csv")
        assert job.status == "succeeded"
        assert (project.position_count, project.total_cost) == (2, Decimal("0.00"))

    def test_warnings_are_reported_with_the_version(self, project, import_file):
        data = b"No,Description,Unit,Quantity,Unit price\n1,a,m,1,2\n1,b,m,,2\n"
        job = import_file(project, data, "w.csv")
        assert job.status == "succeeded"
        assert job.result["warning_count"] == 2
        assert [w["message"] for w in job.result["warnings"]] == [
            'row 3, column "Quantity": no quantity',
            "row 3: the same position as row 2 ('1'): kept apart as 1 #2",
        ]

    def test_version_created_is_published_on_the_project_topic(
        self, project, import_file, listen, django_capture_on_commit_callbacks
    ):
        listener = listen(project)
        with django_capture_on_commit_callbacks(execute=True):
            import_file(project, sample("budget-v1-en.csv"), "v1.csv")
        event = listener.receive()
        while event["type"] != "version.created":  # the job's own events share the topic
            event = listener.receive()
        assert event["topic"] == f"project:{project.id}"
        assert event["data"] == {
            "project": str(project.id),
            "version": 1,
            "trigger": "import",
            "changes": {"added": 300, "removed": 0, "modified": 0},
            "delta_cost": EXPECTED["total_cost"],
            "position_count": 300,
            "total_cost": EXPECTED["total_cost"],
        }

    def test_a_viewer_cannot_import(self, project, viewer, import_file):
        response = viewer.client.post(f"/api/v1/projects/{project.id}/imports/", {})
        assert response.status_code == 403

    def test_an_upload_without_a_file(self, project, member):
        response = member.client.post(f"/api/v1/projects/{project.id}/imports/", {})
        assert response.status_code == 400
        assert response.json()["error"]["details"] == {
            "non_field_errors": ["Send either a file or an evidence id."]
        }

    def test_an_archived_project_takes_no_import(self, project, member):
        member.client.delete(f"/api/v1/projects/{project.id}/")
        response = member.client.post(f"/api/v1/projects/{project.id}/imports/", {})
        assert response.status_code == 409
        assert response.json()["error"]["code"] == "project_archived"

    def test_a_job_naming_another_tenants_file_fails(self, project, other_tenant):
        source = import_source_save(
            tenant=other_tenant, file=io.BytesIO(sample("budget-v1-en.csv")), filename="x.csv"
        )
        job = job_create(tenant=project.tenant, kind="import_budget", input=source, project=project)
        job_execute(job_id=job.id)
        job.refresh_from_db()
        assert (job.status, job.error["code"]) == ("failed", "source_not_found")

    def test_a_redelivered_job_finds_its_version(self, project, import_file):
        job = import_file(project, sample("budget-v1-en.csv"), "v1.csv")
        Job.objects.filter(pk=job.pk).update(status="queued")
        job_execute(job_id=job.id)
        job.refresh_from_db()
        assert job.result == {"version": 1, "positions": 300, "redelivered": True}
        assert BudgetVersion.objects.filter(project=project).count() == 1
