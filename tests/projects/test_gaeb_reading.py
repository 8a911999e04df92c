"""GAEB DA XML: reading the samples and bills of every version, sniffing, and what is refused."""

from decimal import Decimal

import pytest

from projects.importers import sniff_format
from tests.projects import gaeb_files as g
from tests.projects.gaeb_checks import DATA, SAMPLES, counted_total, differences, positions
from tests.projects.test_importers import failure, read

D = Decimal


class TestSamples:
    """The four gaeb-php samples (MIT), against what they declare."""

    def test_they_are_all_here(self):
        assert SAMPLES == [
            "gaebphp_boq.x83",
            "gaebphp_markup.x83",
            "gaebphp_priced.x84",
            "gaebphp_realistic.x84",
        ]

    def test_the_tender_with_every_kind_of_item(self):
        found, report = positions((DATA / "gaebphp_boq.x83").read_bytes(), "gaebphp_boq.x83")
        assert [(p.position_number, p.kind, p.unit, p.quantity) for p in found] == [
            ("01.02.0010", "", "m3", D("100")),
            ("01.02.0020", "lump_sum", "psch", D("1")),
            ("03.0030", "contingency", "Stk", D("5")),
            ("03.0040", "base", "m2", D("10")),
            ("03.0040.1", "alternative", "m2", D("10")),
            ("03.0050", "hourly", "Std", D("20")),
        ]
        first = found[0]
        assert first.description == "Boden loesen"
        assert first.section == "Erdarbeiten / Aushub"
        # The long text keeps its paragraphs; the sub-description's 60 m3 is not the item's.
        assert first.long_text.startswith("Boden loesen und lagern.\nBodenklasse 3-5.")
        assert all(p.unit_price is None and p.total_price is None for p in found)
        assert report.notes["gaeb_phase"] == "X83"
        assert report.reconciliation == []  # a tender declares no totals

    def test_markups_and_texts(self):
        found, report = positions((DATA / "gaebphp_markup.x83").read_bytes())
        assert [(p.position_number, p.kind) for p in found] == [
            ("01.0010", ""),
            ("01.0020", "qty_tbd"),
            ("01.0090", "markup"),
            ("01.0091", "markup"),
        ]
        assert report.notes["text_notes"] == [
            "Remark: Alle Preise sind netto anzugeben.",
            "PerfDescr Erdarbeiten: Grundbeschreibung fuer alle Aushubpositionen.",
        ]

    @pytest.mark.parametrize(
        ("name", "count", "total"),
        [("gaebphp_priced.x84", 2, D("1450.00")), ("gaebphp_realistic.x84", 4, D("9649.00"))],
    )
    def test_the_bids_add_up_to_their_declared_totals(self, name, count, total):
        found, report = positions((DATA / name).read_bytes(), name)
        assert len(found) == count
        assert counted_total(found) == total
        assert set(differences(report).values()) == {D(0)}
        assert differences(report)[""] == 0  # the whole bill's row
        assert report.warning_count == 0

    def test_discount_vat_and_gross(self):
        _, report = positions((DATA / "gaebphp_realistic.x84").read_bytes())
        assert report.declared_totals == {
            "total": "9649.00",
            "discount_percent": "5.000000",
            "after_discount": "9166.55",
            "vat_percent": "19.00",
            "net": "9166.55",
            "vat": "1741.64",
            "gross": "10908.19",
        }
        assert [row["part"] for row in report.reconciliation] == ["01", "02", "02.01", ""]

    def test_an_item_index_and_an_item_without_quantity(self):
        found, _ = positions((DATA / "gaebphp_realistic.x84").read_bytes())
        assert [(p.position_number, p.quantity, p.unit_price, p.total_price) for p in found] == [
            ("01.0010", D("50"), D("45.50"), D("2275.00")),
            ("01.0010.1", D("12"), D("52.00"), D("624.00")),
            ("02.01.0010", D("30"), D("185.00"), D("5550.00")),
            ("02.01.0020", None, D("1200.00"), D("1200.00")),
        ]

    @pytest.mark.parametrize("name", SAMPLES)
    def test_read_rows_sniffs_them(self, name):
        rows, report = read((DATA / name).read_bytes(), name)
        assert report.notes["format"] == "gaeb"
        assert len(rows) == len(positions((DATA / name).read_bytes(), name)[0])


class TestVersions:
    @pytest.mark.parametrize(
        ("version", "namespace"),
        [
            ("3.3", None),
            ("3.2", None),
            ("3.1", "http://www.gaeb.de/GAEB_DA_XML/200407"),
            ("3.0", "http://www.gaeb.de/GAEB_DA_XML/200407"),
            ("2.1", "http://www.gaeb.de/GAEB_DA_XML/200407"),
            ("2.0", ""),
        ],
    )
    def test_the_same_bill_in_every_version(self, version, namespace):
        found, report = positions(
            g.bill(g.every_kind(), version=version, namespace=namespace, totals="auto")
        )
        reference, _ = positions(g.bill(g.every_kind(), totals="auto"))
        assert found == reference
        assert report.notes["gaeb_version"] == version
        assert report.notes["gaeb_phase"] == "X86"

    def test_the_phase_of_a_3_1_file_without_dp_comes_from_its_suffix(self):
        data = g.bill(g.every_kind(), version="3.1", dp="")
        _, report = positions(data, "angebot.X84")
        assert report.notes["gaeb_phase"] == "X84"

    def test_the_bvbs_test_bid(self):
        """27 items and a MarkupItem of 85 000.00: 1 915 000.00 + 85 000.00 as declared."""
        found, report = positions(g.bvbs_bid(), "bvbs.x84")
        assert len(found) == 28
        items = [p for p in found if p.kind != "markup"]
        assert len(items) == 27
        assert sum(p.total_price for p in items) == D("1915000.00")
        assert [p.total_price for p in found if p.kind == "markup"] == [D("85000.00")]
        assert counted_total(found) == D("2000000.00")
        assert differences(report)[""] == 0
        assert len(differences(report)) == 13  # 3 lots, 9 titles, the bill
        assert set(differences(report).values()) == {D(0)}


class TestRefused:
    @pytest.mark.parametrize(
        ("phase", "version", "named"),
        [
            ("31", "3.3", "X31 (quantity take-off)"),
            ("89", "3.3", "X89 (invoice)"),
            ("89", "3.1", "X89 (invoice)"),  # by Award/DP only
            ("89B", "3.3", "X89B"),
        ],
    )
    def test_a_file_that_is_not_a_bill_names_its_phase(self, phase, version, named):
        data = g.bill(g.every_kind(), phase=phase, version=version)
        problem = failure(data, "file.xml")
        assert problem.code == "not_a_bill"
        assert named in problem.message

    def test_a_truncated_file_names_the_line_and_the_path(self):
        data = g.bill(g.every_kind())
        cut = data[: data.index(b"Bodenaustausch")]
        problem = failure(cut, "bill.x86")
        assert problem.code == "invalid_xml"
        line = cut.count(b"\n") + 1
        assert f"line {line}," in problem.message
        assert "GAEB/Award/BoQ/BoQBody/BoQCtgy/BoQBody/BoQCtgy/BoQBody/Itemlist/Item[4]/" in (
            problem.message
        )

    def test_a_mismatched_tag(self):
        data = g.bill(g.every_kind()).replace(b"</QU>", b"</Qu>", 1)
        problem = failure(data, "bill.x86")
        assert problem.code == "invalid_xml"
        assert "mismatched tag" in problem.message
        assert "/Item/QU" in problem.message

    def test_a_bad_number_names_its_line_path_and_element(self):
        data = g.bill(g.every_kind()).replace(b"<Qty>10.000</Qty>", b"<Qty>10,5</Qty>")
        problem = failure(data, "bill.x86")
        assert problem.code == "invalid_file"
        item_line = data[: data.rindex(b"<Item ", 0, data.index(b"10,5"))].count(b"\n") + 1
        assert problem.problems[0].column == "Qty"
        path = "GAEB/Award/BoQ/BoQBody/BoQCtgy/BoQBody/BoQCtgy/BoQBody/Itemlist/Item[4]"
        assert problem.problems[0].where == f"line {item_line}, {path}"

    @pytest.mark.parametrize(
        "prologue",
        [
            '<!DOCTYPE GAEB [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;">]>',
            '<!DOCTYPE GAEB SYSTEM "http://127.0.0.1:9/evil.dtd">',
        ],
    )
    def test_dtds_and_entities_are_refused(self, prologue):
        data = g.bill(g.every_kind()).replace(b"?>\n", f"?>\n{prologue}\n".encode(), 1)
        assert failure(data, "bomb.x86").code == "forbidden_xml"

    def test_another_namespace(self):
        data = b'<?xml version="1.0"?><GAEB xmlns="urn:other"><Award/></GAEB>'
        assert failure(data, "x.xml").code == "not_gaeb"


class TestSniffing:
    @pytest.mark.parametrize(
        ("head", "name", "expected"),
        [
            (
                b'<?xml version="1.0"?>\n<GAEB xmlns="http://www.gaeb.de/GAEB_DA_XML/DA83/3.3">',
                "a",
                "gaeb",
            ),
            (b"\xef\xbb\xbf<!-- LV -->\n<GAEB>", "lv.xml", "gaeb"),
            (b"<g:GAEB xmlns:g='http://www.gaeb.de/GAEB_DA_XML/200407'>", "x", "gaeb"),
            (b'<?xml version="1.0"?><unixml verze="1.2">', "b.xml", "unixml"),
            (b'<?xml version="1.0"?>' + b" " * 5000, "angebot.x84", "gaeb"),
            (b'<?xml version="1.0"?>' + b" " * 5000, "budget.xml", "unixml"),
        ],
    )
    def test_xml_by_its_root(self, head, name, expected):
        assert sniff_format(head[:4096], name) == expected
