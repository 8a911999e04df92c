"""GAEB DA XML export (X83, X84) against the official schema, and the round trip back in."""

import io
from decimal import Decimal

import pytest

from projects.models import Position
from tests.factories import ProjectFactory
from tests.projects import gaeb_files as g
from tests.projects.gaeb_checks import DATA, SAMPLES

D = Decimal
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
