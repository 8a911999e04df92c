"""Audit benchmark on PostgreSQL: an audit end to end against the floor of its own I/O, measured in
the same run.

    .venv/bin/python bench/audit.py [--positions 100000] [--catalog-items 10000] [--repeat 3]

1. Generates (COPY) a catalog of M items and a budget version of N positions: most codes in the
   catalog, a few unknown, some units that differ, prices spread around the reference (some far
   off), some wrong totals, duplicates and empty fields, so every rule family has work.
2. Floor: reading those N positions with psycopg (the columns the audit reads, in file order) and
   COPYing N finding-shaped result rows into a table of the findings table's shape (columns,
   indexes, constraints, foreign keys).
3. The audit end to end through `audit_run` (the service the `audit_project` job runs): reading
   positions and catalog, the rules, and one transaction replacing the version's findings (COPY),
   setting every position's status and the project's counts, and storing the chained report (its
   JSON in evidence storage). Each run starts from an unaudited version (reset untimed); the best
   of --repeat is taken for both sides. Target: ratio ≤ 3.
4. For information: a re-run over an audited version, and the chain verification.

DATABASE_URL defaults to postgres://postgres@127.0.0.1:5432/kalkula_bench (created when missing).
Only the benchmark's own tenant (`bench-audit`) is written and removed.
"""

import argparse
import json
import os
import random
import sys
import time
import uuid
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TENANT_SLUG = "bench-audit"
UNITS = ["m", "m2", "m3", "kus", "t", "kg", "hod", "soubor"]
CENT = Decimal("0.01")

sys.path.insert(0, str(ROOT))
from bench.common import (  # noqa: E402
    DEFAULT_DATABASE_URL,
    WORDS,
    ensure_database,
    load_average,
    report,
)

os.environ.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


# Data ---------------------------------------------------------------------------------------------
def generate(*, positions: int, catalog_items: int):
    """The bench tenant with a catalog of `catalog_items` and a project whose version 1 has
    `positions` rows; both written with COPY."""
    from django.db import connection, transaction

    from catalogs.models import CatalogItem, PriceCatalog
    from projects.bulk import positions_analyze, positions_write
    from projects.models import BudgetVersion, Project
    from projects.rows import ORDINAL_GAP, fingerprint
    from projects.services.versions import project_lock, version_commit, version_open
    from tenants.models import Tenant

    rng = random.Random(7)
    tenant = Tenant.objects.create(slug=TENANT_SLUG, name="Audit benchmark", plan="enterprise")
    catalog = PriceCatalog.objects.create(
        tenant=tenant, name="Bench catalog", version=1, item_count=catalog_items
    )
    items = []
    for number in range(catalog_items):
        code = str(100_000_000 + number * 7919)
        description = " ".join(rng.choices(WORDS, k=rng.randint(5, 9)))
        items.append(
            (code, description, rng.choice(UNITS), Decimal(rng.randint(500, 900_000)) / 100)
        )
    with connection.cursor() as cursor:
        table = CatalogItem._meta.db_table
        columns = (
            "id, tenant_id, catalog_id, code, description, unit, unit_price, changed_in_version"
        )
        with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for code, description, unit, price in items:
                copy.write_row(
                    (uuid.uuid4(), tenant.id, catalog.id, code, description, unit, price, 1)
                )

    rows = []
    previous = None
    for number in range(1, positions + 1):
        draw = rng.random()
        code, description, unit, reference = rng.choice(items)
        price = (reference * Decimal(rng.uniform(0.93, 1.07))).quantize(CENT)
        quantity = Decimal(rng.randint(1, 500_000)) / 1000
        if draw < 0.05:
            code = str(rng.randint(900_000_000, 999_999_999))  # not in the catalog
        elif draw < 0.07:
            unit = rng.choice([u for u in UNITS if u != unit])
        elif draw < 0.17:
            price = (
                reference * Decimal(rng.choice(["0.6", "0.85", "1.15", "1.2", "1.6"]))
            ).quantize(CENT)
        total = (quantity * price).quantize(CENT)
        if 0.17 <= draw < 0.19:
            total += Decimal(rng.randint(100, 10_000))  # a wrong total
        if 0.19 <= draw < 0.20:
            description = ""
        if 0.20 <= draw < 0.21 and previous is not None:
            code, description, unit, quantity, price, total = previous  # a duplicate
        previous = (code, description, unit, quantity, price, total)
        content = ("", str(number), code, description, "", unit, quantity, price, total)
        rows.append(
            (
                None,
                number * ORDINAL_GAP,
                number + 1,
                str(number),
                *content,
                "unaudited",
                fingerprint(content),
            )
        )
    with transaction.atomic():
        project = Project.objects.create(tenant=tenant, name="Audit benchmark")
        project = project_lock(project=project)
        version = version_open(
            project=project, trigger=BudgetVersion.Trigger.IMPORT, created_by=None
        )
        positions_write(project=project, valid_from=version.number, rows=rows)
        version_commit(project=project, version=version)
    positions_analyze(rows_written=len(rows))
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {CatalogItem._meta.db_table}")
    return tenant, catalog, project


def reset(project) -> None:
    """Back to an unaudited version, as before a first audit (untimed)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM projects_finding WHERE project_id = %s", [project.id])
        cursor.execute(
            "UPDATE projects_position SET audit_status = 'unaudited' WHERE project_id = %s",
            [project.id],
        )


def purge_bench_tenant() -> None:
    from django.core.files.storage import default_storage
    from django.db import connection

    from evidence.models import Evidence
    from tenants.models import Tenant

    tenant = Tenant.objects.filter(slug=TENANT_SLUG).first()
    if tenant is None:
        return
    for key in Evidence.objects.filter(tenant=tenant).values_list("key", flat=True):
        default_storage.delete(key)
    with connection.cursor() as cursor:  # the ORM's cascade would load every row first
        for table in ("projects_finding", "projects_waiver", "projects_position"):
            cursor.execute(f"DELETE FROM {table} WHERE tenant_id = %s", [tenant.id])
        cursor.execute("DELETE FROM projects_auditreport WHERE tenant_id = %s", [tenant.id])
        cursor.execute("DELETE FROM jobs_job WHERE tenant_id = %s", [tenant.id])
        cursor.execute(
            "UPDATE projects_project SET current_version_id = NULL WHERE tenant_id = %s",
            [tenant.id],
        )
        cursor.execute("DELETE FROM projects_budgetversion WHERE tenant_id = %s", [tenant.id])
        cursor.execute("DELETE FROM projects_catalogitem WHERE tenant_id = %s", [tenant.id])
    tenant.delete()


# The floor ----------------------------------------------------------------------------------------
READ_SQL = (
    "SELECT id, line_key, position_number, code, description, unit, quantity, unit_price, "
    "total_price, source_line FROM projects_position "
    "WHERE project_id = %s AND valid_to IS NULL ORDER BY ordinal"
)
FINDING_COLUMNS = (
    "id, tenant_id, project_id, version_id, position_id, line_key, rule, role, recommendation, "
    "confidence, reasoning, suggested_fix, evidence, catalog_id, catalog_item_id, "
    "catalog_version, source_line, report_id, created_at"
)


def floor(project, catalog, *, limit: int | None = None) -> tuple[float, float, int]:
    """Seconds to read the version's positions, and to COPY as many finding-shaped rows (or
    `limit`; built beforehand, untimed) into a table of the findings table's shape."""
    import psycopg
    from django.utils import timezone

    url = os.environ["DATABASE_URL"]
    with psycopg.connect(url) as conn:
        started = time.perf_counter()
        positions = conn.execute(READ_SQL, [project.id]).fetchall()
        read_seconds = time.perf_counter() - started
        now = timezone.now()
        rows = [
            (
                uuid.uuid4(),
                project.tenant_id,
                project.id,
                project.current_version_id,
                row[0],
                row[1],
                "cost.deviation",
                "cost",
                "amber",
                Decimal("0.9"),
                f"Unit price {row[7]} is above the catalog price {row[7]} of item {row[3]} "
                "(+12.0%).",
                f"Justify the price or bring it near {row[7]}.",
                json.dumps(
                    {
                        "catalog_item": str(uuid.uuid4()),
                        "catalog": str(catalog.id),
                        "catalog_version": 1,
                        "catalog_code": row[3],
                        "catalog_unit": row[5],
                        "catalog_unit_price": str(row[7]),
                        "deviation": "0.1200",
                        "source_line": row[9],
                    }
                ),
                catalog.id,
                None,
                1,
                row[9],
                None,
                now,
            )
            for row in positions[:limit]
        ]
        conn.execute("DROP TABLE IF EXISTS bench_findings")
        conn.execute("CREATE TABLE bench_findings (LIKE projects_finding INCLUDING ALL)")
        conn.execute(
            "ALTER TABLE bench_findings "
            "ADD FOREIGN KEY (tenant_id) REFERENCES tenants_tenant DEFERRABLE INITIALLY DEFERRED, "
            "ADD FOREIGN KEY (project_id) REFERENCES projects_project "
            "DEFERRABLE INITIALLY DEFERRED, "
            "ADD FOREIGN KEY (version_id) REFERENCES projects_budgetversion "
            "DEFERRABLE INITIALLY DEFERRED, "
            "ADD FOREIGN KEY (position_id) REFERENCES projects_position "
            "DEFERRABLE INITIALLY DEFERRED, "
            "ADD FOREIGN KEY (catalog_id) REFERENCES projects_pricecatalog "
            "DEFERRABLE INITIALLY DEFERRED"
        )
        conn.commit()
        started = time.perf_counter()
        with conn.cursor() as cursor:
            with cursor.copy(f"COPY bench_findings ({FINDING_COLUMNS}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        conn.commit()
        copy_seconds = time.perf_counter() - started
        conn.execute("DROP TABLE bench_findings")
        conn.commit()
    return read_seconds, copy_seconds, len(rows)


class StepClock:
    """A progress sink that remembers when each share of the audit ended."""

    def __init__(self) -> None:
        self.marks: list[tuple[int, float]] = []
        self.started = time.perf_counter()

    def update(self, done: int, total: int, *, step: str | None = None) -> None:
        self.marks.append((done, time.perf_counter() - self.started))

    def log(self, message: str, *, level: str = "info") -> None:
        pass

    def check_cancelled(self, *, interval: float = 0.2) -> None:
        pass

    def breakdown(self) -> str:
        names = {20: "read", 50: "rules", 70: "findings", 85: "statuses", 95: "report", 100: "end"}
        parts, last = [], 0.0
        for done, at in self.marks:
            if done in names:
                parts.append(f"{names[done]} {at - last:.2f}")
                last = at
        return ", ".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--positions", type=int, default=100_000)
    parser.add_argument("--catalog-items", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3, help="Runs to take the best of.")
    options = parser.parse_args()

    ensure_database()
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from audits.reports import report_chain_verify
    from audits.selectors import audit_policy_for
    from audits.services import audit_run

    purge_bench_tenant()
    print(
        f"Audit benchmark: {options.positions} positions against {options.catalog_items} "
        f"catalog items on {os.environ['DATABASE_URL'].rsplit('@', 1)[-1]}"
    )
    try:
        started = time.perf_counter()
        tenant, catalog, project = generate(
            positions=options.positions, catalog_items=options.catalog_items
        )
        report("data generated (COPY)", f"{time.perf_counter() - started:.1f} s")
        policy = audit_policy_for(tenant=tenant)
        floors, audits = [], []
        outcome = None
        for _ in range(max(1, options.repeat)):
            read_s, copy_s, copied = floor(project, catalog)
            floors.append(read_s + copy_s)
            reset(project)
            clock = StepClock()
            started = time.perf_counter()
            outcome = audit_run(project=project, catalog=catalog, policy=policy, progress=clock)
            audits.append(time.perf_counter() - started)
            print(
                f"    run: floor read {read_s:.2f} + COPY {copy_s:.2f} s; "
                f"audit {audits[-1]:.2f} s ({clock.breakdown()})"
            )
        best_floor, best_audit = min(floors), min(audits)
        result = outcome.as_result()
        report(
            "verdicts (green / amber / red)",
            "{green} / {amber} / {red}".format(**result["counts"]),
        )
        report("findings written", str(result["findings"]))
        report(f"floor: read {options.positions} + COPY {copied} rows", f"{best_floor:.2f} s")
        report("audit end to end (first audit of the version)", f"{best_audit:.2f} s")
        ratio = best_audit / best_floor
        report("ratio audit / floor", f"{ratio:.2f}", "target ≤ 3", ratio <= 3)
        # The same floor with only as many rows COPYed as the audit wrote findings: the audit
        # also rewrites every position's status, which this floor does not count.
        read_s, copy_s, copied = floor(project, catalog, limit=result["findings"])
        report(
            f"informative: floor with {copied} rows, ratio",
            f"{best_audit / (read_s + copy_s):.2f}",
        )
        started = time.perf_counter()
        audit_run(project=project, catalog=catalog, policy=policy)
        report(
            "re-run over the audited version (informative)",
            f"{time.perf_counter() - started:.2f} s",
        )
        started = time.perf_counter()
        verification = report_chain_verify(project=project)
        report(
            f"verify the chain ({verification.reports} reports, informative)",
            f"{time.perf_counter() - started:.2f} s",
            "ok" if verification.ok else f"PROBLEMS: {verification.problems[:3]}",
        )
    finally:
        purge_bench_tenant()
        print(load_average())


if __name__ == "__main__":
    main()
