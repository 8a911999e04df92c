import csv
import io
import zipfile
from decimal import Decimal

from openpyxl import load_workbook

from projects.exporters import COLUMNS, ExportRow, escape_text
from projects.exporters.csv_export import write_csv
from projects.exporters.xlsx_export import write_xlsx

ROWS = [
    ExportRow(
        section="HSV",
        position_number="1",
        code='=HYPERLINK("http://x")',
        description="+cmd|' /C calc'!A0",
        unit="m3",
        quantity=Decimal("-12.345"),
        unit_price=Decimal("1412.3700"),
        total_price=Decimal("123456789012.34"),
        status="red",
        findings="@SUM(A1) arithmetic.total",
    ),
    ExportRow(
        section="",
        position_number="2",
        code="131201101",
        description="Hloubení jam",
        unit="m²",
        quantity=None,
        unit_price=None,
        total_price=None,
        status="green",
        findings="",
    ),
]


def test_text_that_a_spreadsheet_would_run_is_escaped():
    assert [escape_text(v) for v in ["=1+1", "+1", "-1", "@A1", "\tx", "plain", "1-2"]] == [
        "'=1+1",
        "'+1",
        "'-1",
        "'@A1",
        "'\tx",
        "plain",
        "1-2",
    ]


def test_csv_export_escapes_text_and_keeps_numbers_exact():
    out = io.BytesIO()
    assert write_csv(ROWS, out) == 2
    assert out.getvalue().startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(out.getvalue().decode("utf-8-sig"))))
    assert rows[0] == COLUMNS
    assert rows[1][2] == '\'=HYPERLINK("http://x")'
    assert rows[1][3] == "'+cmd|' /C calc'!A0"
    assert rows[1][5:8] == ["-12.345", "1412.3700", "123456789012.34"]
    assert rows[1][9] == "'@SUM(A1) arithmetic.total"
    assert rows[2][3:8] == ["Hloubení jam", "m²", "", "", ""]


def test_xlsx_export_has_no_formulas_and_exact_numbers():
    out = io.BytesIO()
    assert write_xlsx(ROWS, out) == 2
    sheet_xml = (
        zipfile.ZipFile(io.BytesIO(out.getvalue())).read("xl/worksheets/sheet1.xml").decode()
    )
    assert "<f>" not in sheet_xml  # no formula cells at all
    for exact in ["-12.345", "1412.37", "123456789012.34"]:
        assert f"<v>{exact}</v>" in sheet_xml
    sheet = load_workbook(io.BytesIO(out.getvalue()), read_only=True)["Budget"]
    values = list(sheet.iter_rows(values_only=True))
    assert values[1][2] == '\'=HYPERLINK("http://x")'
    assert values[2][3] == "Hloubení jam"
