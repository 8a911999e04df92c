"""What the PostgreSQL benchmarks share: their database, words to build budget text from, and
how they print their results."""

import os
import resource

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/kalkula_bench"
WORDS = (
    "Hloubení rýh šířky do 600 mm v hornině tř. 3 Základové pasy z betonu Příčka z cihel "
    "broušených Zřízení bednění základových desek Montáž kontaktního zateplení Malby z "
    "malířských směsí dvojnásobné bílé Vodorovné přemístění výkopku Přesun hmot pro budovy"
).split()


def ensure_database() -> None:
    """Create the database named by DATABASE_URL when it does not exist."""
    import psycopg
    from psycopg import sql

    url = os.environ["DATABASE_URL"]
    name = url.rsplit("/", 1)[1].split("?")[0]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def report(label: str, value: str, target: str = "", ok: bool | None = None) -> None:
    """One line of a benchmark's results: the figure, and against its target when it has one."""
    verdict = "" if ok is None else ("  ok" if ok else "  MISSED")
    print(f"  {label:<52} {value:>16}  {target}{verdict}")


def peak_rss_mb() -> float:
    """This process's peak RSS since it started its program. VmHWM where Linux has it:
    getrusage's ru_maxrss is kept across execve, so a child of a big parent would report the
    parent's peak."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def reader_peak_rss_mb() -> float:
    """The peak RSS of the process an import forked to parse its file
    (projects.services.import_process), once reaped: this process's largest child."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def report_memory(imports: list[dict]) -> None:
    """The peak RSS of the importing processes (`peak_rss_mb`) and of the ones that parsed the
    file for them (`reader_rss_mb`); the pages they share since the fork count in both."""
    for what, key in (("importing", "peak_rss_mb"), ("file's reading", "reader_rss_mb")):
        peak = max(result[key] for result in imports)
        report(f"peak RSS of the {what} process", f"{peak:.0f} MB", "target < 300 MB", peak < 300)


def load_average() -> str:
    """The machine's load while a benchmark ran: these machines are shared, so every figure is
    read against it."""
    figures = " ".join(f"{value:.2f}" for value in os.getloadavg())
    return f"load average {figures} (1, 5, 15 min) on {os.cpu_count()} cores"


def delete_tenant(slug: str) -> None:
    """Delete a benchmark's tenant and everything it holds; its bulky rows (findings, evidence,
    positions) by hand first: the ORM's cascade would load every one of them. Then vacuum those
    tables: these servers run without autovacuum, and the next run would otherwise write into
    (and be measured against) tables bloated with every earlier run's dead rows."""
    from django.db import connection

    from audits.models import Finding
    from evidence.models import Evidence
    from projects.models import BudgetVersion, Position, Project
    from tenants.models import Tenant

    tenant = Tenant.objects.filter(slug=slug).first()
    with connection.cursor() as cursor:
        if tenant is not None:
            for model in (Finding, Evidence, Position):
                cursor.execute(
                    f"DELETE FROM {model._meta.db_table} WHERE tenant_id = %s", [tenant.id]
                )
            Project.objects.filter(tenant=tenant).update(current_version=None)
            BudgetVersion.objects.filter(tenant=tenant).delete()
            tenant.delete()
        tables = ", ".join(model._meta.db_table for model in (Finding, Evidence, Position))
        cursor.execute(f"VACUUM (ANALYZE) {tables}")
