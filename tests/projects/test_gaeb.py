"""GAEB DA XML: reading bills of every phase, version and item kind, their declared totals, and
what is refused."""

import io
from decimal import Decimal
from pathlib import Path

import pytest

from projects.importers import ImportReport, ParsedPosition, rows_from_positions, sniff_format
from projects.importers import gaeb as reader
from projects.models import Position
from tests.factories import ProjectFactory
from tests.projects import gaeb_files as g
from tests.projects.test_importers import failure, read

D = Decimal
DATA = Path(__file__).resolve().parents[1] / "data" / "gaeb"
SAMPLES = sorted(path.name for path in DATA.glob("gaebphp_*"))


def positions(data: bytes, name: str = "bill.x86") -> tuple[list[ParsedPosition], ImportReport]:
    """What the GAEB reader yields, and its report once the rows are made (and reconciled)."""
    report = ImportReport()
    found = list(
        reader.read(io.BytesIO(data), report=report, on_progress=lambda *_: None, filename=name)
    )
    list(rows_from_positions(found, report=report))
    return found, report


def counted_total(found: list[ParsedPosition]) -> Decimal:
    return sum(
        (p.total_price or D(0) for p in found if p.kind not in Position.NOT_COUNTED_KINDS), D(0)
    )


def differences(report: ImportReport) -> dict[str, Decimal]:
    """Computed − declared per reconciled part ("" the whole bill)."""
    return {row["part"]: -D(row["difference"]) for row in report.reconciliation}


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


class TestKinds:
    def test_every_kind_in_nested_lots_and_titles(self):
        found, report = positions(g.bill(g.every_kind(), totals="auto"))
        assert [(p.position_number, p.kind) for p in found] == [
            ("01.01.0010", ""),
            ("01.01.0020", "lump_sum"),
            ("01.01.0030", "contingency"),
            ("01.01.0040", "contingency_without_total"),
            ("01.02.0010", "base"),
            ("01.02.0010.A", "alternative"),
            ("01.02.0020", "hourly"),
            ("01.02.0030", "qty_tbd"),
            ("01.02.0090", "markup"),
            ("02.01.0010", ""),
        ]
        # The text item is a note, not a position.
        assert report.notes["text_notes"] == ["01.01.0025: Hinweis: Aushub nach Bodengutachten"]
        assert report.notes["text items (kept as notes)"] == 1
        # Alternatives and contingencies without total are priced but add to no total.
        assert counted_total(found) == D("9412.00")
        assert set(differences(report).values()) == {D(0)}
        assert {row["part"]: row["items"] for row in report.reconciliation} == {
            "01": 7,  # the alternative and the contingency without total are not among them
            "01.01": 3,
            "01.02": 4,
            "02": 1,
            "02.01": 1,
            "": 8,
        }
        assert report.warning_count == 0

    def test_what_each_position_says(self):
        found, _ = positions(g.bill(g.every_kind(), totals="auto"))
        by_number = {p.position_number: p for p in found}
        first = by_number["01.01.0010"]
        assert (first.description, first.unit, first.quantity, first.total_price) == (
            "Oberboden abtragen",
            "m2",
            D("120"),
            D("540.00"),
        )
        assert first.long_text == "Oberboden 20 cm\nseitlich lagern"
        assert first.section == "Rohbau / Erdarbeiten"
        markup = by_number["01.02.0090"]
        # Markup % × the amount it applies to / 100: its total.
        assert (markup.unit, markup.quantity, markup.unit_price, markup.total_price) == (
            "%",
            D("5"),
            D("34.40"),
            D("172.00"),
        )
        assert by_number["01.02.0030"].total_price is None  # quantity to be determined

    def test_a_flat_bill_without_categories(self):
        items = [
            g.Item("10", "Erste", qty="2.000", unit="m", up="3.00", it="auto"),
            g.Item("20", "Zweite", qty="1.000", unit="m", up="4.00", it="auto"),
        ]
        found, report = positions(g.bill(items, levels=(), item_length=4, totals="auto"))
        assert [(p.position_number, p.section) for p in found] == [("0010", ""), ("0020", "")]
        assert differences(report) == {"": D(0)}

    def test_the_breakdown_pads_numeric_parts(self):
        items = [g.Category("1", "Los", [g.Item("1", "Eins", qty="1", unit="m", up="1")])]
        found, _ = positions(g.bill(items, levels=(3,), item_length=5))
        assert found[0].position_number == "001.00001"

    def test_the_unit_price_wins_over_a_disagreeing_total(self):
        items = [g.Item("0010", "Mauerwerk", qty="12.500", unit="m2", up="80.00", it="1010.00")]
        found, report = positions(g.bill([g.Category("01", "A", items)]))
        assert found[0].total_price == D("1000.00")
        assert "unit price wins (VOB/A §16c)" in str(report.warnings[0])
        assert "1010.00" in str(report.warnings[0]) and "1000.00" in str(report.warnings[0])

    def test_declared_totals_that_disagree_are_warnings_with_the_figures(self):
        bill = g.every_kind()
        bill[0].children[0].total = "3000.00"  # 01.01 declares 3000.00, its items 3340.00
        found, report = positions(g.bill(bill, totals={"Total": "12000.00"}))
        assert differences(report)["01.01"] == D("340.00")
        assert differences(report)[""] == D("-2588.00")
        assert report.total_mismatches == [
            "whole budget: the file declares 12000.00, its items add up to 9412.00 "
            "(difference 2588.00)"
        ]
        messages = [str(w) for w in report.warnings]
        assert any('"01.01"' in m and "3000.00" in m and "3340.00" in m for m in messages)
        assert len(found) == 10  # a warning, not an error

    def test_a_discount_that_does_not_add_up(self):
        items = [g.Item("0010", "A", qty="1", unit="m", up="100.00", it="auto")]
        totals = {"Total": "100.00", "DiscountPcnt": "10", "TotAfterDisc": "95.00"}
        _, report = positions(g.bill(items, levels=(), totals=totals))
        assert any("after discount is 95.00, not 90.00" in str(w) for w in report.warnings)


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


XSD_DIR = DATA / "xsd"


def xsd_validator(phase: str):
    """The official GAEB DA XML 3.3 schema of `phase` (tests/data/gaeb/xsd/), None when it is not
    there (the schemas are not ours to redistribute: see that folder's README)."""
    path = XSD_DIR / f"GAEB_DA_XML_{phase}_3.3_2021-05.xsd"
    if not path.exists():
        return None
    from lxml import etree

    return etree.XMLSchema(etree.parse(str(path)))


def assert_valid(data: bytes, phase: str) -> None:
    """Valid against the official schema of `phase` when it is here; otherwise (and always) the
    structure the schema asks for that these files depend on."""
    assert_structure(data, phase)
    schema = xsd_validator(phase)
    if schema is not None:
        from lxml import etree

        document = etree.fromstring(data)
        assert schema.validate(document), [str(error) for error in schema.error_log][:5]


def assert_structure(data: bytes, phase: str) -> None:
    """What the 3.3 schema of an X83, X84 or X86 requires of the elements Kalkula writes: the
    phase's namespace, version and DP; unique IDs; every category and item numbered; an X83
    without prices and with a unit on every item; an X84 without texts, units or labels and with
    a total on every category."""
    from defusedxml.ElementTree import fromstring

    ns = f"http://www.gaeb.de/GAEB_DA_XML/DA{phase}/3.3"
    root = fromstring(data)
    q = f"{{{ns}}}"
    assert root.tag == f"{q}GAEB"
    assert root.findtext(f"{q}GAEBInfo/{q}Version") == "3.3"
    assert root.findtext(f"{q}GAEBInfo/{q}VersDate") == "2021-05"
    assert root.findtext(f"{q}Award/{q}DP") == phase
    ids = [element.get("ID") for element in root.iter() if element.get("ID") is not None]
    assert len(ids) == len(set(ids))
    categories = list(root.iter(f"{q}BoQCtgy"))
    items = [*root.iter(f"{q}Item"), *root.iter(f"{q}MarkupItem")]
    assert all(element.get("ID") and element.get("RNoPart") for element in categories + items)
    assert len(root.find(f"{q}Award/{q}BoQ/{q}BoQInfo/{q}Name").text or "") <= 20
    if phase == "83":
        assert not list(root.iter(f"{q}UP")) and not list(root.iter(f"{q}IT"))
        assert all(item.find(f"{q}QU") is not None for item in root.iter(f"{q}Item"))
        assert all(len(qu.text or "") <= 4 for qu in root.iter(f"{q}QU"))
    if phase == "84":
        assert root.find(f"{q}Award/{q}CTR/{q}Address/{q}Name1") is not None
        for name in ("QU", "OutlineText", "LblTx", "Provis", "ALNGroupNo", "LumpSumItem"):
            assert not list(root.iter(f"{q}{name}")), name
        assert all(category.find(f"{q}Totals/{q}Total") is not None for category in categories)
        assert root.find(f"{q}Award/{q}BoQ/{q}BoQInfo/{q}Totals/{q}Total") is not None


class TestFixturesAgainstTheSchema:
    def test_the_bvbs_stand_in_is_a_valid_x84(self):
        assert_valid(g.bvbs_bid(), "84")

    def test_the_every_kind_bill_is_a_valid_x86(self):
        assert_valid(g.bill(g.every_kind(), totals="auto"), "86")

    @pytest.mark.parametrize("name", SAMPLES)
    def test_the_samples_are_valid(self, name):
        assert_valid((DATA / name).read_bytes(), name[-2:])


def version_positions(project) -> dict[str, Position]:
    return {
        p.position_number: p
        for p in Position.objects.filter(project=project, valid_to__isnull=True)
    }


@pytest.mark.django_db
class TestImportJob:
    """Through the imports endpoint and the job, as users upload them."""

    @pytest.mark.parametrize(
        ("name", "count", "total"),
        [
            ("gaebphp_boq.x83", 6, D("0")),
            ("gaebphp_markup.x83", 4, D("0")),
            ("gaebphp_priced.x84", 2, D("1450.00")),
            ("gaebphp_realistic.x84", 4, D("9649.00")),
        ],
    )
    def test_the_samples(self, project, import_file, name, count, total):
        job = import_file(project, DATA / name, name)
        assert job.status == "succeeded", job.error
        assert (project.position_count, project.total_cost) == (count, total)
        version = project.current_version
        assert all(row["ok"] for row in version.reconciliation)
        assert job.result["notes"]["format"] == "gaeb"

    def test_the_declared_discount_vat_and_gross_stay_with_the_version(self, project, import_file):
        import_file(project, DATA / "gaebphp_realistic.x84", "gaebphp_realistic.x84")
        version = project.current_version
        assert version.declared_totals["gross"] == "10908.19"
        assert version.declared_totals["net"] == "9166.55"
        assert [
            (row["part"], row["declared"], row["computed"]) for row in version.reconciliation
        ] == [
            ("01", "2899.00", "2899.00"),
            ("02", "6750.00", "6750.00"),
            ("02.01", "6750.00", "6750.00"),
            ("", "9649.00", "9649.00"),
        ]

    def test_every_kind_is_stored_and_only_what_counts_is_added(self, project, import_file, member):
        job = import_file(project, g.bill(g.every_kind(), totals="auto"), "lv.x86")
        assert job.status == "succeeded", job.error
        assert project.position_count == 10
        assert project.total_cost == D("9412.00")  # without the alternative and the contingency
        stored = version_positions(project)
        assert stored["01.02.0010.A"].kind == "alternative"
        assert stored["01.01.0040"].kind == "contingency_without_total"
        assert stored["01.01.0010"].long_text == "Oberboden 20 cm\nseitlich lagern"
        listed = member.client.get(f"/api/v1/projects/{project.id}/positions/?page_size=50")
        kinds = {p["position_number"]: p["kind"] for p in listed.json()["results"]}
        assert kinds["01.02.0090"] == "markup"

    def test_the_bvbs_test_bid(self, project, import_file):
        job = import_file(project, g.bvbs_bid(), "bvbs.x84")
        assert job.status == "succeeded", job.error
        assert (project.position_count, project.total_cost) == (28, D("2000000.00"))
        assert len(project.current_version.reconciliation) == 13
        assert all(row["ok"] for row in project.current_version.reconciliation)

    def test_a_tender_then_its_bid_the_diff_shows_the_prices(self, project, import_file, member):
        tender = g.bill(g.tender(g.every_kind()), phase="83")
        assert import_file(project, tender, "lv.x83").status == "succeeded"
        assert project.total_cost == 0
        bid = g.bill(g.every_kind(), phase="84", totals="auto")
        job = import_file(project, bid, "angebot.x84")
        assert job.status == "succeeded", job.error
        assert job.result["notes"]["completed_from_current_version"] == 10
        assert project.total_cost == D("9412.00")
        # The bid's items keep the tender's texts, units and kinds: only prices changed.
        stored = version_positions(project)
        assert (stored["01.02.0010.A"].kind, stored["01.02.0010.A"].unit) == ("alternative", "m3")
        assert stored["01.01.0010"].description == "Oberboden abtragen"
        diff = member.client.get(f"/api/v1/projects/{project.id}/diff/?from=1&to=2").json()
        assert diff["counts"] == {"added": 0, "removed": 0, "modified": 10}
        changed = set()
        for entry in diff["modified"]:
            changed |= set(entry["changes"])
        assert changed <= {"unit_price", "total_price", "quantity"}
        first = next(e for e in diff["modified"] if e["position_number"] == "01.01.0010")
        assert first["changes"] == {
            "unit_price": {"from": None, "to": "4.50"},
            "total_price": {"from": None, "to": "540.00"},
        }
        assert D(diff["delta_cost"]) == D("9412.00")

    def test_a_file_that_is_not_a_bill_fails_the_job_naming_its_phase(self, project, import_file):
        job = import_file(project, g.bill(g.every_kind(), phase="89"), "rechnung.x89")
        assert job.status == "failed"
        assert job.error["code"] == "not_a_bill"
        assert "X89 (invoice)" in job.error["message"]
        assert project.current_version is None


def export_file(actor, project, fmt: str, version: int | None = None) -> tuple[bytes, dict]:
    """POST an export of `fmt`, run its job, return the file's bytes and the job's result."""
    from django.core.files.storage import default_storage

    from evidence.models import Evidence
    from jobs.models import Job
    from jobs.services import job_execute

    body = {"format": fmt} if version is None else {"format": fmt, "version": version}
    response = actor.client.post(f"/api/v1/projects/{project.id}/exports/", body, format="json")
    assert response.status_code == 202, response.content
    job_execute(job_id=response.json()["id"])
    job = Job.objects.get(pk=response.json()["id"])
    assert job.status == "succeeded", job.error
    evidence = Evidence.objects.get(pk=job.result["evidence"])
    with default_storage.open(evidence.key, "rb") as stream:
        return stream.read(), job.result


def fingerprints(project) -> list[str]:
    return list(
        Position.objects.filter(project=project, valid_to__isnull=True)
        .order_by("ordinal")
        .values_list("fingerprint", flat=True)
    )


@pytest.mark.django_db
class TestExport:
    @pytest.fixture
    def priced(self, project, import_file):
        job = import_file(project, g.bill(g.every_kind(), totals="auto"), "lv.x86")
        assert job.status == "succeeded", job.error
        return project

    @pytest.mark.parametrize(("fmt", "phase"), [("gaeb-x83", "83"), ("gaeb-x84", "84")])
    def test_exports_are_valid_against_the_official_schema(self, priced, member, fmt, phase):
        data, result = export_file(member, priced, fmt)
        assert result["filename"].endswith(f".x{phase}")
        assert result["rows"] == 10
        assert data.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
        assert f"http://www.gaeb.de/GAEB_DA_XML/DA{phase}/3.3".encode() in data
        assert_valid(data, phase)

    def test_the_x84_imports_back_with_no_change(self, priced, member, import_file):
        data, _ = export_file(member, priced, "gaeb-x84")
        job = import_file(priced, data, "angebot.x84")
        assert job.status == "succeeded", job.error
        assert job.result["changes"] == {"added": 0, "removed": 0, "modified": 0}
        assert priced.total_cost == D("9412.00")
        assert all(row["ok"] for row in priced.current_version.reconciliation)

    def test_the_x83_imports_back_with_no_change_but_the_prices(self, priced, member, import_file):
        data, _ = export_file(member, priced, "gaeb-x83")
        assert b"<UP>" not in data and b"<IT>" not in data
        job = import_file(priced, data, "lv.x83")
        assert job.status == "succeeded", job.error
        diff = member.client.get(f"/api/v1/projects/{priced.id}/diff/?from=1&to=2").json()
        assert diff["counts"]["added"] == diff["counts"]["removed"] == 0
        for entry in diff["modified"]:
            assert set(entry["changes"]) <= {"unit_price", "total_price", "quantity"}

    def test_tender_then_bid_in_a_new_project_is_the_same_budget(
        self, priced, member, import_file, tenant
    ):
        tender, _ = export_file(member, priced, "gaeb-x83")
        bid, _ = export_file(member, priced, "gaeb-x84")
        copy = ProjectFactory(tenant=tenant, name="Kopie")
        assert import_file(copy, tender, "lv.x83").status == "succeeded"
        job = import_file(copy, bid, "angebot.x84")
        assert job.status == "succeeded", job.error
        assert fingerprints(copy) == fingerprints(priced)
        assert copy.total_cost == priced.total_cost

    def test_the_bvbs_bid_round_trips(self, project, member, import_file):
        assert import_file(project, g.bvbs_bid(), "bvbs.x84").status == "succeeded"
        data, _ = export_file(member, project, "gaeb-x84")
        assert_valid(data, "84")
        assert b"<Total>2000000.00</Total>" in data
        job = import_file(project, data, "bvbs-export.x84")
        assert job.result["changes"] == {"added": 0, "removed": 0, "modified": 0}
        assert project.total_cost == D("2000000.00")

    @pytest.mark.parametrize("name", SAMPLES)
    def test_the_samples_round_trip(self, project, member, import_file, name):
        assert import_file(project, DATA / name, name).status == "succeeded"
        fmt = "gaeb-x83" if name.endswith("x83") else "gaeb-x84"
        data, _ = export_file(member, project, fmt)
        assert_valid(data, fmt[-2:])
        job = import_file(project, data, f"again.{fmt[-3:]}")
        assert job.result["changes"] == {"added": 0, "removed": 0, "modified": 0}

    def test_a_budget_from_a_csv(self, project, member, import_file):
        from tests.projects.conftest import sample

        assert import_file(project, sample("budget-v1-en.csv"), "b.csv").status == "succeeded"
        data, result = export_file(member, project, "gaeb-x84")
        assert_valid(data, "84")
        assert result["rows"] == 300
        tender, result = export_file(member, project, "gaeb-x83")
        assert_valid(tender, "83")
        job = import_file(project, data, "b.x84")  # prices only: the rest is the CSV's
        assert job.result["changes"]["added"] == job.result["changes"]["removed"] == 0


@pytest.mark.django_db
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_the_spreadsheet_exports_show_the_kind(project, member, import_file, fmt):
    import csv

    from openpyxl import load_workbook

    assert import_file(project, g.bill(g.every_kind()), "lv.x86").status == "succeeded"
    data, _ = export_file(member, project, fmt)
    if fmt == "csv":
        rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    else:
        sheet = load_workbook(io.BytesIO(data), read_only=True)["Budget"]
        rows = [["" if v is None else v for v in row] for row in sheet.iter_rows(values_only=True)]
    kinds = {row[1]: row[rows[0].index("Row type")] for row in rows[1:]}
    assert kinds["01.02.0010.A"] == "alternative"
    assert kinds["01.02.0090"] == "markup"
    assert kinds["02.01.0010"] == ""


@pytest.mark.django_db
class TestAdminAndCommand:
    """The admin action and `import_budget` run the same import: GAEB is one more format."""

    def test_the_command(self, tenant, tmp_path, capsys):
        from django.core.management import call_command

        path = tmp_path / "bvbs.x84"
        path.write_bytes(g.bvbs_bid())
        call_command("import_budget", tenant.slug, "Testangebot", str(path), "--create")
        assert "28 positions, total 2000000.00" in capsys.readouterr().out

    def test_the_admin_action_and_the_version_page(self, client, project):
        from django.contrib.auth import get_user_model
        from django.core.files.uploadedfile import SimpleUploadedFile

        from jobs.models import Job
        from jobs.services import job_execute

        get_user_model().objects.create_superuser("root", "root@example.com", "pw-for-tests")
        client.login(username="root", password="pw-for-tests")
        superuser_client = client
        action = {"action": "import_budget_file", "_selected_action": [project.pk]}
        upload = SimpleUploadedFile("lv.x86", g.bill(g.every_kind(), totals="auto"))
        superuser_client.post(
            "/admin/projects/project/", {**action, "apply": "1", "file": upload}, follow=True
        )
        job_execute(job_id=Job.objects.get(project=project, kind="import_budget").id)
        project.refresh_from_db()
        assert project.total_cost == D("9412.00")
        page = superuser_client.get(
            f"/admin/projects/budgetversion/{project.current_version.pk}/change/"
        ).content.decode()
        assert "01.02" in page and "9412.00" in page  # the reconciliation table
        positions = superuser_client.get(
            f"/admin/projects/position/?project__id__exact={project.pk}"
        ).content.decode()
        assert "alternative" in positions
