"""Price catalogs: import (API, job, command, admin), updates that raise alerts, alerts' API."""

import csv
import io
import re
from decimal import Decimal

import pytest
from asgiref.sync import async_to_sync
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from openpyxl import Workbook

from catalogs.models import Alert, CatalogItem, PriceCatalog
from jobs.events import group_for, topic_for
from jobs.models import Job
from jobs.services import job_execute
from projects.models import Position, Project
from tenants.models import Role
from tests.conftest import SAMPLE_DATA
from tests.factories import (
    AlertFactory,
    EvidenceFactory,
    MembershipFactory,
    PositionFactory,
    PriceCatalogFactory,
    ProjectFactory,
)
from tests.projects.conftest import sample

pytestmark = pytest.mark.django_db

CATALOG = SAMPLE_DATA / "catalog.csv"
# Codes of the sample catalog that the sample budget uses (4, 3 and 3 positions).
PRICE_CODE, UNIT_CODE, BOTH_CODE = "131201118", "622211021", "162701201"
DESCRIPTION_CODE, UNTOUCHED_CODE = "273351130", "411351259"


def catalog_rows() -> list[dict]:
    return list(csv.DictReader(io.StringIO(CATALOG.read_text(encoding="utf-8"))))


def catalog_bytes(rows: list[dict], *, delimiter: str = ",", encoding: str = "utf-8") -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(
        out, fieldnames=["code", "description", "unit", "unit_price"], delimiter=delimiter
    )
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def start_import(actor, data: bytes, filename: str = "catalog.csv", **fields):
    return actor.client.post(
        "/api/v1/catalogs/",
        {"file": SimpleUploadedFile(filename, data), **fields},
        format="multipart",
    )


def run_import(actor, data: bytes, filename: str = "catalog.csv", **fields) -> Job:
    response = start_import(actor, data, filename, **fields)
    assert response.status_code == 202, response.content
    assert response.json()["kind"] == "import_catalog"
    job_execute(job_id=response.json()["id"])
    return Job.objects.get(pk=response.json()["id"])


@pytest.fixture
def catalog(admin) -> PriceCatalog:
    job = run_import(admin, CATALOG.read_bytes(), filename="catalog.csv", name="ÚRS 2026")
    assert job.status == "succeeded", job.error
    return PriceCatalog.objects.get(pk=job.result["catalog"])


@pytest.fixture
def budget(project, import_file) -> Project:
    job = import_file(project, sample("budget-v1-en.csv"), "budget-v1-en.csv")
    assert job.status == "succeeded", job.error
    return project


class TestImport:
    def test_the_sample_catalog_imports_with_every_item(self, admin, catalog, viewer):
        assert (catalog.name, catalog.version, catalog.item_count) == ("ÚRS 2026", 1, 400)
        assert CatalogItem.objects.filter(catalog=catalog, changed_in_version=1).count() == 400
        item = CatalogItem.objects.get(catalog=catalog, code="131201101")
        assert (item.unit, item.unit_price) == ("m3", Decimal("182.00"))
        assert item.description.startswith("Hloubení jam nezapažených")
        listing = viewer.client.get("/api/v1/catalogs/").json()
        assert [c["name"] for c in listing["results"]] == ["ÚRS 2026"]
        detail = viewer.client.get(f"/api/v1/catalogs/{catalog.id}/").json()
        assert (detail["version"], detail["item_count"]) == (1, 400)

    def test_items_are_cursor_paginated_and_filtered(
        self, viewer, catalog, django_assert_max_num_queries
    ):
        url = f"/api/v1/catalogs/{catalog.id}/items/"
        with django_assert_max_num_queries(12):
            first = viewer.client.get(url, {"page_size": 100}).json()
        assert len(first["results"]) == 100 and first["next"]
        codes = [item["code"] for item in first["results"]]
        assert codes == sorted(codes)
        second = viewer.client.get(first["next"]).json()
        assert not set(codes) & {item["code"] for item in second["results"]}
        by_code = viewer.client.get(url, {"code": "131201101"}).json()["results"]
        assert [(i["code"], i["unit"], i["unit_price"]) for i in by_code] == [
            ("131201101", "m3", "182.00")
        ]
        found = viewer.client.get(url, {"search": "nezapažených"}).json()["results"]
        assert found and all("nezapažených" in i["description"] for i in found)

    def test_cp1250_semicolons_and_decimal_commas(self, admin):
        rows = catalog_rows()[:3]
        for row in rows:
            row["unit_price"] = row["unit_price"].replace(".", ",")
        job = run_import(admin, catalog_bytes(rows, delimiter=";", encoding="cp1250"), "cz.csv")
        assert job.status == "succeeded", job.error
        catalog = PriceCatalog.objects.get(pk=job.result["catalog"])
        assert catalog.name == "cz"  # from the file's name
        item = CatalogItem.objects.get(catalog=catalog, code=rows[0]["code"])
        assert item.unit_price == Decimal(rows[0]["unit_price"].replace(",", "."))
        assert item.description == rows[0]["description"]

    def test_xlsx_below_title_rows(self, admin):
        workbook = Workbook()
        sheet = workbook.active
        sheet.append(["Ceník 2026"])
        sheet.append([])
        sheet.append(["Kód", "Popis", "MJ", "Jedn. cena"])
        sheet.append(["131201101", "Hloubení jam", "m3", 182.5])
        sheet.append([131201102, "Hloubení jam přes 100 m3", "m3", "149,50"])
        out = io.BytesIO()
        workbook.save(out)
        job = run_import(admin, out.getvalue(), "cenik.xlsx")
        assert job.status == "succeeded", job.error
        items = CatalogItem.objects.filter(catalog_id=job.result["catalog"])
        assert sorted(items.values_list("code", "unit_price")) == [
            ("131201101", Decimal("182.5")),
            ("131201102", Decimal("149.5")),
        ]

    def test_from_a_kept_document(self, admin):
        evidence = EvidenceFactory(
            tenant=admin.tenant, name="catalog.csv", content=CATALOG.read_bytes()
        )
        response = admin.client.post(
            "/api/v1/catalogs/", {"evidence": str(evidence.id)}, format="json"
        )
        assert response.status_code == 202, response.content
        job_execute(job_id=response.json()["id"])
        catalog = PriceCatalog.objects.get(tenant=admin.tenant)
        assert (catalog.item_count, catalog.source_id) == (400, evidence.id)

    def test_a_malformed_catalog_fails_naming_row_and_column_and_writes_nothing(self, admin):
        rows = catalog_rows()[:5]
        rows[1]["unit_price"] = "abc"
        rows[3]["unit"] = ""
        job = run_import(admin, catalog_bytes(rows))
        assert job.status == "failed"
        assert job.error["code"] == "invalid_file"
        messages = [e["message"] for e in job.error["details"]["errors"]]
        assert messages == [
            'row 3, column "unit_price": "abc" is not a number',
            'row 5, column "unit": is empty',
        ]
        assert not PriceCatalog.objects.exists() and not CatalogItem.objects.exists()

    def test_a_malformed_update_changes_nothing(self, admin, catalog):
        rows = catalog_rows()
        rows[0]["unit_price"] = "999"
        rows.append(dict(rows[10]))  # a code twice
        job = run_import(admin, catalog_bytes(rows), catalog=str(catalog.id))
        assert job.status == "failed"
        assert "code 131201101" not in job.error["message"]
        assert 'row 402, column "code": code' in job.error["details"]["errors"][0]["message"]
        catalog.refresh_from_db()
        assert catalog.version == 1
        assert CatalogItem.objects.get(catalog=catalog, code=rows[0]["code"]).unit_price != 999

    def test_bad_requests(self, admin, catalog, outsider):
        assert start_import(admin, b"").status_code == 400  # empty: refused as every upload is
        response = admin.client.post("/api/v1/catalogs/", {}, format="json")
        assert response.status_code == 400
        assert (
            admin.client.post(
                "/api/v1/catalogs/",
                {"evidence": "00000000-0000-0000-0000-000000000000"},
                format="json",
            ).status_code
            == 404
        )
        # Another tenant's catalog is not found, not updated.
        response = start_import(outsider, CATALOG.read_bytes(), catalog=str(catalog.id))
        assert response.status_code == 404
        assert outsider.client.get(f"/api/v1/catalogs/{catalog.id}/").status_code == 404
        assert outsider.client.get(f"/api/v1/catalogs/{catalog.id}/items/").status_code == 404
        assert outsider.client.get("/api/v1/catalogs/").json()["results"] == []

    @pytest.mark.parametrize("role", [Role.MEMBER, Role.VIEWER])
    def test_only_admins_and_owners_import(self, tenant, role, owner):
        from tests.conftest import _actor

        actor = _actor(tenant, role)
        assert start_import(actor, CATALOG.read_bytes()).status_code == 403
        assert start_import(owner, CATALOG.read_bytes()).status_code == 202


class TestAlerts:
    def update(self, rows: list[dict]) -> list[dict]:
        by_code = {row["code"]: row for row in rows}
        by_code[PRICE_CODE]["unit_price"] = "120.00"
        by_code[UNIT_CODE]["unit"] = "m3"
        by_code[BOTH_CODE]["unit"] = "t"
        by_code[BOTH_CODE]["unit_price"] = "190.50"
        by_code[DESCRIPTION_CODE]["description"] += " (upřesněno)"
        return rows

    def test_an_update_alerts_exactly_the_changed_items_positions(
        self, admin, catalog, budget, other_tenant, listen, django_capture_on_commit_callbacks
    ):
        theirs = PositionFactory(tenant=other_tenant, code=PRICE_CODE)
        archived = ProjectFactory(tenant=budget.tenant, status=Project.Status.ARCHIVED)
        PositionFactory(tenant=budget.tenant, project=archived, code=PRICE_CODE)
        listener = listen(budget)
        tenant_listener = listen(budget)  # moved to the tenant's topic below
        async_to_sync(tenant_listener.layer.group_discard)(
            tenant_listener.group, tenant_listener.channel
        )
        tenant_listener.group = group_for(topic_for("tenant", budget.tenant_id))
        async_to_sync(tenant_listener.layer.group_add)(
            tenant_listener.group, tenant_listener.channel
        )
        rows = self.update(catalog_rows())
        removed = rows.pop()  # a code the new edition drops
        rows[0]["unit_price"] = rows[0]["unit_price"]  # unchanged
        with django_capture_on_commit_callbacks(execute=True):
            job = run_import(admin, catalog_bytes(rows), catalog=str(catalog.id))
        assert job.status == "succeeded", job.error
        assert job.result["changes"] == {"added": 0, "changed": 4, "removed": 1, "unchanged": 395}
        catalog.refresh_from_db()
        assert (catalog.version, catalog.item_count) == (2, 399)
        newest = CatalogItem.objects.filter(catalog=catalog, edition__number=2)
        assert not newest.filter(code=removed["code"]).exists()
        changed = newest.filter(changed_in_version=2)
        assert set(changed.values_list("code", flat=True)) == {
            PRICE_CODE,
            UNIT_CODE,
            BOTH_CODE,
            DESCRIPTION_CODE,
        }

        alerts = Alert.objects.filter(tenant=budget.tenant)
        current = Position.objects.filter(project=budget, valid_to__isnull=True)
        expected = {
            (p.line_key, p.code)
            for p in current.filter(code__in=[PRICE_CODE, UNIT_CODE, BOTH_CODE])
        }
        assert len(expected) == 10
        assert {(a.line_key, a.code) for a in alerts} == expected
        assert job.result["alerts"] == 10
        assert all(a.project_id == budget.id and a.catalog_version == 2 for a in alerts)
        assert not Alert.objects.filter(tenant=other_tenant).exists() and theirs.pk
        kinds = {a.code: a.kind for a in alerts}
        assert kinds == {
            PRICE_CODE: Alert.Kind.PRICE,
            UNIT_CODE: Alert.Kind.UNIT,
            BOTH_CODE: Alert.Kind.PRICE_AND_UNIT,
        }
        price_alert = alerts.filter(code=PRICE_CODE).first()
        assert price_alert.details["old"] == {"unit": "m3", "unit_price": "113.3100"}
        assert price_alert.details["new"] == {"unit": "m3", "unit_price": "120.0000"}
        assert "113.31 → 120.00 CZK" in price_alert.message
        assert "re-run the audit" in price_alert.message
        unit_alert = alerts.filter(code=UNIT_CODE).first()
        assert "unit m2 → m3" in unit_alert.message

        events = [listener.receive() for _ in range(10)]
        assert {e["type"] for e in events} == {"alert.created"}
        assert {e["data"]["id"] for e in events} == {str(a.id) for a in alerts}
        alert_ids = set()
        for _ in range(200):  # the tenant's topic carries the job's events too
            event = tenant_listener.receive()
            if event["type"] == "alert.created":
                alert_ids.add(event["data"]["id"])
            if len(alert_ids) == 10:
                break
        assert alert_ids == {str(a.id) for a in alerts}

    def test_the_same_edition_again_changes_nothing(self, admin, catalog, budget):
        job = run_import(admin, CATALOG.read_bytes(), catalog=str(catalog.id))
        assert job.status == "succeeded"
        catalog.refresh_from_db()
        assert catalog.version == 1 and job.result["changes"]["unchanged"] == 400
        assert not Alert.objects.exists()

    def test_unit_spellings_that_mean_the_same_raise_no_alert(self, admin, catalog, budget):
        rows = catalog_rows()
        for row in rows:
            if row["code"] == UNIT_CODE:
                row["unit"] = "m²"
        job = run_import(admin, catalog_bytes(rows), catalog=str(catalog.id))
        assert job.result["changes"]["changed"] == 1
        assert not Alert.objects.exists()

    def test_the_changed_codes_positions_are_found_by_index(self, admin, catalog, budget):
        with CaptureQueriesContext(connection) as queries:
            job = run_import(
                admin, catalog_bytes(self.update(catalog_rows())), catalog=str(catalog.id)
            )
        assert job.result["alerts"] > 0
        (lookup,) = [
            query["sql"]
            for query in queries
            if query["sql"].startswith("SELECT") and '"projects_position"."code" IN' in query["sql"]
        ]
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                # The sample tables are small enough to scan: ask what the planner can do instead.
                cursor.execute("SET LOCAL enable_seqscan = off")
                cursor.execute(f"EXPLAIN {lookup}")
            else:
                cursor.execute(f"EXPLAIN QUERY PLAN {lookup}")
            plan = " ".join(str(row) for row in cursor.fetchall())
        assert "position_tenant_code" in plan, plan


class TestAlertApi:
    def test_list_and_acknowledge(self, member, viewer, outsider, tenant, other_tenant):
        open_alert = AlertFactory(tenant=tenant)
        AlertFactory(tenant=other_tenant)
        listing = viewer.client.get("/api/v1/alerts/").json()["results"]
        assert [a["id"] for a in listing] == [str(open_alert.id)]
        assert listing[0]["acknowledged"] is False

        url = f"/api/v1/alerts/{open_alert.id}/acknowledge/"
        assert viewer.client.post(url).status_code == 403
        assert outsider.client.post(url).status_code == 404
        response = member.client.post(url)
        assert response.status_code == 200
        assert response.json()["acknowledged"] is True
        assert response.json()["acknowledged_by"] == f"API key member key ({member.api_key.prefix})"
        first = response.json()["acknowledged_at"]
        assert member.client.post(url).json()["acknowledged_at"] == first  # idempotent

        assert (
            viewer.client.get("/api/v1/alerts/", {"acknowledged": "false"}).json()["results"] == []
        )
        acknowledged = viewer.client.get("/api/v1/alerts/", {"acknowledged": "true"}).json()
        assert [a["id"] for a in acknowledged["results"]] == [str(open_alert.id)]
        assert outsider.client.get("/api/v1/alerts/").json()["results"] != []  # their own only
        assert str(open_alert.id) not in outsider.client.get("/api/v1/alerts/").content.decode()

    def test_the_list_has_no_n_plus_one(self, viewer, tenant, django_assert_max_num_queries):
        catalog = PriceCatalogFactory(tenant=tenant)
        for _ in range(30):
            AlertFactory(tenant=tenant, catalog=catalog)
        with django_assert_max_num_queries(10):
            response = viewer.client.get("/api/v1/alerts/")
        assert len(response.json()["results"]) == 30

    def test_filters_are_checked(self, viewer):
        assert viewer.client.get("/api/v1/alerts/", {"acknowledged": "maybe"}).status_code == 400
        assert viewer.client.get("/api/v1/alerts/", {"kind": "nope"}).status_code == 400


class TestCommand:
    def test_it_imports_inline_with_a_progress_bar(self, tenant, capsys):
        call_command("import_catalog", tenant.slug, str(CATALOG), "--name", "ÚRS")
        captured = capsys.readouterr()
        assert re.search(r"\[#+\] 100%", captured.err)
        assert "Catalog ÚRS" in captured.out and "version 1: 400 items" in captured.out
        catalog = PriceCatalog.objects.get(tenant=tenant)
        call_command("import_catalog", tenant.slug, str(CATALOG), "--catalog", str(catalog.id))
        catalog.refresh_from_db()
        assert catalog.version == 1  # the same edition again

    def test_a_bad_file_fails_with_its_problems(self, tenant, tmp_path):
        bad = tmp_path / "bad.csv"
        bad.write_text("code,description,unit,unit_price\nA1,x,m,12.5\nA2,y,m,-3\n")
        with pytest.raises(CommandError) as excinfo:
            call_command("import_catalog", tenant.slug, str(bad))
        assert 'row 3, column "unit_price": -3 is negative' in str(excinfo.value)
        assert not PriceCatalog.objects.exists()
        with pytest.raises(CommandError, match="No tenant"):
            call_command("import_catalog", "nope", str(bad))
        with pytest.raises(CommandError, match="Catalog not found"):
            call_command(
                "import_catalog",
                tenant.slug,
                str(bad),
                "--catalog",
                "00000000-0000-0000-0000-000000000000",
            )


@pytest.fixture
def superuser_client(client):
    get_user_model().objects.create_superuser("root", "root@example.com", "pw-for-tests-only")
    client.login(username="root", password="pw-for-tests-only")
    return client


class TestAdmin:
    def test_pages_and_the_import_action(self, superuser_client, tenant):
        catalog = PriceCatalogFactory(tenant=tenant, name="Mine", version=0, item_count=0)
        action = {"action": "import_catalog_file", "_selected_action": [catalog.pk]}
        form = superuser_client.post("/admin/catalogs/pricecatalog/", action)
        assert 'type="file"' in form.content.decode()
        upload = SimpleUploadedFile("catalog.csv", CATALOG.read_bytes())
        response = superuser_client.post(
            "/admin/catalogs/pricecatalog/", {**action, "apply": "1", "file": upload}, follow=True
        )
        job = Job.objects.get(kind="import_catalog")
        assert f'<a href="/admin/jobs/job/{job.pk}/change/">follow' in response.content.decode()
        job_execute(job_id=job.id)
        catalog.refresh_from_db()
        assert (catalog.version, catalog.item_count) == (1, 400)
        alert = AlertFactory(tenant=tenant, catalog=catalog)
        item = CatalogItem.objects.filter(catalog=catalog).first()
        for url in [
            "/admin/catalogs/pricecatalog/",
            f"/admin/catalogs/pricecatalog/{catalog.pk}/change/",
            f"/admin/catalogs/catalogitem/?catalog__id__exact={catalog.pk}",
            "/admin/catalogs/catalogitem/?q=131201101",
            f"/admin/catalogs/catalogitem/{item.pk}/change/",
            "/admin/catalogs/alert/?acknowledged=no",
            f"/admin/catalogs/alert/{alert.pk}/change/",
        ]:
            assert superuser_client.get(url).status_code == 200, url
        response = superuser_client.post(
            "/admin/catalogs/alert/",
            {"action": "acknowledge", "_selected_action": [alert.pk]},
            follow=True,
        )
        assert "1 alert(s) acknowledged." in response.content.decode()
        alert.refresh_from_db()
        assert alert.acknowledged_by == "root"

    def test_a_tenant_admin_sees_only_their_tenants_catalogs_and_alerts(
        self, client, tenant, other_tenant
    ):
        mine = PriceCatalogFactory(tenant=tenant, name="Acme prices")
        theirs = PriceCatalogFactory(tenant=other_tenant, name="Globex prices")
        their_alert = AlertFactory(tenant=other_tenant, catalog=theirs)
        user = MembershipFactory(tenant=tenant, role=Role.ADMIN).user
        user.is_staff = True
        user.save()
        user.user_permissions.set(Permission.objects.filter(content_type__app_label="catalogs"))
        client.force_login(user)
        listing = client.get("/admin/catalogs/pricecatalog/").content.decode()
        assert mine.name in listing and theirs.name not in listing
        assert client.get(f"/admin/catalogs/pricecatalog/{theirs.pk}/change/").status_code == 302
        assert client.get(f"/admin/catalogs/alert/{their_alert.pk}/change/").status_code == 302
        assert "Globex" not in client.get("/admin/catalogs/catalogitem/").content.decode()
