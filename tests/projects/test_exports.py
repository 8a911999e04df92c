"""Exports end to end: POST /projects/{id}/exports/ → `export_budget` job → evidence; the file
imports back to the same positions; status and findings columns; formula injection escaped."""

import csv
import io
import re
import zipfile
from decimal import Decimal

import pytest
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command
from openpyxl import load_workbook

from evidence.models import Evidence
from jobs.models import Job
from jobs.services import job_execute
from projects.exporters import COLUMNS
from projects.models import BudgetVersion, Position, Project
from projects.services.exports import budget_export
from tests.factories import FindingFactory, ProjectFactory
from tests.projects.conftest import sample

pytestmark = pytest.mark.django_db

NUMBERS = ("quantity", "unit_price", "total_price")


@pytest.fixture
def budget(project, import_file) -> Project:
    job = import_file(project, sample("budget-v1-en.csv"), "budget-v1-en.csv")
    assert job.status == "succeeded", job.error
    return project


def export(actor, project: Project, **body) -> Job:
    response = actor.client.post(f"/api/v1/projects/{project.id}/exports/", body, format="json")
    assert response.status_code == 202, response.content
    assert response.json()["kind"] == "export_budget"
    job_execute(job_id=response.json()["id"])
    return Job.objects.get(pk=response.json()["id"])


def stored_bytes(job: Job) -> bytes:
    evidence = Evidence.objects.get(pk=job.result["evidence"])
    with default_storage.open(evidence.key, "rb") as stream:
        return stream.read()


def positions(project: Project) -> list[tuple]:
    return list(
        Position.objects.filter(project=project, valid_to__isnull=True)
        .order_by("ordinal")
        .values_list("position_number", "code", "description", "unit", *NUMBERS)
    )


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_an_exported_file_imports_back_to_the_same_positions(
    fmt, member, budget, import_file, tenant
):
    job = export(member, budget, format=fmt)
    assert job.status == "succeeded", job.error
    assert (job.result["format"], job.result["version"], job.result["rows"]) == (fmt, 1, 300)
    evidence = Evidence.objects.get(pk=job.result["evidence"])
    assert (evidence.kind, evidence.project_id) == ("export", budget.id)
    assert evidence.name.endswith(f"-v1.{fmt}")
    # Downloadable through the ordinary evidence endpoint.
    assert member.client.get(f"/api/v1/evidence/{evidence.id}/download/").status_code == 302

    copy = ProjectFactory(tenant=tenant, name="Round trip")
    back = import_file(copy, stored_bytes(job), f"export.{fmt}")
    assert back.status == "succeeded", back.error
    original, restored = positions(budget), positions(copy)
    assert len(restored) == 300
    assert restored == original
    assert all(isinstance(value, Decimal) for row in restored for value in row[4:] if value)
    assert copy.total_cost == budget.total_cost


def test_csv_keeps_decimal_precision(member, budget):
    job = export(member, budget, format="csv")
    rows = list(csv.reader(io.StringIO(stored_bytes(job).decode("utf-8-sig"))))
    assert rows[0] == COLUMNS
    first = Position.objects.get(project=budget, line_key="1")
    assert rows[1][5:8] == [str(first.quantity), str(first.unit_price), str(first.total_price)]


def test_status_and_findings_columns(member, budget, django_assert_max_num_queries):
    version = BudgetVersion.objects.get(project=budget, number=1)
    rows = {p.line_key: p for p in Position.objects.filter(project=budget, line_key__in="123")}
    Position.objects.filter(pk=rows["1"].pk).update(audit_status="red")
    Position.objects.filter(pk=rows["2"].pk).update(audit_status="amber")
    for rule, reasoning in [
        ("arithmetic.total", "Total off by 10.00."),
        ("cost.deviation", "+30 %"),
    ]:
        FindingFactory(
            tenant=budget.tenant,
            project=budget,
            version=version,
            position=rows["1"],
            rule=rule,
            reasoning=reasoning,
        )
    FindingFactory(
        tenant=budget.tenant,
        project=budget,
        version=version,
        position=rows["2"],
        rule="catalog.unknown_code",
        reasoning="=Code not in the catalog.",
    )
    # The findings of the whole version come in one query: no query per position.
    with django_assert_max_num_queries(40):
        outcome = budget_export(project=budget, format="xlsx")
    with default_storage.open(outcome.evidence.key, "rb") as stream:
        sheet = load_workbook(io.BytesIO(stream.read()), read_only=True)["Budget"]
        values = list(sheet.iter_rows(values_only=True))
    assert list(values[0]) == COLUMNS
    by_item = {row[1]: row for row in values[1:]}
    assert by_item["1"][8:10] == (
        "red",
        "arithmetic.total: Total off by 10.00. | cost.deviation: +30 %",
    )
    assert by_item["2"][8:10] == ("amber", "catalog.unknown_code: =Code not in the catalog.")
    assert by_item["3"][8] == "unaudited" and by_item["3"][9] in (None, "")


def test_text_that_a_spreadsheet_would_run_is_escaped(member, project, import_file):
    data = (
        b"Item,Code,Description,Unit,Quantity,Unit price,Total\n"
        b'1,=1+1,"=HYPERLINK(""http://x"")",m,1,10.50,10.50\n'
        b"2,+A1,-2+3,@SUM,2,1.25,2.50\n"
    )
    assert import_file(project, data, "evil.csv").status == "succeeded"
    job = export(member, project, format="csv")
    rows = list(csv.reader(io.StringIO(stored_bytes(job).decode("utf-8-sig"))))
    assert rows[1][2:5] == ["'=1+1", '\'=HYPERLINK("http://x")', "m"]
    assert rows[2][2:5] == ["'+A1", "'-2+3", "'@SUM"]
    assert rows[2][5:8] == ["2.000000", "1.2500", "2.50"]  # numbers are not escaped
    job = export(member, project, format="xlsx")
    sheet_xml = stored_bytes(job)
    xml = zipfile.ZipFile(io.BytesIO(sheet_xml)).read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in xml


def test_an_older_version_and_bad_requests(member, viewer, outsider, budget, import_file):
    import_file(budget, sample("budget-v2-en.csv"), "budget-v2-en.csv")
    job = export(member, budget, format="csv", version=1)
    assert (job.result["version"], job.result["rows"]) == (1, 300)
    url = f"/api/v1/projects/{budget.id}/exports/"
    assert member.client.post(url, {"format": "pdf"}, format="json").status_code == 400
    assert (
        member.client.post(url, {"format": "csv", "version": 9}, format="json").status_code == 404
    )
    assert viewer.client.post(url, {"format": "csv"}, format="json").status_code == 403
    assert outsider.client.post(url, {"format": "csv"}, format="json").status_code == 404
    empty = ProjectFactory(tenant=member.tenant)
    response = member.client.post(
        f"/api/v1/projects/{empty.id}/exports/", {"format": "csv"}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "no_versions"


class TestCommand:
    def test_it_exports_inline_with_a_progress_bar(self, budget, tmp_path, capsys):
        output = tmp_path / "out.csv"
        call_command(
            "export_budget",
            str(budget.id),
            "--format",
            "csv",
            "--version",
            "1",
            "--output",
            str(output),
        )
        captured = capsys.readouterr()
        assert re.search(r"\[#+\] 100%", captured.err)
        assert "Version 1 of" in captured.out and "300 positions" in captured.out
        rows = list(csv.reader(io.StringIO(output.read_text(encoding="utf-8-sig"))))
        assert len(rows) == 301 and rows[0] == COLUMNS

    def test_failures(self, budget):
        with pytest.raises(CommandError, match="No project"):
            call_command("export_budget", "00000000-0000-0000-0000-000000000000", "--format", "csv")
        with pytest.raises(CommandError, match="Export failed"):
            call_command("export_budget", str(budget.id), "--format", "csv", "--version", "7")
