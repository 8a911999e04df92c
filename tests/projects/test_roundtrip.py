"""The Excel round trip: an exported version imports back losslessly into the same project (no
changes), three unit prices changed in Excel are exactly three modifications, and comments and
attachments follow their positions."""

import csv
import io
from decimal import Decimal

import pytest
from django.core.files.storage import default_storage
from openpyxl import load_workbook

from evidence.models import Attachment
from projects.exporters import COLUMNS
from projects.models import BudgetVersion, Comment, Position
from projects.services.exports import budget_export
from tests.projects import budget_files as files
from tests.projects.conftest import sample

pytestmark = pytest.mark.django_db


def exported(project, fmt: str, version: int | None = None) -> bytes:
    outcome = budget_export(project=project, format=fmt, version=version)
    with default_storage.open(outcome.evidence.key, "rb") as stream:
        return stream.read()


def current(project) -> list[tuple]:
    from projects.rows import CONTENT_FIELDS

    return list(
        Position.objects.filter(project=project, valid_to__isnull=True)
        .order_by("ordinal")
        .values_list("line_key", *CONTENT_FIELDS)
    )


@pytest.fixture
def kros(project, import_file):
    """A rich budget: kinds, sections, take-off, long texts with blank lines, price systems."""
    budget = files.make_budget(objects=3, split_prices=True)
    job = import_file(project, files.kros_komplet(budget, split_prices=True), "stavba.xlsx")
    assert job.status == "succeeded", job.error
    return project


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_an_export_imports_back_as_no_change(fmt, kros, import_file):
    before = current(kros)
    job = import_file(kros, exported(kros, fmt), f"export.{fmt}")
    assert job.status == "succeeded", job.error
    assert job.result["changes"] == {"added": 0, "removed": 0, "modified": 0}
    assert job.result["unchanged"] is True
    assert BudgetVersion.objects.filter(project=kros).count() == 1
    assert current(kros) == before


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_an_export_imports_into_another_project_as_the_same_positions(
    fmt, kros, import_file, tenant
):
    from tests.factories import ProjectFactory

    copy = ProjectFactory(tenant=tenant, name="Copy")
    job = import_file(copy, exported(kros, fmt), f"export.{fmt}")
    assert job.status == "succeeded", job.error
    assert current(copy) == current(kros)
    assert copy.total_cost == kros.total_cost


def test_three_unit_prices_changed_in_excel_are_three_modifications(kros, import_file):
    Comment.objects.create(
        tenant=kros.tenant, project=kros, body="Check these", line_keys=["SO 1|1", "SO 2|5"]
    )
    evidence = budget_export(project=kros, format="csv").evidence
    Attachment.objects.create(
        tenant=kros.tenant, project=kros, evidence=evidence, line_key="SO 1|1"
    )
    book = load_workbook(io.BytesIO(exported(kros, "xlsx")))
    sheet = book["Budget"]
    price_at = COLUMNS.index("Unit price") + 1
    key_at = COLUMNS.index("Line key") + 1
    changed = []
    for row in (2, 7, 20):
        sheet.cell(row, price_at).value = float(sheet.cell(row, price_at).value) + 10
        changed.append(sheet.cell(row, key_at).value)
    buffer = io.BytesIO()
    book.save(buffer)
    job = import_file(kros, buffer.getvalue(), "changed.xlsx")
    assert job.status == "succeeded", job.error
    assert job.result["changes"] == {"added": 0, "removed": 0, "modified": 3}
    rows = Position.objects.filter(project=kros, valid_from=2)
    assert sorted(rows.values_list("line_key", flat=True)) == sorted(changed)
    # Comments and attachments name positions by line key: they follow them into version 2.
    keys = set(
        Position.objects.filter(project=kros, valid_to__isnull=True).values_list(
            "line_key", flat=True
        )
    )
    assert {"SO 1|1", "SO 2|5"} <= keys
    assert Attachment.objects.get(project=kros).line_key in keys


def test_the_csv_formula_guard_does_not_stay_in_the_data(project, member, import_file):
    data = (
        b"Item,Code,Description,Unit,Quantity,Unit price,Total\n"
        b'1,=1+1,"=HYPERLINK(""http://x"")",m,1,10.50,10.50\n'
        b"2,+A1,-2+3,@SUM,2,1.25,2.50\n"
        b"3,A3,'=already quoted,m,1,1.00,1.00\n"
        b"4,A4,'plain apostrophe,m,1,1.00,1.00\n"
    )
    assert import_file(project, data, "evil.csv").status == "succeeded"
    before = current(project)
    text = exported(project, "csv")
    rows = list(csv.reader(io.StringIO(text.decode("utf-8-sig"))))
    assert rows[1][2:4] == ["'=1+1", '\'=HYPERLINK("http://x")']
    assert rows[3][3] == "''=already quoted"  # its own apostrophe kept under the guard's
    job = import_file(project, text, "export.csv")
    assert job.result["unchanged"] is True, job.result
    assert current(project) == before
    assert [r[4] for r in before] == [
        '=HYPERLINK("http://x")',
        "-2+3",
        "'=already quoted",
        "'plain apostrophe",
    ]


def test_an_older_version_exported_and_imported_is_that_version_again(project, import_file):
    import_file(project, sample("budget-v1-en.csv"), "v1.csv")
    import_file(project, sample("budget-v2-en.csv"), "v2.csv")
    v1 = [row[1:] for row in _version(project, 1)]
    job = import_file(project, exported(project, "xlsx", version=1), "v1-export.xlsx")
    assert job.status == "succeeded", job.error
    assert job.result["version"] == 3
    assert [row[1:] for row in current(project)] == v1
    assert (
        Decimal(job.result["total_cost"])
        == BudgetVersion.objects.get(project=project, number=1).total_cost
    )


def _version(project, number: int) -> list[tuple]:
    from projects.rows import CONTENT_FIELDS
    from projects.selectors import valid_in

    return list(
        Position.objects.filter(project=project)
        .filter(valid_in(number))
        .order_by("ordinal")
        .values_list("line_key", *CONTENT_FIELDS)
    )
