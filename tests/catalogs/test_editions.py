"""Catalog editions: every import is kept as an edition; browse, diff, alerts naming both; the OTSKP
road-works catalog in its XML format; the migration that made today's items an edition."""

from decimal import Decimal
from xml.sax.saxutils import escape

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from catalogs.models import Alert, CatalogEdition, CatalogItem, PriceCatalog
from tests.catalogs.test_catalogs import (
    BOTH_CODE,
    CATALOG,
    PRICE_CODE,
    UNIT_CODE,
    catalog_bytes,
    catalog_rows,
    run_import,
)
from tests.factories import PositionFactory, ProjectFactory

pytestmark = pytest.mark.django_db


def import_edition(actor, data: bytes, edition: str, filename: str = "urs.csv", **fields):
    job = run_import(actor, data, filename, edition=edition, **fields)
    assert job.status == "succeeded", job.error
    return job


@pytest.fixture
def two_editions(admin, tenant) -> PriceCatalog:
    """ÚRS 2025 01 (the sample catalog) and ÚRS 2026 01: one price, one unit, one of both and one
    description changed, the last code dropped, one code added."""
    PositionFactory(tenant=tenant, code=PRICE_CODE, unit="m3", unit_price=Decimal("113.31"))
    import_edition(admin, CATALOG.read_bytes(), "ÚRS 2025 01", name="ÚRS")
    rows = catalog_rows()
    by_code = {row["code"]: row for row in rows}
    by_code[PRICE_CODE]["unit_price"] = "120.00"
    by_code[UNIT_CODE]["unit"] = "m3"
    by_code[BOTH_CODE].update(unit="t", unit_price="190.50")
    rows[5]["description"] += " (upřesněno)"
    rows.pop()
    rows.append(
        {"code": "999000001", "description": "Nová položka", "unit": "kus", "unit_price": "10"}
    )
    import_edition(admin, catalog_bytes(rows), "ÚRS 2026 01", name="ÚRS")
    return PriceCatalog.objects.get(tenant=tenant, name="ÚRS")


class TestEditions:
    def test_every_import_is_kept_as_a_named_edition(self, two_editions, viewer):
        catalog = two_editions
        assert (catalog.version, catalog.item_count) == (2, 400)
        editions = viewer.client.get(f"/api/v1/catalogs/{catalog.id}/editions/").json()["results"]
        assert [(e["number"], e["name"], e["item_count"]) for e in editions] == [
            (2, "ÚRS 2026 01", 400),
            (1, "ÚRS 2025 01", 400),
        ]
        assert CatalogItem.objects.filter(catalog=catalog).count() == 800
        items = f"/api/v1/catalogs/{catalog.id}/items/"
        old = viewer.client.get(items, {"edition": 1, "code": PRICE_CODE}).json()["results"]
        new = viewer.client.get(items, {"code": PRICE_CODE}).json()["results"]  # the newest
        assert [i["unit_price"] for i in old] == ["113.31"]
        assert [i["unit_price"] for i in new] == ["120.00"]
        assert viewer.client.get(items, {"edition": 1, "code": "999000001"}).json() == {
            "results": [],
            "next": None,
        }
        assert viewer.client.get(items, {"edition": 3}).status_code == 404
        # An unchanged item keeps the edition that last changed it.
        unchanged = CatalogItem.objects.get(edition__number=2, code=catalog_rows()[1]["code"])
        assert unchanged.changed_in_version == 1

    def test_the_diff_lists_added_removed_and_changed_items_with_both_prices(
        self, two_editions, viewer
    ):
        url = f"/api/v1/catalogs/{two_editions.id}/diff/"
        answer = viewer.client.get(url, {"from": 1, "to": 2}).json()
        assert answer["old"]["name"] == "ÚRS 2025 01" and answer["new"]["name"] == "ÚRS 2026 01"
        assert answer["counts"] == {"added": 1, "removed": 1, "changed": 4}
        by_code = {row["code"]: row for row in answer["results"]}
        assert len(by_code) == 6
        assert by_code[PRICE_CODE] | {"old_description": "", "new_description": ""} == {
            "code": PRICE_CODE,
            "change": "changed",
            "old_description": "",
            "new_description": "",
            "old_unit": "m3",
            "new_unit": "m3",
            "old_unit_price": "113.31",
            "new_unit_price": "120.00",
        }
        assert (by_code[BOTH_CODE]["old_unit"], by_code[BOTH_CODE]["new_unit"]) == ("m3", "t")
        assert by_code["999000001"]["change"] == "added"
        assert by_code["999000001"]["old_unit_price"] is None
        removed = next(row for row in answer["results"] if row["change"] == "removed")
        assert removed["new_unit_price"] is None and removed["old_unit_price"]
        only_added = viewer.client.get(url, {"from": 1, "to": 2, "change": "added"}).json()
        assert [row["code"] for row in only_added["results"]] == ["999000001"]
        page = viewer.client.get(url, {"from": 1, "to": 2, "page_size": 4}).json()
        assert len(page["results"]) == 4 and page["next"]
        rest = viewer.client.get(page["next"]).json()["results"]
        assert [r["code"] for r in page["results"] + rest] == sorted(by_code)
        assert viewer.client.get(url, {"from": 1}).status_code == 400
        assert viewer.client.get(url, {"from": 1, "to": 9}).status_code == 404

    def test_alerts_name_both_editions(self, two_editions, viewer):
        alert = Alert.objects.get(code=PRICE_CODE)
        assert (alert.edition.name, alert.previous_edition.name) == ("ÚRS 2026 01", "ÚRS 2025 01")
        assert "edition ÚRS 2026 01 (v2)" in alert.message
        assert "against ÚRS 2025 01 (v1)" in alert.message
        assert "113.31 → 120.00 CZK" in alert.message
        listed = viewer.client.get("/api/v1/alerts/").json()["results"][0]
        assert listed["edition"]["name"] == "ÚRS 2026 01"
        assert listed["previous_edition"] == {
            "id": str(alert.previous_edition_id),
            "number": 1,
            "name": "ÚRS 2025 01",
        }

    def test_an_edition_name_is_taken_once(self, two_editions, admin):
        again = run_import(admin, CATALOG.read_bytes(), edition="ÚRS 2025 01", name="ÚRS")
        assert again.status == "succeeded", again.error  # the same file again: nothing new
        assert again.result["edition"]["number"] == 1
        other = run_import(
            admin, catalog_bytes(catalog_rows()[:3]), edition="ÚRS 2025 01", name="ÚRS"
        )
        assert other.status == "failed" and other.error["code"] == "edition_exists"
        assert CatalogEdition.objects.filter(catalog=two_editions).count() == 2

    def test_editions_of_another_tenant_are_not_found(self, two_editions, outsider):
        base = f"/api/v1/catalogs/{two_editions.id}"
        for url in (f"{base}/editions/", f"{base}/diff/?from=1&to=2", f"{base}/items/?edition=1"):
            assert outsider.client.get(url).status_code == 404, url

    def test_the_command_names_the_edition(self, tenant, capsys):
        call_command(
            "import_catalog", tenant.slug, str(CATALOG), "--name", "ÚRS", "--edition", "ÚRS 2026 01"
        )
        assert "edition ÚRS 2026 01" in capsys.readouterr().out
        assert CatalogEdition.objects.get(catalog__tenant=tenant).name == "ÚRS 2026 01"


# OTSKP ------------------------------------------------------------------------------------------
OTSKP_ITEMS = [
    ("014101", "POPLATKY ZA SKLÁDKU", "M3", "485,00"),
    ("113138", "ODSTRANĚNÍ KRYTU ZPEVNĚNÝCH PLOCH S ASFALTOVÝM POJIVEM", "M3", "1 020,50"),
    ("17120", "ULOŽENÍ SYPANINY DO NÁSYPŮ A NA SKLÁDKY BEZ ZHUTNĚNÍ", "M3", "89,90"),
    ("572213", "SPOJOVACÍ POSTŘIK Z EMULZE DO 0,5KG/M2", "M2", "18,40"),
    ("91228", "SMĚROVÉ SLOUPKY Z PLAST HMOT VČETNĚ ODRAZNÉHO PRVKU", "KUS", "612"),
]


def otskp_xml(
    items=OTSKP_ITEMS,
    *,
    encoding: str = "windows-1250",
    namespace: str = "",
    edition: tuple[str, str] | None = ("OTSKP", "2025"),
) -> bytes:
    """The OTSKP catalog as its XC4 export lays it out: a price system (its type and version)
    holding items with code, name, unit, unit price (decimal comma) and a technical
    specification."""
    xmlns = f' xmlns="{namespace}"' if namespace else ""
    head = "".join(f"<typ_CS>{edition[0]}</typ_CS><verze>{edition[1]}</verze>" if edition else "")
    body = "\n".join(
        f"      <Polozka>\n        <znacka>{code}</znacka>\n        <nazev>{escape(name)}</nazev>\n"
        f"        <MJ>{unit}</MJ>\n        <jedn_cena>{price}</jedn_cena>\n"
        "        <technicka_specifikace>Položka zahrnuje &lt;vše&gt; potřebné."
        "</technicka_specifikace>\n"
        "      </Polozka>"
        for code, name, unit, price in items
    )
    text = (
        f'<?xml version="1.0" encoding="{encoding}"?>\n<XC4{xmlns}>\n  <CenoveSoustavy>\n'
        f"    <CenovaSoustava>{head}\n    <Polozky>\n{body}\n    </Polozky>\n"
        "    </CenovaSoustava>\n  </CenoveSoustavy>\n</XC4>\n"
    )
    return text.encode(encoding)


class TestOtskp:
    def test_the_xml_catalog_imports_with_its_edition(self, admin):
        job = run_import(admin, otskp_xml(), "OTSKP_2025.xml", name="OTSKP")
        assert job.status == "succeeded", job.error
        assert job.result["edition"]["name"] == "OTSKP 2025"
        catalog = PriceCatalog.objects.get(pk=job.result["catalog"])
        items = {
            item.code: (item.description, item.unit, item.unit_price)
            for item in CatalogItem.objects.filter(catalog=catalog)
        }
        assert items == {
            code: (name, unit, Decimal(price.replace(" ", "").replace(",", ".")))
            for code, name, unit, price in OTSKP_ITEMS
        }

    @pytest.mark.parametrize(
        "options",
        [{"encoding": "utf-8", "namespace": "http://example.org/otskp"}, {"edition": None}],
    )
    def test_namespaces_encodings_and_an_edition_given_by_the_caller(self, admin, options):
        data = otskp_xml(**options)
        job = run_import(admin, data, "cenik.xml", name="OTSKP", edition="OTSKP 2024")
        assert job.status == "succeeded", job.error
        assert job.result["edition"]["name"] == "OTSKP 2024"  # the caller's name wins
        assert job.result["items"] == len(OTSKP_ITEMS)

    def test_a_bad_item_fails_naming_its_line_and_element(self, admin):
        items = [*OTSKP_ITEMS[:2], ("572213", "X", "", "abc"), OTSKP_ITEMS[0]]
        job = run_import(admin, otskp_xml(items), "otskp.xml")
        assert job.status == "failed" and job.error["code"] == "invalid_file"
        messages = [e["message"] for e in job.error["details"]["errors"]]
        assert messages == [
            'line 20, Polozka, column "MJ": is empty',
            'line 20, Polozka, column "jedn_cena": "abc" is not a number',
            'line 27, Polozka, column "znacka": code 014101 is already on line 6, Polozka',
        ]
        assert not PriceCatalog.objects.exists()

    @pytest.mark.parametrize(
        ("data", "code"),
        [
            (b'<?xml version="1.0"?>\n<unixml verze="1.2"><stavba/></unixml>', "not_otskp"),
            (b"<?xml version=\"1.0\"?>\n<!DOCTYPE x [<!ENTITY a 'b'>]>\n<XC4/>", "forbidden_xml"),
            (b"<XC4><CenoveSoustavy><Polozka>", "invalid_xml"),
            (b"<XC4><CenoveSoustavy/></XC4>", "no_items"),
        ],
    )
    def test_what_is_not_an_otskp_catalog_is_refused(self, admin, data, code):
        job = run_import(admin, data, "x.xml")
        assert job.status == "failed" and job.error["code"] == code, job.error


# The migration ----------------------------------------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_the_migration_keeps_todays_items_as_an_edition(tenant):
    executor = MigrationExecutor(connection)
    before = [("catalogs", "0001_initial")]
    after = executor.loader.graph.leaf_nodes("catalogs")
    executor.migrate(before)
    apps = executor.loader.project_state(before).apps
    OldCatalog = apps.get_model("catalogs", "PriceCatalog")
    OldItem = apps.get_model("catalogs", "CatalogItem")
    OldAlert = apps.get_model("catalogs", "Alert")
    Project = apps.get_model("projects", "Project")
    updated = OldCatalog.objects.create(tenant_id=tenant.pk, name="ÚRS", version=3, item_count=2)
    fresh = OldCatalog.objects.create(tenant_id=tenant.pk, name="Empty", version=0)
    for code, price in (("A1", "10.00"), ("A2", "20.00")):
        OldItem.objects.create(
            tenant_id=tenant.pk,
            catalog=updated,
            code=code,
            unit="m",
            unit_price=Decimal(price),
            changed_in_version=3 if code == "A1" else 1,
        )
    project = Project.objects.create(tenant_id=tenant.pk, name="P")
    OldAlert.objects.create(
        tenant_id=tenant.pk,
        project=project,
        catalog=updated,
        catalog_version=3,
        kind="price_changed",
        line_key="1",
        code="A1",
        message="…",
    )
    executor = MigrationExecutor(connection)
    executor.migrate(after)

    edition = CatalogEdition.objects.get(catalog_id=updated.pk)
    assert (edition.number, edition.name, edition.item_count) == (3, "ÚRS v3", 2)
    assert set(CatalogItem.objects.filter(edition=edition).values_list("code", "unit_price")) == {
        ("A1", Decimal("10.00")),
        ("A2", Decimal("20.00")),
    }
    assert Alert.objects.get(code="A1").edition_id == edition.pk
    assert not CatalogEdition.objects.filter(catalog_id=fresh.pk).exists()
    ProjectFactory(tenant=tenant)  # the schema is the current one again
