"""The importers on their own: formats, encodings, delimiters, numbers, headers, errors."""

import codecs
import io
from decimal import Decimal

import openpyxl
import pytest

from projects.importers import ImportFailed, ImportReport, read_rows
from projects.importers.base import NotANumber, parse_decimal
from projects.rows import CONTENT_FIELDS, ROW_FIELDS
from tests.projects.conftest import sample

D = Decimal


def read(data: bytes, name: str = "budget.csv") -> tuple[list[dict], ImportReport]:
    """The rows read, their numbers (canonical text at the stored scale) as Decimals."""
    report = ImportReport()
    rows = read_rows(io.BytesIO(data), filename=name, report=report, on_progress=lambda *_: None)
    found = []
    for row in rows:
        values = dict(zip(ROW_FIELDS, row, strict=True))
        for name in ("quantity", "unit_price", "total_price"):
            if values[name] is not None:
                values[name] = D(values[name])
        found.append(values)
    return found, report


def failure(data: bytes, name: str = "budget.csv") -> ImportFailed:
    with pytest.raises(ImportFailed) as excinfo:
        read(data, name)
    return excinfo.value


class TestNumbers:
    @pytest.mark.parametrize(
        ("text", "decimal_comma", "expected"),
        [
            ("1234.5", None, D("1234.5")),
            ("249,0", None, D("249.0")),
            ("1 234,50", None, D("1234.50")),
            ("1\u00a0234,50", None, D("1234.50")),
            ("1\u202f234,50 Kč", None, D("1234.50")),
            ("1.234,50", None, D("1234.50")),
            ("1,234.50", None, D("1234.50")),
            ("1,234,567", None, D("1234567")),
            ("-190,4", None, D("-190.4")),
            ("\u2212190.4", None, D("-190.4")),
            ("199,406", True, D("199.406")),
            ("199.406", False, D("199.406")),
            ("1.234", True, D("1234")),
            ("1,234", False, D("1234")),
            ("1'234.5", None, D("1234.5")),
            ("", None, None),
            ("  ", None, None),
        ],
    )
    def test_numbers_as_budgets_write_them(self, text, decimal_comma, expected):
        assert parse_decimal(text, decimal_comma=decimal_comma) == expected

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("1 234,50", "1234.50"),
            (" 1 234,50 ", "1234.50"),
            ("12 34,5", "1234.5"),
            ("-1 234,500", "-1234.500"),
            ("1\u00a0234\u00a0567,00", "1234567.00"),
            ("1 000", "1000"),
            ("-0,00", "-0.00"),
        ],
    )
    def test_spaced_numbers_keep_their_digits(self, text, expected):
        # The exact Decimal (its places too), not only its value: the stored text comes from it.
        assert str(parse_decimal(text, decimal_comma=True)) == expected

    @pytest.mark.parametrize("text", ["abc", "12a", "1,2,3.4.5", "1.2.3,4,5", "--1", "Kč", "1e5"])
    def test_anything_else_is_not_a_number(self, text):
        with pytest.raises(NotANumber):
            parse_decimal(text)


class TestCsv:
    def test_both_samples_read_the_same_300_positions(self):
        english, _ = read(sample("budget-v1-en.csv"))
        czech, report = read(sample("budget-v1-cs.csv"))
        assert report.notes.items() >= {"encoding": "cp1250", "delimiter": ";"}.items()
        assert len(english) == len(czech) == 300
        assert [r["fingerprint"] for r in english] == [r["fingerprint"] for r in czech]
        assert sum(r["total_price"] for r in czech) == D("186349633.20")
        assert (
            czech[0].items()
            >= {
                "line_key": "1",
                "position_number": "1",
                "code": "342244137",
                "unit": "m",
                "quantity": D("249"),
                "unit_price": D("1412.37"),
                "total_price": D("351680.13"),
                "source_line": 2,
            }.items()
        )

    def test_german_headers_tabs_and_grouped_thousands(self):
        data = (
            b"Pos.-Nr.\tKurztext\tEinheit\tMenge\tEinheitspreis (EUR)\tGesamtpreis\n"
            b"1.1\tBeton C25/30\tm3\t1.234,500\t95,10\t117.400,95\n"
            b"1.2\tSchalung\tm2\t12\t1.000\t12.000\n"
        )
        rows, report = read(data)
        assert report.notes["delimiter"] == "\t"
        assert [(r["quantity"], r["unit_price"], r["total_price"]) for r in rows] == [
            (D("1234.5"), D("95.1"), D("117400.95")),
            (D("12"), D("1000"), D("12000")),
        ]
        assert rows[0]["description"] == "Beton C25/30"

    def test_title_rows_above_the_header_headings_and_sum_rows(self):
        data = (
            "Rozpočet stavby;;;;;\n"
            "Objekt: SO 01;;;;;\n"
            ";;;;;\n"
            "Č.;Kód;Popis;MJ;Množství;Jedn. cena;Cena celkem\n"
            ";;Zemní práce;;;;\n"
            "1;131201101;Hloubení jam;m3;10,5;182,00;1 911,00\n"
            ";;Zakládání;;;;\n"
            "2;274313611;Základové pásy;m3;3;2 500;\n"
            ";;Celkem;;;;9 411,00\n"
        ).encode("cp1250")
        rows, report = read(data)
        assert [(r["section"], r["source_line"]) for r in rows] == [
            ("Zemní práce", 6),
            ("Zakládání", 8),
        ]
        assert rows[1]["total_price"] == D("7500.00")  # computed: quantity × unit price
        assert report.notes["skipped summary rows"] == 1
        assert report.notes["totals computed as quantity × unit price"] == 1

    def test_utf8_without_bom_and_utf16_with_bom(self):
        text = "Code,Description,Unit,Quantity\n131201101,Hloubení jam,m3,1.5\n"
        assert read(text.encode())[0][0]["description"] == "Hloubení jam"
        assert read(codecs.BOM_UTF16_LE + text.encode("utf-16-le"))[0][0]["quantity"] == D("1.5")

    def test_an_unpriced_tender_is_valid(self):
        rows, report = read(b"Item,Code,Description,Unit,Quantity\n1,131201101,Jama,m3,12\n")
        assert (rows[0]["unit_price"], rows[0]["total_price"]) == (None, None)
        assert report.errors == [] and report.warning_count == 0

    def test_what_the_auditor_judges_is_imported_as_it_is(self):
        data = (
            b"Item,Code,Description,Unit,Quantity,Unit price,Total\n"
            b"1,131201101,,m3,0,10.00,999.00\n"
            b"2,131201102,Jama,,-5,10.00,-50.00\n"
        )
        rows, report = read(data)
        assert len(rows) == 2 and report.errors == [] and report.warning_count == 0
        assert rows[0]["total_price"] == D("999.00")

    def test_a_non_number_names_its_row_and_column(self):
        data = sample("budget-v1-cs.csv").decode("cp1250").splitlines()
        cells = data[16].split(";")
        cells[4] = "abc"
        data[16] = ";".join(cells)
        problem = failure("\r\n".join(data).encode("cp1250"))
        assert problem.code == "invalid_file"
        assert 'row 17, column "Množství": "abc" is not a number' in problem.message
        assert [str(p) for p in problem.problems] == [
            'row 17, column "Množství": "abc" is not a number'
        ]

    def test_every_bad_row_is_listed(self):
        data = (
            b"Item,Code,Description,Unit,Quantity,Unit price\n"
            b"1,A,x,m,1,oops\n2,B,y,m,zz,1\n3,C,z,m,1,1\n"
        )
        problem = failure(data)
        assert [str(p) for p in problem.problems] == [
            'row 2, column "Unit price": "oops" is not a number',
            'row 3, column "Quantity": "zz" is not a number',
        ]

    def test_a_missing_column_is_named(self):
        data = b"Item,Code,Description,Unit,Unit price,Total\n1,A,x,m,1,1\n"
        problem = failure(data)
        assert problem.code == "missing_columns"
        assert 'no column "quantity" (e.g. Quantity, Qty, Množství, Výměra, …)' in problem.message

    def test_no_header_at_all(self):
        assert failure(b"just,some\nwords,here\n").code == "no_header"

    @pytest.mark.parametrize(
        "data",
        [b"", b"   \n"],
    )
    def test_an_empty_file(self, data):
        assert failure(data).code == "empty_file"

    def test_bytes_that_are_neither_utf8_nor_cp1250(self):
        problem = failure(b"Code,Description,Unit,Quantity\nA,\x81\x98,m,1\n")
        assert problem.code == "unsupported_encoding"
        assert "neither UTF-8 nor Windows-1250" in problem.message

    def test_utf8_that_turns_into_something_else_late_names_the_row(self):
        rows = "".join(f"A{n},Jama,m,1\n" for n in range(7000))
        head = f"Code,Description,Unit,Quantity\n{rows}".encode()
        problem = failure(head + "B,Příčka,m,2\n".encode("cp1250"))
        assert problem.code == "unsupported_encoding"
        assert problem.message.startswith("line 7002: the file is not valid utf-8")

    def test_duplicate_position_numbers_are_kept_apart_with_a_warning(self):
        data = b"No,Description,Unit,Quantity\n5,a,m,1\n5,b,m,2\n"
        rows, report = read(data)
        assert [r["line_key"] for r in rows] == ["5", "5 #2"]
        assert "the same position as row 2" in str(report.warnings[0])

    def test_line_keys_without_numbers_are_code_description_unit(self):
        rows, _ = read(b"Code,Description,Unit,Quantity\nA1,Jama  hluboka,m3,1\n")
        assert rows[0]["line_key"] == "A1|Jama hluboka|m3"

    def test_more_decimals_than_stored_are_rounded_with_a_warning(self):
        rows, report = read(b"Code,Description,Unit,Quantity,Total\nA,x,m,1.12345678,10.005\n")
        assert (rows[0]["quantity"], rows[0]["total_price"]) == (D("1.123457"), D("10.01"))
        assert report.warning_count == 2

    def test_a_number_too_large_to_store_is_an_error(self):
        problem = failure(b"Code,Description,Unit,Quantity\nA,x,m,1e3\nB,y,m,123456789012345\n")
        assert [str(p) for p in problem.problems] == [
            'row 2, column "Quantity": "1e3" is not a number',
            'row 3, column "quantity": 123456789012345 is too large to store',
        ]


def kros_workbook() -> bytes:
    """A small workbook shaped like the KROS Excel export: a recapitulation sheet, then one sheet
    per object with title rows, a summary table, and the item table (D/K/M/PP/VV rows)."""
    header = [
        "PČ",
        "Typ",
        "Kód",
        "Popis",
        "MJ",
        "Množství",
        "J.cena [CZK]",
        "Cena celkem [CZK]",
        "Cenová soustava",
    ]
    book = openpyxl.Workbook()
    recap = book.active
    recap.title = "Rekapitulace stavby"
    recap.append(["REKAPITULACE STAVBY"])
    recap.append(["Kód", "Popis", "Cena bez DPH [CZK]"])
    recap.append(["SO 01", "Hrubá stavba", 11911])
    objects = {
        "SO 01 - Hrubá stavba": [
            ["", "D", "HSV", "Práce a dodávky HSV", "", "", "", 11911],
            ["", "D", "1", "Zemní práce", "", "", "", 1911],
            [1, "K", "131201101", "Hloubení jam", "m3", 10.5, 182, 1911],
            ["", "PP", "", "Hloubení jam nezapažených v hornině tř. 3", "", "", "", ""],
            ["", "VV", "", "3*3,5", "", 10.5, "", ""],
            ["", "D", "2", "Zakládání", "", "", "", 10000],
            [2, "K", "274313611", "Základové pásy z betonu", "m3", 4, 2500, 10000],
            [3, "M", "59381301", "Cihla plná", "kus", "1 000", 0, 0],
        ],
        "SO 02 - Přípojky": [
            ["", "D", "PSV", "Práce a dodávky PSV", "", "", "", 500],
            ["", "D", "721", "Vnitřní kanalizace", "", "", "", 500],
            [1, "K", "721174043", "Potrubí z PP", "m", 5, 100, 500],
        ],
    }
    for name, rows in objects.items():
        sheet = book.create_sheet(name)
        sheet.append(["KRYCÍ LIST SOUPISU PRACÍ"])
        sheet.append(["Stavba:", "Bytový dům Nová 12"])
        sheet.append(["Objekt:", name])
        sheet.append([])
        sheet.append(["Kód dílu - Popis", "", "", "", "", "", "", "Cena celkem [CZK]"])
        sheet.append([])
        sheet.append(header)
        sheet.append(["", "", "", "Náklady soupisu celkem", "", "", "", 11911])
        for row in rows:
            sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


class TestXlsx:
    def test_the_sample_workbook_matches_the_csv(self):
        rows, report = read(sample("budget-v1.xlsx"), "budget-v1.xlsx")
        csv_rows, _ = read(sample("budget-v1-en.csv"))
        assert report.notes["format"] == "xlsx"
        assert [r["fingerprint"] for r in rows] == [r["fingerprint"] for r in csv_rows]
        assert rows[0]["source_line"] == 5  # two title rows and a blank row above the header

    def test_the_kros_export(self):
        rows, report = read(kros_workbook(), "stavba.xlsx")
        by_key = {r["line_key"]: r for r in rows}
        # The object is its code (from the cover's `Objekt:`), as UNIXML names it.
        assert list(by_key) == ["SO 01|1", "SO 01|2", "SO 01|3", "SO 02|1"]
        first = by_key["SO 01|1"]
        assert (
            first.items()
            >= {
                "section": "SO 01 - Hrubá stavba / HSV - Práce a dodávky HSV / 1 - Zemní práce",
                "category": "HSV",
                "kind": "K",
                "long_text": "Hloubení jam nezapažených v hornině tř. 3",
                "takeoff": '[{"expression":"3*3,5","line":13,"value":"10.5"}]',
                "quantity": D("10.5"),
                "unit_price": D("182"),
                "total_price": D("1911"),
                "source_line": 11,
            }.items()
        )
        assert by_key["SO 01|3"]["kind"] == "M"
        assert by_key["SO 01|3"]["quantity"] == D("1000")
        assert by_key["SO 02|1"]["section"] == (
            "SO 02 - Přípojky / PSV - Práce a dodávky PSV / 721 - Vnitřní kanalizace"
        )
        assert report.notes["skipped_sheets"] == ["Rekapitulace stavby"]
        assert report.notes["skipped rows of type VV"] == 1
        assert report.notes["skipped rows of type PP"] == 1

    def test_a_truncated_workbook(self):
        data = sample("budget-v1.xlsx")
        problem = failure(data[: len(data) // 2], "budget.xlsx")
        assert problem.code == "unreadable_spreadsheet"
        assert "not a readable XLSX workbook" in problem.message

    def test_a_workbook_without_a_header(self):
        book = openpyxl.Workbook()
        book.active.append(["nothing", "to", "see"])
        buffer = io.BytesIO()
        book.save(buffer)
        assert failure(buffer.getvalue(), "x.xlsx").code == "no_header"

    def test_a_text_cell_that_is_not_a_number(self):
        book = openpyxl.Workbook()
        book.active.title = "Rozpočet"
        book.active.append(["Kód", "Popis", "MJ", "Množství"])
        book.active.append(["A", "Jáma", "m3", "deset"])
        buffer = io.BytesIO()
        book.save(buffer)
        problem = failure(buffer.getvalue(), "x.xlsx")
        assert str(problem.problems[0]) == (
            'sheet "Rozpočet", row 2, column "Množství": "deset" is not a number'
        )


UNIXML = """<?xml version="1.0" encoding="utf-8"?>
<unixml format="unixml_cz" verze="1.2"><stavba><objekty>
<objekt><kod_objektu>SO 01</kod_objektu><nazev_objektu>Dům</nazev_objektu>
<dily><dil><kod_dilu>HSV</kod_dilu><dily><dil><kod_dilu>1</kod_dilu><polozky>
<polozka><typ_vety>K</typ_vety><kod_polozky>131</kod_polozky><cislo_polozky>1</cislo_polozky>
<mnozstvi>2,5</mnozstvi><jednotkova_cena>100,10</jednotkova_cena></polozka>
<polozka><typ_vety>M</typ_vety><kod_polozky>131</kod_polozky><cislo_polozky>2</cislo_polozky>
<mnozstvi>3</mnozstvi><jednotkova_cena>{price}</jednotkova_cena></polozka>
</polozky></dil></dily></dil></dily>
<zdroje><zdroje_dily><zdroj_dil><kod_dilu>1</kod_dilu><nazev_dilu>Zemní práce</nazev_dilu>
</zdroj_dil></zdroje_dily>
<zdroje_konstrukce><zdroj_konstrukce><kod_polozky>131</kod_polozky>
<zkraceny_popis_polozky>Hloubení</zkraceny_popis_polozky><plny_popis_polozky/>
<merna_jednotka>m3</merna_jednotka></zdroj_konstrukce></zdroje_konstrukce>
<zdroje_materialy><zdroj_material><kod_polozky>131</kod_polozky>
<zkraceny_popis_polozky>Písek</zkraceny_popis_polozky>
<plny_popis_polozky>Písek těžený frakce 0-4</plny_popis_polozky>
<merna_jednotka>t</merna_jednotka></zdroj_material></zdroje_materialy></zdroje>
</objekt></objekty></stavba></unixml>
"""


class TestUnixml:
    def test_the_sample_gives_its_count_and_total(self):
        rows, _ = read(sample("budget-v1.unixml.xml"), "budget.xml")
        assert len(rows) == 170
        assert sum(r["total_price"] for r in rows) == D("128146949.37")
        assert rows[0]["line_key"] == "SO 01|2"
        assert rows[0]["section"] == "SO 01 Objekt 1 / Díl 1"
        assert {r["line_key"].split("|")[0] for r in rows} == {"SO 01", "SO 02"}

    def test_nested_parts_materials_and_resources_after_the_items(self):
        rows, _ = read(UNIXML.format(price="12,345").encode(), "x.xml")
        assert [
            {k: r[k] for k in ("line_key", "section", "description", "unit", "category", "kind")}
            for r in rows
        ] == [
            {
                "line_key": "SO 01|1",
                "section": "SO 01 Dům / HSV / Zemní práce",
                "description": "Hloubení",
                "unit": "m3",
                "category": "HSV",
                "kind": "K",
            },
            {
                "line_key": "SO 01|2",
                "section": "SO 01 Dům / HSV / Zemní práce",
                "description": "Písek těžený frakce 0-4",
                "unit": "t",
                "category": "HSV",
                "kind": "M",
            },
        ]
        # total = quantity × unit price rounded to 0.01
        assert [r["total_price"] for r in rows] == [D("250.25"), D("37.04")]

    def test_an_unpriced_item(self):
        rows, _ = read(UNIXML.format(price="").encode(), "x.xml")
        assert (rows[1]["unit_price"], rows[1]["total_price"]) == (None, None)

    def test_a_bad_number_names_the_xml_path_and_line(self):
        problem = failure(UNIXML.format(price="abc").encode(), "x.xml")
        assert str(problem.problems[0]) == (
            "line 7, unixml/stavba/objekty/objekt/dily/dil/dily/dil/polozky/polozka[2], "
            'column "jednotkova_cena": "abc" is not a number'
        )

    def test_an_item_without_its_resource(self):
        data = UNIXML.format(price="1").replace("<typ_vety>M", "<typ_vety>K", 1)
        data = data.replace("<kod_polozky>131</kod_polozky><cislo_polozky>2", "<kod_polozky>999"
                            "</kod_polozky><cislo_polozky>2")  # fmt: skip
        problem = failure(data.encode(), "x.xml")
        assert "item '999' has no zdroj_konstrukce in object 'SO 01'" in problem.message

    def test_invalid_xml(self):
        data = sample("budget-v1.unixml.xml")
        problem = failure(data[: len(data) // 2], "budget.xml")
        assert problem.code == "invalid_xml"
        assert "not well-formed" in problem.message

    @pytest.mark.parametrize(
        "prologue",
        [
            '<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;">]>',
            '<!DOCTYPE unixml SYSTEM "http://127.0.0.1:9/evil.dtd">',
        ],
    )
    def test_dtds_and_entities_are_refused(self, prologue):
        data = f'<?xml version="1.0"?>\n{prologue}\n<unixml verze="1.2">&lol2;</unixml>'
        problem = failure(data.encode(), "bomb.xml")
        assert problem.code == "forbidden_xml"

    def test_other_xml(self):
        assert failure(b"<?xml version='1.0'?><gaeb/>", "x.xml").code == "not_unixml"


def test_every_content_field_is_read():
    rows, _ = read(sample("budget-v1-en.csv"))
    assert set(CONTENT_FIELDS) <= set(rows[0])
