"""Audit depth end to end: editions named by positions or chosen with an index (API, job,
command), take-off findings with waivers and the report chain, the tenant's policy switching rules
and thresholds, the tenant-wide price sample computed by the database, and isolation: another
tenant's editions and projects never enter a comparison."""

import io
import json
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audits.models import AuditPolicy, AuditReport, Finding
from audits.rules.types import Sample
from audits.selectors import audit_policy_for, peer_price_samples
from audits.services import audit_run
from catalogs.models import CatalogEdition
from catalogs.services import catalog_import
from jobs.models import Job
from jobs.services import job_execute
from projects.models import Position, Project
from tests.factories import BudgetVersionFactory, PositionFactory, ProjectFactory

pytestmark = pytest.mark.django_db
D = Decimal
KROS_TAKEOFF = [
    {"expression": '"základy"', "value": None, "line": 41},
    {"expression": "(14+1)*(7,2+1)", "value": "123", "line": 42},
    {"expression": "5*2", "value": "10", "line": 43},
    {"expression": "Součet", "value": "133", "line": 44},
]


def edition(tenant, name: str, prices: dict[str, str], catalog: str = "ÚRS") -> CatalogEdition:
    text = "code,description,unit,unit_price\n" + "".join(
        f"{code},Položka {code},m3,{price}\n" for code, price in prices.items()
    )
    outcome = catalog_import(
        tenant=tenant,
        stream=io.BytesIO(text.encode()),
        filename="urs.csv",
        name=catalog,
        edition=name,
    )
    assert outcome.edition is not None
    return outcome.edition


def budget(tenant, rows: list[dict], name: str = "Budget") -> Project:
    """A project whose current version 1 holds `rows` (totals = quantity × unit price)."""
    project = ProjectFactory(tenant=tenant, name=name)
    version = BudgetVersionFactory(tenant=tenant, project=project, number=1)
    for n, row in enumerate(rows, 1):
        row = {"quantity": D("10"), "unit_price": D("100"), "description": f"Položka {n}", **row}
        row.setdefault("total_price", (row["quantity"] * row["unit_price"]).quantize(D("0.01")))
        PositionFactory(
            tenant=tenant,
            project=project,
            position_number=str(n),
            line_key=str(n),
            ordinal=n * 10,
            source_line=n + 1,
            **row,
        )
    Project.objects.filter(pk=project.pk).update(current_version=version, position_count=len(rows))
    project.refresh_from_db()
    return project


def audit(project: Project, actor, **body) -> Job:
    response = actor.client.post(f"/api/v1/projects/{project.id}/audits/", body, format="json")
    assert response.status_code == 202, response.content
    job_execute(job_id=response.json()["id"])
    job = Job.objects.get(pk=response.json()["id"])
    assert job.status == Job.Status.SUCCEEDED, job.error
    return job


def report_bytes(report: AuditReport) -> bytes:
    return b"".join(default_storage.open(report.document.key).chunks())


def found(project: Project) -> dict[str, list[tuple[str, str]]]:
    out: dict[str, list[tuple[str, str]]] = {}
    for finding in Finding.objects.filter(project=project).order_by("line_key", "rule"):
        out.setdefault(finding.line_key, []).append((finding.rule, finding.recommendation))
    return out


@pytest.fixture
def editions(tenant, other_tenant):
    """ÚRS 2025 01 (C1 at 100) and ÚRS 2026 01 (C1 at 130) for the tenant; another tenant has
    ÚRS 2022 02, which must never serve the tenant."""
    old = edition(tenant, "ÚRS 2025 01", {"C1": "100", "C2": "50"})
    new = edition(tenant, "ÚRS 2026 01", {"C1": "130", "C2": "50"})
    edition(other_tenant, "ÚRS 2022 02", {"C1": "100"})
    return old, new


class TestEditions:
    def test_each_position_is_audited_against_the_edition_it_names(self, editions, member):
        _old, new = editions
        project = budget(
            member.tenant,
            [
                {"code": "C1", "price_system": "CS ÚRS 2025 01"},  # 100 = 100
                {"code": "C1"},  # names none: the newest, 130: −23 %
                {"code": "C1", "price_system": "CS ÚRS 2022 02"},  # not the tenant's
                {"code": "C1", "price_system": "CS ÚRS 2026 01", "unit_price": D("130")},
                {"code": "C9", "price_system": "CS ÚRS 2025 01"},  # not in that edition
            ],
        )
        job = audit(project, member)
        assert found(project) == {
            "2": [("cost.deviation", "amber")],
            "3": [("catalog.edition_missing", "amber")],
            "5": [("catalog.unknown_code", "amber")],
        }
        cost = Finding.objects.get(project=project, rule="cost.deviation")
        assert (cost.catalog_version, cost.evidence["catalog_edition"]) == (2, "ÚRS 2026 01")
        assert cost.catalog_item.edition_id == new.id
        unknown = Finding.objects.get(project=project, rule="catalog.unknown_code")
        assert "edition ÚRS 2025 01" in unknown.reasoning
        reference = job.result["reference"]
        assert reference["mode"] == "named" and reference["edition"]["name"] == "ÚRS 2026 01"
        assert [e["name"] for e in reference["named_editions"]] == ["ÚRS 2025 01", "ÚRS 2026 01"]
        report = AuditReport.objects.get(project=project)
        document = json.loads(report_bytes(report))
        assert document["reference"] == reference
        assert (report.catalog_id, report.catalog_version) == (new.catalog_id, 2)

    def test_a_chosen_edition_with_a_price_index(self, editions, member, capsys):
        old, _new = editions
        project = budget(
            member.tenant,
            [
                {"code": "C1", "unit_price": D("130"), "price_system": "CS ÚRS 2026 01"},
                {"code": "C1", "unit_price": D("106"), "price_system": "CS ÚRS 2022 02"},
            ],
        )
        job = audit(project, member, edition="ÚRS 2025 01", index="6.2")
        # Every position against ÚRS 2025 01 at 100 × 1.062 = 106.20: 130 is +22.4 %, 106 −0.2 %.
        assert found(project) == {"1": [("cost.deviation", "amber")]}
        finding = Finding.objects.get(project=project)
        assert finding.evidence["index"] == "6.2"
        assert finding.evidence["reference_unit_price"] == "106.2000"
        assert "indexed +6.2%" in finding.reasoning and "ÚRS 2025 01" in finding.reasoning
        assert job.result["reference"]["mode"] == "chosen"
        assert job.result["reference"]["index"] == "6.2"
        assert job.result["catalog_version"] == old.number
        # By id, and from the command: the same service.
        audit(project, member, edition=str(old.id))
        call_command("audit_project", str(project.id), "--edition", "ÚRS 2025 01", "--index", "6,2")
        assert "edition ÚRS 2025 01, index 6.2 %" in capsys.readouterr().out
        assert AuditReport.objects.filter(project=project).count() == 3

    def test_bad_edition_options_are_refused_before_any_job(self, editions, member, other_tenant):
        project = budget(member.tenant, [{"code": "C1"}])
        theirs = CatalogEdition.objects.get(tenant=other_tenant)
        url = f"/api/v1/projects/{project.id}/audits/"
        cases = [
            ({"index": "6.2"}, 400),  # an index needs an edition
            ({"edition": "ÚRS 2025 01", "index": "-95"}, 400),
            ({"edition": "ÚRS 2025 01", "catalog": None}, 400),
            ({"edition": "ÚRS 1999 01"}, 404),
            ({"edition": str(theirs.id)}, 404),  # another tenant's: not found
            ({"edition": "ÚRS 2022 02"}, 404),  # …not even by name
        ]
        for body, status in cases:
            response = member.client.post(url, body, format="json")
            assert response.status_code == status, (body, response.content)
        assert not Job.objects.filter(kind="audit_project").exists()


class TestTakeoff:
    def test_findings_waivers_and_the_report_chain(self, member):
        project = budget(
            member.tenant,
            [
                {"quantity": D("133"), "takeoff": KROS_TAKEOFF},
                {"quantity": D("150"), "takeoff": KROS_TAKEOFF},
                {
                    "quantity": D("10"),
                    "takeoff": [{"expression": "2*(3+", "value": None, "line": 9}],
                },
            ],
        )
        audit(project, member, catalog=None)
        assert found(project) == {
            "2": [("takeoff.mismatch", "red")],
            "3": [("takeoff.unparsable", "amber")],
        }
        mismatch = Finding.objects.get(project=project, rule="takeoff.mismatch")
        assert mismatch.evidence["takeoff_lines"] == [41, 42, 43, 44]
        assert mismatch.source_line == 3
        url = f"/api/v1/projects/{project.id}/findings/{mismatch.id}/waive/"
        assert (
            member.client.post(url, {"reason": "Measured again."}, format="json").status_code == 201
        )
        assert Position.objects.get(project=project, line_key="2").audit_status == "green"
        verify = f"/api/v1/projects/{project.id}/reports/verify/"
        assert member.client.get(verify).json()["ok"] is True
        audit(project, member, catalog=None)  # the waiver outlives the re-audit
        assert Position.objects.get(project=project, line_key="2").audit_status == "green"
        assert member.client.get(verify).json()["ok"] is True
        # A take-off finding changed after the fact breaks the chain's check.
        Finding.objects.filter(project=project, rule="takeoff.mismatch").update(
            reasoning="Quantity fine."
        )
        problems = member.client.get(verify).json()["problems"]
        assert any("takeoff.mismatch" in problem for problem in problems)


class TestPolicy:
    def test_the_tenants_policy_switches_rules_and_sets_thresholds(self, member):
        AuditPolicy.objects.create(
            tenant=member.tenant,
            takeoff_red_above=D("0.5"),
            rules={"takeoff.missing": True, "duplicates.same_item": False},
        )
        project = budget(
            member.tenant,
            [
                {"quantity": D("150"), "takeoff": KROS_TAKEOFF},  # 12.8 % off: amber now
                {"code": "X", "description": "Výkop"},  # no take-off
                {"code": "X", "description": "Výkop"},  # … and a twin, no longer reported
            ],
        )
        audit(project, member, catalog=None)
        assert found(project) == {
            "1": [("takeoff.mismatch", "amber")],
            "2": [("takeoff.missing", "amber")],
            "3": [("takeoff.missing", "amber")],
        }
        report = AuditReport.objects.get(project=project)
        document = json.loads(report_bytes(report))
        assert document["policy"]["takeoff_red_above"] == "0.5"
        assert document["policy"]["rules"] == {
            "takeoff.missing": True,
            "duplicates.same_item": False,
        }

    @pytest.mark.parametrize(
        ("fields", "field"),
        [
            ({"takeoff_abs_tolerance": D("-1")}, "takeoff_abs_tolerance"),
            ({"outlier_amber_score": D("8")}, "outlier_red_score"),
            ({"rules": {"no.such_rule": True}}, "rules"),
            ({"rules": {"takeoff.missing": "yes"}}, "rules"),
        ],
    )
    def test_an_unusable_policy_is_refused(self, tenant, fields, field):
        policy = AuditPolicy(tenant=tenant, **fields)
        with pytest.raises(ValidationError) as excinfo:
            policy.full_clean()
        assert field in excinfo.value.message_dict

    def test_each_setting_says_what_it_means(self):
        for model_field in AuditPolicy._meta.get_fields():
            if model_field.name not in ("id", "tenant", "updated_at"):
                assert model_field.help_text, model_field.name


class TestTenantSample:
    def test_the_database_computes_median_and_mad_of_the_tenants_other_projects(
        self, tenant, other_tenant
    ):
        project = budget(tenant, [{"code": "A", "unit_price": D("150")}, {"code": "B"}])
        budget(tenant, [{"code": "A", "unit_price": D(p)} for p in (100, 102, 98, 101, 99)], "P2")
        archived = budget(tenant, [{"code": "A", "unit_price": D("1000")}] * 3, "Old")
        Project.objects.filter(pk=archived.pk).update(status=Project.Status.ARCHIVED)
        deleted = budget(tenant, [{"code": "A", "unit_price": D("1000")}] * 3, "Gone")
        Project.objects.filter(pk=deleted.pk).update(deleted_at=timezone.now())
        older = budget(tenant, [{"code": "A", "unit_price": D("1000")}] * 3, "Revised")
        Position.objects.filter(project=older).update(valid_to=2)  # not current
        budget(other_tenant, [{"code": "A", "unit_price": D("5000")}] * 5, "Theirs")
        budget(tenant, [{"code": "B"}] * 4, "Few")  # B: 4 prices, fewer than 5
        budget(tenant, [{"code": "Z"}] * 5, "Other work")  # not a code of the audited version
        samples = peer_price_samples(tenant=tenant, project=project, codes={"A", "B"}, min_sample=5)
        # 98 99 100 101 102: median 100; distances 0 1 1 2 2: MAD 1.
        assert samples == {"A": Sample(5, D("100"), D("1"))}

        AuditPolicy.objects.create(tenant=tenant, rules={"outliers.tenant": True})
        audit_run(project=project, policy=audit_policy_for(tenant=tenant))
        finding = Finding.objects.get(project=project, rule="outliers.tenant")
        assert finding.recommendation == "red"  # 50 / 1.4826 = 33.7 MADs
        assert finding.evidence["sample"] == 5 and finding.evidence["median"] == "100"

    def test_an_audit_reads_in_bulk_whatever_the_size(self, tenant):
        """No query per position: the same statements for 5 positions as for 60 (the findings'
        bulk insert aside, which SQLite splits into batches)."""
        AuditPolicy.objects.create(
            tenant=tenant, rules={"outliers.tenant": True, "outliers.version": True}
        )
        edition(tenant, "ÚRS 2026 01", {"C1": "100"})
        counts = []
        for size in (5, 5, 60):  # the first run also opens the tenant's usage counter
            rows = [
                {"code": f"C{n % 3}", "price_system": "CS ÚRS 2026 01", "takeoff": KROS_TAKEOFF}
                for n in range(size)
            ]
            project = budget(tenant, rows, f"Size {size}")
            with CaptureQueriesContext(connection) as captured:
                audit_run(project=project, policy=audit_policy_for(tenant=tenant))
            counts.append(
                sum(
                    1 for q in captured if not q["sql"].startswith('INSERT INTO "projects_finding"')
                )
            )
        assert counts[1] == counts[2], counts
