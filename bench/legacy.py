"""Legacy migration benchmark on PostgreSQL with S3: `legacy_migrate` of a generated file store
against a raw COPY of the same position rows, measured in the same run.

    .venv/bin/python bench/legacy.py [--projects 1000] [--positions 500000] [--documents-every 20]

1. Generates a file store (the layout of the sample data's legacy-store): N projects sharing M
   positions, one legacy audit result for every third position, and a small document under raw/
   in every K-th project.
2. Starts the tests' S3 server (moto) and migrates the store end to end through `legacy_migrate`
   (the service the job and the command run): per project one transaction with the project,
   version 1, positions (COPY), findings (COPY) and documents (S3).
3. COPYs the same position rows (built beforehand, untimed) with psycopg into a table of the
   positions table's shape (columns, indexes, constraints, foreign keys): ratio target ≤ 3.
   Also in one transaction per project, for the share that one transaction per project costs.

DATABASE_URL defaults to postgres://postgres@127.0.0.1:5432/kalkula_bench (created when missing).
Only the benchmark's own tenant (`bench-legacy`) is written and removed.
"""

import argparse
import json
import os
import random
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TENANT_SLUG = "bench-legacy"
UNITS = ["m", "m2", "m3", "kus", "t", "kg", "hod"]

sys.path.insert(0, str(ROOT))
from bench.common import DEFAULT_DATABASE_URL, WORDS, ensure_database, report  # noqa: E402

os.environ.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from tests.s3server import start_s3_server  # noqa: E402 - needs ROOT on the path


def generate(root: Path, *, projects: int, positions: int, documents_every: int) -> int:
    """Write the store; returns how many documents it has."""
    rng = random.Random(7)
    per_project, extra = divmod(positions, projects)
    documents = 0
    for number in range(projects):
        folder = root / f"project-{number:05d}"
        folder.mkdir(parents=True)
        (folder / "project.json").write_text(
            json.dumps(
                {
                    "id": folder.name,
                    "name": f"Zakázka {number}",
                    "workflow": "workflow_a",
                    "status": "draft",
                    "created_at": "2025-03-01T08:30:00Z",
                    "user_id": "user-1",
                }
            )
        )
        items, audits = [], []
        for line in range(1, per_project + (1 if number < extra else 0) + 1):
            quantity = rng.randint(1, 500_000) / 1000
            unit_price = rng.randint(100, 500_000) / 100
            items.append(
                {
                    "position_number": str(line),
                    "code": str(rng.randint(100_000_000, 999_999_999)),
                    "description": " ".join(rng.choices(WORDS, k=rng.randint(4, 9))),
                    "unit": rng.choice(UNITS),
                    "quantity": quantity,
                    "unit_price": unit_price,
                    "total_price": round(quantity * unit_price, 2),
                }
            )
            if line % 3 == 0:
                audits.append(
                    {
                        "position_number": str(line),
                        "expert_role": "cost",
                        "recommendation": rng.choice(["GREEN", "AMBER", "RED"]),
                        "confidence": round(rng.uniform(50, 99), 2),
                        "reasoning": "Cena v toleranci",
                    }
                )
        (folder / "positions.json").write_text(json.dumps(items, ensure_ascii=False))
        (folder / "audit_results.json").write_text(json.dumps(audits, ensure_ascii=False))
        if documents_every and number % documents_every == 0:
            (folder / "raw").mkdir()
            (folder / "raw" / f"smlouva-{number}.pdf").write_bytes(rng.randbytes(8192))
            documents += 1
    return documents


def purge_bench_tenant() -> None:
    from django.db import connection

    from tenants.models import Tenant

    tenant = Tenant.objects.filter(slug=TENANT_SLUG).first()
    if tenant is None:
        return
    with connection.cursor() as cursor:  # the ORM's cascade would load every row first
        for table in ("projects_finding", "projects_position"):
            cursor.execute(f"DELETE FROM {table} WHERE tenant_id = %s", [tenant.id])
        cursor.execute(
            "UPDATE projects_project SET current_version_id = NULL WHERE tenant_id = %s",
            [tenant.id],
        )
        cursor.execute("DELETE FROM projects_budgetversion WHERE tenant_id = %s", [tenant.id])
    tenant.delete()


def copy_baseline(tenant_id: str, store: Path) -> tuple[float, float, int]:
    """Seconds to COPY the store's position rows (read and built beforehand, untimed) into a
    table of the positions table's shape (as bench/imports.py: its indexes, constraints and
    foreign keys): in one COPY, and in one COPY and one transaction per
    project (as one transaction per project must; commits not waiting for the WAL flush, as the
    migration's do)."""
    import psycopg

    from projects import legacy
    from projects.bulk import POSITION_COLUMNS
    from projects.importers import ImportReport, rows_from_positions
    from projects.models import Project

    # The migrated projects' ids, so that the rows satisfy the same foreign keys.
    ids = dict(Project.objects.filter(tenant_id=tenant_id).values_list("legacy_id", "id"))
    projects = []
    for folder in legacy.store_project_dirs(store):
        project_id = str(ids[folder.name])
        source = legacy.store_project_read(folder)
        projects.append(
            [
                (str(uuid.uuid4()), tenant_id, project_id, 1, None, *row[1:])
                for row in rows_from_positions(source.positions, report=ImportReport())
            ]
        )
    rows = [row for project in projects for row in project]
    columns = ", ".join(POSITION_COLUMNS)  # the writer's own column list
    with psycopg.connect(os.environ["DATABASE_URL"]) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_legacy_copy")
        conn.execute("CREATE TABLE bench_legacy_copy (LIKE projects_position INCLUDING ALL)")
        conn.execute(
            "ALTER TABLE bench_legacy_copy ADD FOREIGN KEY (tenant_id) REFERENCES tenants_tenant "
            "DEFERRABLE INITIALLY DEFERRED, ADD FOREIGN KEY (project_id) REFERENCES "
            "projects_project DEFERRABLE INITIALLY DEFERRED"
        )
        conn.commit()
        started = time.perf_counter()
        with conn.cursor() as cursor:
            with cursor.copy(f"COPY bench_legacy_copy ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        conn.commit()
        seconds = time.perf_counter() - started
        conn.execute("TRUNCATE bench_legacy_copy")
        conn.execute("SET synchronous_commit TO OFF")
        conn.commit()
        started = time.perf_counter()
        for project in projects:
            with conn.cursor() as cursor:
                with cursor.copy(f"COPY bench_legacy_copy ({columns}) FROM STDIN") as copy:
                    for row in project:
                        copy.write_row(row)
            conn.commit()
        per_project = time.perf_counter() - started
        conn.execute("DROP TABLE bench_legacy_copy")
        conn.commit()
    return seconds, per_project, len(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--projects", type=int, default=1000)
    parser.add_argument("--positions", type=int, default=500_000)
    parser.add_argument(
        "--documents-every", type=int, default=20, help="A document in every K-th project."
    )
    args = parser.parse_args()
    if not 1 <= args.projects <= 10_000 or not 0 <= args.positions <= 2_000_000:
        parser.error("at most 10,000 projects and 2,000,000 positions")

    ensure_database()
    s3 = start_s3_server()
    os.environ.update(
        AWS_STORAGE_BUCKET_NAME=s3.bucket,
        AWS_S3_ENDPOINT_URL=s3.endpoint_url,
        AWS_ACCESS_KEY_ID=s3.access_key,
        AWS_SECRET_ACCESS_KEY=s3.secret_key,
    )
    try:
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        from projects.models import Finding, Position, Project
        from projects.services.legacy import legacy_migrate
        from tenants.models import Plan
        from tenants.services import tenant_create

        purge_bench_tenant()
        tenant = tenant_create(slug=TENANT_SLUG, name="Benchmark", plan=Plan.ENTERPRISE)
        with tempfile.TemporaryDirectory() as directory:
            store = Path(directory) / "projects"
            started = time.perf_counter()
            documents = generate(
                store,
                projects=args.projects,
                positions=args.positions,
                documents_every=args.documents_every,
            )
            print(
                f"Legacy migration benchmark: {args.projects} projects, {args.positions} "
                f"positions, {documents} documents on S3 ({os.environ['DATABASE_URL']}; "
                f"store generated in {time.perf_counter() - started:.1f} s)"
            )
            started = time.perf_counter()
            result = legacy_migrate(tenant=tenant, mode="store", path=store)
            seconds = time.perf_counter() - started
            counts = result.as_dict()["counts"]
            assert counts["migrated"] == args.projects and not result.rejected, counts
            assert Position.objects.for_tenant(tenant).count() == args.positions
            assert Project.objects.for_tenant(tenant).count() == args.projects
            findings = Finding.objects.for_tenant(tenant).count()
            copy_seconds, per_project_seconds, copied = copy_baseline(str(tenant.id), store)
        ratio = seconds / copy_seconds
        report("legacy_migrate, end to end", f"{seconds:.2f} s")
        report("  positions per second", f"{args.positions / seconds:,.0f}")
        report("  projects per second", f"{args.projects / seconds:,.0f}")
        report("  findings, documents", f"{findings}, {counts['evidence']}")
        report(f"psycopg COPY of the same {copied} rows", f"{copy_seconds:.2f} s")
        report("  positions per second", f"{copied / copy_seconds:,.0f}")
        report("migration / COPY", f"{ratio:.2f}", "target ≤ 3", ratio <= 3)
        report("psycopg COPY, one transaction per project", f"{per_project_seconds:.2f} s")
        report("migration / COPY per project", f"{seconds / per_project_seconds:.2f}")
    finally:
        try:
            purge_bench_tenant()
        finally:
            s3.stop()


if __name__ == "__main__":
    main()
