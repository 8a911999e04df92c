"""Audit benchmark on PostgreSQL: an audit with every rule on, end to end, against the floor of its
own I/O, measured in the same run, interleaved.

    .venv/bin/python bench/audit.py [--positions 100000] [--catalog-items 10000] [--repeat 3]

1. Generates (COPY) a catalog of three editions (ÚRS 2024 01, 2025 01, 2026 01) of M items each,
   a budget version of N positions with take-off lines, and another project of the tenant
   (--peers positions with the same codes, for the tenant-wide price sample). Positions name one
   of the three editions (some an edition the tenant lacks, some an own price); prices spread
   around the reference (some far off); some quantities disagree with their take-off, some
   take-off lines do not parse; some wrong totals, duplicates, empty fields, lump sums and near
   duplicates across objects: every rule family has work. The tenant's policy switches every
   rule on.
2. A first audit (untimed) says how many findings an audit writes and each position's status.
3. Then, --repeat times, interleaved:
   - the floor: reading the N positions with psycopg (the columns the audit reads, in file
     order), COPYing as many finding-shaped rows as the audit writes into a table of the findings
     table's shape (columns, indexes, constraints, foreign keys), and setting the positions'
     statuses with the statement the audit uses (from an unaudited version);
   - the audit end to end through `audit_run` (the service the `audit_project` job runs) from an
     unaudited version (reset untimed): reading positions, editions and the tenant sample, the
     rules, and one transaction replacing the version's findings (COPY), setting the statuses
     and the project's counts, and storing the chained report.
   Medians of both; target: audit ≤ 2× floor. The load average is printed before and after.
4. For information: the chain verification.

DATABASE_URL defaults to postgres://postgres@127.0.0.1:5432/kalkula_bench (created when missing).
Only the benchmark's own tenant (`bench-audit`) is written and removed.
"""

import argparse
import json
import os
import random
import statistics
import sys
import time
import uuid
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TENANT_SLUG = "bench-audit"
UNITS = ["m", "m2", "m3", "kus", "t", "kg", "hod"]
EDITIONS = ["ÚRS 2024 01", "ÚRS 2025 01", "ÚRS 2026 01"]
PARTS = ["1 - Zemní práce", "2 - Zakládání", "3 - Svislé konstrukce", "711 - Izolace proti vodě"]
CENT = Decimal("0.01")
MILLI = Decimal("0.001")

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
def _catalog(tenant, *, items: int, rng: random.Random):
    """The catalog with its three editions (COPY), each edition's prices 3 % above the last and
    one item in twenty changed more."""
    from django.db import connection

    from catalogs.models import CatalogEdition, CatalogItem, PriceCatalog

    catalog = PriceCatalog.objects.create(
        tenant=tenant, name="ÚRS", version=len(EDITIONS), item_count=items
    )
    base = []
    for number in range(items):
        code = str(100_000_000 + number * 7919)
        description = " ".join(rng.choices(WORDS, k=rng.randint(5, 9)))
        base.append(
            (code, description, rng.choice(UNITS), Decimal(rng.randint(500, 900_000)) / 100)
        )
    columns = (
        "id, tenant_id, catalog_id, edition_id, code, description, unit, unit_price, "
        "changed_in_version"
    )
    for number, name in enumerate(EDITIONS, 1):
        edition = CatalogEdition.objects.create(
            tenant=tenant, catalog=catalog, number=number, name=name, item_count=items
        )
        factor = Decimal("1.03") ** (number - 1)
        with connection.cursor() as cursor:
            table = CatalogItem._meta.db_table
            with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for n, (code, description, unit, price) in enumerate(base):
                    bump = Decimal("1.2") if n % 20 == number else Decimal(1)
                    copy.write_row(
                        (
                            uuid.uuid4(),
                            tenant.id,
                            catalog.id,
                            edition.id,
                            code,
                            description,
                            unit,
                            (price * factor * bump).quantize(CENT),
                            number,
                        )
                    )
    return catalog, base


def _takeoff(rng: random.Random, line: int) -> tuple[list[dict], Decimal]:
    """Two or three KROS-like take-off lines and their result."""
    a, b, c = rng.randint(1, 60), Decimal(rng.randint(10, 99)) / 10, Decimal(rng.randint(1, 9))
    first = (a + b) * c
    lines = [
        {"expression": f'"úsek {line}"', "value": None, "line": line},
        {"expression": f"({a}+{b}) * {c}".replace(".", ","), "value": str(first), "line": line + 1},
    ]
    total = first
    if rng.random() < 0.5:
        d, e = rng.randint(2, 30), Decimal(rng.randint(1, 50)) / 10
        second = d * e
        lines.append(
            {"expression": f"{d}*{e}".replace(".", ","), "value": str(second), "line": line + 2}
        )
        lines.append({"expression": "Součet", "value": str(first + second), "line": line + 3})
        total += second
    return lines, total


def _rows(*, count: int, items: list, rng: random.Random, objects: int) -> list[tuple]:
    """`count` position rows (projects.rows.ROW_FIELDS) priced as estimators do: one price per
    code in the budget (near the newest edition's), most items on the newest edition, the same
    codes again in each object."""
    from projects.rows import ORDINAL_GAP, fingerprint

    newest = Decimal("1.03") ** (len(EDITIONS) - 1)
    factors = [Decimal(rng.randint(930, 1070)) / 1000 for _ in items]
    rows = []
    previous = None
    for number in range(1, count + 1):
        draw = rng.random()
        at = rng.randrange(len(items))
        code, description, unit, reference = items[at]
        price = (reference * newest * factors[at]).quantize(CENT)
        price_system = f"CS {EDITIONS[-1]}"
        takeoff, quantity = _takeoff(rng, number * 5)
        quantity = quantity.quantize(MILLI)
        kind = "K"
        if draw < 0.04:  # an item of the estimator's own, not in the catalog
            code = str(rng.randint(900_000_000, 999_999_999))
            description = " ".join(rng.choices(WORDS, k=6))
        elif draw < 0.06:
            unit = rng.choice([u for u in UNITS if u != unit])
        elif draw < 0.12:
            price = (
                reference * Decimal(rng.choice(["0.6", "0.85", "1.15", "1.2", "1.6"]))
            ).quantize(CENT)
        elif draw < 0.15:
            price_system = f"CS {rng.choice(EDITIONS[:-1])}"  # an item from an older budget
        elif draw < 0.17:
            price_system = "CS ÚRS 2022 02"  # an edition the tenant does not have
        elif draw < 0.19:
            price_system = "Vlastní"
        if 0.19 <= draw < 0.22:
            quantity += Decimal(rng.randint(1, 40))  # disagrees with its take-off
        elif 0.22 <= draw < 0.23:
            takeoff[1]["expression"] += "+("  # does not parse
        elif 0.23 <= draw < 0.235:
            unit, kind, quantity, takeoff = "soubor", "lump_sum", Decimal(1), []
        total = (quantity * price).quantize(CENT)
        if 0.24 <= draw < 0.26:
            total += Decimal(rng.randint(100, 10_000))  # a wrong total
        if 0.26 <= draw < 0.27:
            description = ""
        if 0.27 <= draw < 0.28 and previous is not None:
            code, description, unit, quantity, price, total = previous  # a duplicate
        previous = (code, description, unit, quantity, price, total)
        section = f"SO {number % objects + 1:02d} - Objekt / HSV / {PARTS[number % len(PARTS)]}"
        content = (
            section,
            str(number),
            code,
            description,
            "HSV",
            unit,
            kind,
            price_system,
            "",
            takeoff,
            None,
            None,
            quantity,
            price,
            total,
        )
        rows.append(
            (
                None,
                number * ORDINAL_GAP,
                number * 5,
                str(number),
                *content,
                "unaudited",
                fingerprint(content),
            )
        )
    return rows


def generate(*, positions: int, catalog_items: int, peers: int):
    """The bench tenant with its three editions, the project to audit (version 1 of `positions`
    rows) and another project of `peers` rows with the same codes; all written with COPY."""
    from django.db import connection, transaction

    from audits.models import AuditPolicy
    from audits.rules.engine import RULES
    from catalogs.models import CatalogItem
    from projects.bulk import positions_analyze, positions_write
    from projects.models import BudgetVersion, Project
    from projects.services.versions import project_lock, version_commit, version_open
    from tenants.models import Tenant

    rng = random.Random(7)
    tenant = Tenant.objects.create(slug=TENANT_SLUG, name="Audit benchmark", plan="enterprise")
    AuditPolicy.objects.create(tenant=tenant, rules=dict.fromkeys(RULES, True))
    catalog, items = _catalog(tenant, items=catalog_items, rng=rng)
    projects = []
    for name, count, objects in (("Audit benchmark", positions, 5), ("Peers", peers, 3)):
        rows = _rows(count=count, items=items, rng=rng, objects=objects)
        with transaction.atomic():
            project = Project.objects.create(tenant=tenant, name=name)
            project = project_lock(project=project)
            version = version_open(
                project=project, trigger=BudgetVersion.Trigger.IMPORT, created_by=None
            )
            positions_write(project=project, valid_from=version.number, rows=rows)
            version_commit(project=project, version=version)
        positions_analyze(rows_written=len(rows))
        projects.append(project)
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM (ANALYZE) {CatalogItem._meta.db_table}")
    return tenant, catalog, projects[0]


def reset(project) -> None:
    """Back to an unaudited version, as before a first audit, on tables without dead rows
    (untimed). The statuses the last run set leave 100,000 dead row versions behind, and these
    servers run without autovacuum: each run would read more of them than the one before."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM projects_finding WHERE project_id = %s", [project.id])
        cursor.execute(
            "UPDATE projects_position SET audit_status = 'unaudited' WHERE project_id = %s",
            [project.id],
        )
        cursor.execute("VACUUM (ANALYZE) projects_position, projects_finding")


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
    "total_price, source_line, kind, price_system, section, takeoff FROM projects_position "
    "WHERE project_id = %s AND valid_to IS NULL ORDER BY ordinal"
)
FINDING_COLUMNS = (
    "id, tenant_id, project_id, version_id, position_id, line_key, rule, role, recommendation, "
    "confidence, reasoning, suggested_fix, evidence, catalog_id, catalog_item_id, "
    "catalog_version, source_line, report_id, created_at"
)
STATUS_SQL = (
    "UPDATE projects_position SET audit_status = %s "
    "WHERE project_id = %s AND id = ANY(%s::uuid[]) AND audit_status <> %s"
)


def floor(project, catalog, *, findings: int, ids_by_status: dict) -> tuple[float, float, float]:
    """Seconds to read the version's positions, to COPY `findings` finding-shaped rows (built
    beforehand, untimed) into a table of the findings table's shape, and to set the positions'
    statuses (`ids_by_status`, from an unaudited version) as the audit does."""
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
                        "catalog_edition": EDITIONS[0],
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
            for row in (positions * (findings // max(len(positions), 1) + 1))[:findings]
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
        started = time.perf_counter()
        for status, ids in ids_by_status.items():
            conn.execute(STATUS_SQL, [status, project.id, ids, status])
        conn.commit()
        status_seconds = time.perf_counter() - started
    return read_seconds, copy_seconds, status_seconds


class StepClock:
    """A progress sink that remembers when each share of the audit ended."""

    def __init__(self) -> None:
        self.marks: list[tuple[int, float, float]] = []
        self.started = time.perf_counter()
        self.cpu = time.process_time()

    def update(self, done: int, total: int, *, step: str | None = None) -> None:
        self.marks.append(
            (done, time.perf_counter() - self.started, time.process_time() - self.cpu)
        )

    def log(self, message: str, *, level: str = "info") -> None:
        pass

    def check_cancelled(self, *, interval: float = 0.2) -> None:
        pass

    def breakdown(self) -> str:
        """Seconds of each step, and (in parentheses) the CPU seconds this process spent in it:
        on a shared machine the difference is waiting, for the database or for a core."""
        names = {20: "read", 50: "rules", 70: "findings", 85: "statuses", 95: "report", 100: "end"}
        parts, last, last_cpu = [], 0.0, 0.0
        for done, at, cpu in self.marks:
            if done in names:
                parts.append(f"{names[done]} {at - last:.2f} ({cpu - last_cpu:.2f})")
                last, last_cpu = at, cpu
        return ", ".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--positions", type=int, default=100_000)
    parser.add_argument("--catalog-items", type=int, default=10_000)
    parser.add_argument(
        "--peers", type=int, default=20_000, help="Positions of the tenant's other project."
    )
    parser.add_argument("--repeat", type=int, default=3, help="Interleaved runs (median).")
    options = parser.parse_args()

    ensure_database()
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from audits.reports import report_chain_verify
    from audits.selectors import audit_policy_for
    from audits.services import audit_run
    from projects.models import Position

    purge_bench_tenant()
    print(
        f"Audit benchmark, every rule on: {options.positions} positions with take-off lines, "
        f"{len(EDITIONS)} editions of {options.catalog_items} items, {options.peers} positions "
        f"in another project, on {os.environ['DATABASE_URL'].rsplit('@', 1)[-1]}"
    )
    print(load_average())
    try:
        started = time.perf_counter()
        tenant, catalog, project = generate(
            positions=options.positions, catalog_items=options.catalog_items, peers=options.peers
        )
        report("data generated (COPY)", f"{time.perf_counter() - started:.1f} s")
        policy = audit_policy_for(tenant=tenant)
        reset(project)
        outcome = audit_run(project=project, catalog=catalog, policy=policy)
        result = outcome.as_result()
        ids_by_status: dict[str, list] = {}
        for position_id, status in Position.objects.filter(
            project=project, valid_to__isnull=True
        ).values_list("id", "audit_status"):
            ids_by_status.setdefault(status, []).append(position_id)
        rules = sorted(
            project.findings.order_by()  # type: ignore[attr-defined]
            .values_list("rule", flat=True)
            .distinct()
        )
        floors, audits = [], []
        for _ in range(max(3, options.repeat)):
            reset(project)
            read_s, copy_s, status_s = floor(
                project, catalog, findings=result["findings"], ids_by_status=ids_by_status
            )
            floors.append(read_s + copy_s + status_s)
            reset(project)
            clock = StepClock()
            started = time.perf_counter()
            audit_run(project=project, catalog=catalog, policy=policy, progress=clock)
            audits.append(time.perf_counter() - started)
            print(
                f"    run: floor {floors[-1]:.2f} s (read {read_s:.2f}, COPY {copy_s:.2f}, "
                f"statuses {status_s:.2f}); audit {audits[-1]:.2f} s ({clock.breakdown()})"
            )
        report(
            "verdicts (green / amber / red)",
            "{green} / {amber} / {red}".format(**result["counts"]),
        )
        report("findings written", str(result["findings"]))
        report("rules that found something", str(len(rules)))
        print(f"    {', '.join(rules)}")
        floor_s, audit_s = statistics.median(floors), statistics.median(audits)
        report(f"floor: read + COPY {result['findings']} + statuses (median)", f"{floor_s:.2f} s")
        report("audit end to end, every rule on (median)", f"{audit_s:.2f} s")
        ratio = audit_s / floor_s
        report("ratio audit / floor", f"{ratio:.2f}", "target ≤ 2", ratio <= 2)
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
