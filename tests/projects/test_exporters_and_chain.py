import csv
import io
import zipfile
from decimal import Decimal

from openpyxl import load_workbook

from projects.audit.chain import ChainLink, canonical_bytes, digest, verify_chain
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


def chain(*documents: dict) -> list[ChainLink]:
    links, previous = [], ""
    for number, document in enumerate(documents, start=1):
        content = canonical_bytes({**document, "previous_sha256": previous})
        links.append(ChainLink(number, digest(content), previous, content))
        previous = digest(content)
    return links


class TestReportChain:
    def test_canonical_bytes_do_not_depend_on_key_order(self):
        assert canonical_bytes({"b": "1", "a": "ž"}) == canonical_bytes({"a": "ž", "b": "1"})
        assert canonical_bytes({"a": "ž"}) == '{"a":"ž"}'.encode()

    def test_an_intact_chain_verifies(self):
        assert verify_chain(chain({"v": "1"}, {"v": "2"}, {"v": "3"})) == []

    def test_a_changed_document_is_caught(self):
        links = chain({"v": "1"}, {"v": "2"})
        forged = ChainLink(
            2, links[1].sha256, links[1].previous_sha256, links[1].content.replace(b'"2"', b'"9"')
        )
        problems = verify_chain([links[0], forged])
        assert len(problems) == 1 and "report 2: the stored document's SHA-256" in problems[0]

    def test_a_database_row_rewritten_to_match_a_forged_document_breaks_the_next_link(self):
        links = chain({"v": "1"}, {"v": "2"}, {"v": "3"})
        forged_content = links[1].content.replace(b'"2"', b'"9"')
        forged = ChainLink(2, digest(forged_content), links[1].previous_sha256, forged_content)
        problems = verify_chain([links[0], forged, links[2]])
        assert problems == [
            f"report 3: links to {links[1].sha256}, but the report before it is {forged.sha256}"
        ]

    def test_a_missing_document_and_a_dropped_report_are_caught(self):
        links = chain({"v": "1"}, {"v": "2"}, {"v": "3"})
        missing = ChainLink(1, links[0].sha256, "", None)
        assert verify_chain([missing, *links[1:]]) == ["report 1: the stored document is missing"]
        assert "report 3: links to" in verify_chain([links[0], links[2]])[0]
