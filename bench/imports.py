"""Budget benchmark on PostgreSQL: import, diff and the positions list, against baselines
measured in the same run.

    .venv/bin/python bench/imports.py [--positions 100000] [--clients 50] [--seconds 8]

1. Generates a CSV budget of N positions (cp1250, `;`, decimal comma, `1 234,50` totals) and a
   revised one (5 % of quantities changed, 1 % removed across the file, 1 % added).
2. Imports it end to end through `budget_import` (the service the job runs) in a child process,
   reporting its time and peak RSS; COPYs the same rows with psycopg into a table of the same shape
   (columns, indexes, constraints, foreign keys): ratio target ≤ 3, aim 2; RSS target < 300 MB.
3. Imports the revision, then diffs the two versions (counts, delta and every entry) against an
   equivalent raw SQL diff of two plain tables: target ≤ 2 s and ≤ 3× the raw diff.
4. Serves the API with gunicorn on a free loopback port and reads positions pages with 50
   concurrent clients for a bounded time: p50/p95.
5. Generates a KROS "Export Komplet" XLSX of --kros-items items (default 100,000) over several
   object sheets, with take-off (VV), long-text (PP) and price-system (PSC) rows under the items
   (tests/projects/budget_files.py), and imports it end to end against the baseline of reading the
   same workbook with python-calamine plus COPYing the same rows, interleaved, median of
   --kros-repeat runs (≥ 3), the load average printed: target ≤ 2×, peak RSS < 300 MB.
   `--only kros` runs this part alone.

DATABASE_URL defaults to postgres://postgres@127.0.0.1:5432/kalkula_bench (created when missing).
Only the benchmark's own tenant (`bench-imports`) is written and removed.
"""

import argparse
import http.client
import json
import os
import random
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TENANT_SLUG = "bench-imports"
UNITS = ["m", "m2", "m3", "kus", "t", "kg", "hod", "soubor"]

sys.path.insert(0, str(ROOT))
from bench.common import (  # noqa: E402
    DEFAULT_DATABASE_URL,
    WORDS,
    ensure_database,
    load_average,
    report,
)

os.environ.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1,localhost")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from tests.servers import free_port  # noqa: E402 - needs ROOT on the path


def setup_django() -> None:
    import django

    django.setup()


# Files --------------------------------------------------------------------------------------------
def czech_number(value: Decimal, places: int) -> str:
    """`1 234,50`: what Czech estimating tools write."""
    text = f"{value:,.{places}f}"
    return text.replace(",", " ").replace(".", ",")


def generate(positions: int, directory: Path) -> tuple[Path, Path]:
    rng = random.Random(12)
    rows = []
    for number in range(1, positions + 1):
        quantity = Decimal(rng.randint(1, 500_000)) / 1000
        unit_price = Decimal(rng.randint(100, 500_000)) / 100
        rows.append(
            [
                str(number),
                str(rng.randint(100_000_000, 999_999_999)),
                " ".join(rng.choices(WORDS, k=rng.randint(5, 10))) + f" — varianta {number}",
                rng.choice(UNITS),
                quantity,
                unit_price,
            ]
        )
    revised = []
    for row in rows:
        draw = rng.random()
        if draw < 0.01:
            continue  # removed
        if draw < 0.06:
            row = [*row[:4], (row[4] * Decimal("1.1")).quantize(Decimal("0.001")), row[5]]
        revised.append(row)
    for number in range(positions + 1, positions + positions // 100 + 1):
        revised.append(
            [str(number), "998011001", "Přesun hmot — doplněk", "t", Decimal(3), Decimal(100)]
        )
    paths = []
    for name, budget in (("v1.csv", rows), ("v2.csv", revised)):
        path = directory / name
        with path.open("w", encoding="cp1250", newline="") as out:
            out.write("Č.;Kód;Popis;MJ;Množství;Jedn. cena;Cena celkem\r\n")
            for number, code, description, unit, quantity, unit_price in budget:
                total = (quantity * unit_price).quantize(Decimal("0.01"), ROUND_HALF_UP)
                out.write(
                    f"{number};{code};{description};{unit};{czech_number(quantity, 3)};"
                    f"{czech_number(unit_price, 2)};{czech_number(total, 2)}\r\n"
                )
        paths.append(path)
    return paths[0], paths[1]


# The import, in a child process so its peak RSS is its own ----------------------------------------
def child_import(project_id: str, path: str) -> None:
    setup_django()
    from projects.models import Project
    from projects.services import budget_import

    project = Project.objects.get(pk=project_id)
    started = time.perf_counter()
    with open(path, "rb") as stream:
        outcome = budget_import(project=project, stream=stream, filename=Path(path).name)
    seconds = time.perf_counter() - started
    peak_mb = peak_rss_mb()
    version = outcome.version
    print(
        json.dumps(
            {
                "seconds": seconds,
                "peak_rss_mb": peak_mb,
                "version": version.number,
                "positions": version.position_count,
                "changes": [version.added_count, version.removed_count, version.modified_count],
            }
        )
    )


def peak_rss_mb() -> float:
    """This process's peak RSS. VmHWM where Linux has it: ru_maxrss keeps the parent's peak
    across fork and exec, and the parent here may hold a big budget it generated."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_import(project_id: str, path: Path) -> dict:
    child = subprocess.run(
        [sys.executable, __file__, "--child-import", project_id, str(path)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    if child.returncode != 0:
        raise RuntimeError(f"the import failed:\n{child.stderr}")
    return json.loads(child.stdout.strip().splitlines()[-1])


# Baselines ----------------------------------------------------------------------------------------
def parsed_rows(tenant_id: str, project_id: str, path: Path) -> list[tuple]:
    """The file's rows as the import writes them (parsed by the importer, untimed)."""
    from projects.importers import ImportReport, read_rows

    with path.open("rb") as stream:
        report = ImportReport()
        return [
            (str(uuid.uuid4()), tenant_id, project_id, 1, None, *row[1:])
            for row in read_rows(
                stream, filename=path.name, report=report, on_progress=lambda *_: 0
            )
        ]


def copy_baseline(
    tenant_id: str, project_id: str, path: Path, rows: list[tuple] | None = None
) -> tuple[float, float]:
    """Seconds to COPY the file's rows (parsed beforehand, untimed) with psycopg into a table of
    the positions table's shape, and into a bare table with the same columns only."""
    import psycopg

    from projects.bulk import POSITION_COLUMNS

    if rows is None:
        rows = parsed_rows(tenant_id, project_id, path)
    else:  # the same rows, as this project's
        rows = [(row[0], tenant_id, project_id, *row[3:]) for row in rows]
    columns = ", ".join(POSITION_COLUMNS)  # the writer's own column list
    timings = []
    with psycopg.connect(os.environ["DATABASE_URL"]) as conn:
        for shape in ("same", "bare"):
            conn.execute("DROP TABLE IF EXISTS bench_copy")
            if shape == "same":
                conn.execute("CREATE TABLE bench_copy (LIKE projects_position INCLUDING ALL)")
                conn.execute(
                    "ALTER TABLE bench_copy ADD FOREIGN KEY (tenant_id) REFERENCES tenants_tenant "
                    "DEFERRABLE INITIALLY DEFERRED, ADD FOREIGN KEY (project_id) REFERENCES "
                    "projects_project DEFERRABLE INITIALLY DEFERRED"
                )
            else:
                conn.execute("CREATE TABLE bench_copy (LIKE projects_position)")
            conn.commit()
            started = time.perf_counter()
            with conn.cursor() as cursor:
                with cursor.copy(f"COPY bench_copy ({columns}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            conn.commit()
            timings.append(time.perf_counter() - started)
        conn.execute("DROP TABLE bench_copy")
        conn.commit()
    return timings[0], timings[1]


RAW_DIFF = """
SELECT a.id, a.line_key, a.ordinal, a.section, a.position_number, a.code, a.description,
       a.category, a.unit, a.quantity, a.unit_price, a.total_price,
       b.id, b.line_key, b.ordinal, b.section, b.position_number, b.code, b.description,
       b.category, b.unit, b.quantity, b.unit_price, b.total_price
FROM bench_v1 a FULL OUTER JOIN bench_v2 b ON a.line_key = b.line_key
WHERE a.line_key IS NULL OR b.line_key IS NULL
   OR a.section IS DISTINCT FROM b.section OR a.position_number IS DISTINCT FROM b.position_number
   OR a.code IS DISTINCT FROM b.code OR a.description IS DISTINCT FROM b.description
   OR a.category IS DISTINCT FROM b.category OR a.unit IS DISTINCT FROM b.unit
   OR a.quantity IS DISTINCT FROM b.quantity OR a.unit_price IS DISTINCT FROM b.unit_price
   OR a.total_price IS DISTINCT FROM b.total_price
"""


def raw_diff_baseline(project_id: str) -> tuple[float, int]:
    """The same diff, by plain SQL over two plain tables each holding one version's rows."""
    import psycopg

    valid = "project_id = %s AND valid_from <= {n} AND (valid_to IS NULL OR valid_to > {n})"
    with psycopg.connect(os.environ["DATABASE_URL"]) as conn:
        for number in (1, 2):
            conn.execute(f"DROP TABLE IF EXISTS bench_v{number}")
            conn.execute(
                f"CREATE TABLE bench_v{number} AS SELECT * FROM projects_position WHERE "
                + valid.format(n=number),
                [project_id],
            )
            conn.execute(f"CREATE INDEX ON bench_v{number} (line_key)")
            conn.execute(f"ANALYZE bench_v{number}")
        conn.commit()
        best = float("inf")
        for _ in range(3):
            started = time.perf_counter()
            changed = conn.execute(RAW_DIFF).fetchall()
            best = min(best, time.perf_counter() - started)
        conn.execute("DROP TABLE bench_v1, bench_v2")
        conn.commit()
    return best, len(changed)


# The KROS workbook --------------------------------------------------------------------------------
def generate_kros(items: int, directory: Path) -> Path:
    """A KROS Export Komplet of `items` items over several object sheets (about 12,500 items a
    sheet), with VV, PP and PSC rows under the items."""
    from tests.projects import budget_files

    objects = max(2, round(items / 12_500))
    budget = budget_files.make_budget(items_per_object=items // objects, objects=objects, seed=5)
    path = directory / "kros.xlsx"
    path.write_bytes(budget_files.kros_komplet(budget, write_only=True))
    return path


def calamine_read(path: Path) -> tuple[float, int]:
    """Seconds to read every cell of every sheet with python-calamine (as Python values)."""
    from python_calamine import CalamineWorkbook

    started = time.perf_counter()
    rows = 0
    with path.open("rb") as stream:
        workbook = CalamineWorkbook.from_filelike(stream)
        for name in workbook.sheet_names:
            for _cells in workbook.get_sheet_by_name(name).iter_rows():
                rows += 1
        workbook.close()
    return time.perf_counter() - started, rows


def kros_benchmark(tenant, items: int, repeat: int) -> None:
    from projects.models import Project

    with tempfile.TemporaryDirectory() as directory:
        started = time.perf_counter()
        path = generate_kros(items, Path(directory))
        print(
            f"\nKROS Export Komplet ({items} items, {path.stat().st_size / 1e6:.1f} MB XLSX, "
            f"written in {time.perf_counter() - started:.0f} s); {load_average()}"
        )
        rows = None
        imports, reads, copies = [], [], []
        for repetition in range(repeat):
            # Interleaved: the machine is shared, so each run's import and baseline take turns.
            target = Project.objects.create(tenant=tenant, name=f"KROS budget {repetition + 1}")
            imports.append(run_import(str(target.id), path))
            reads.append(calamine_read(path)[0])
            if rows is None:
                rows = parsed_rows(str(tenant.id), str(target.id), path)
            copies.append(copy_baseline(str(tenant.id), str(target.id), path, rows)[0])
            print(
                f"  run {repetition + 1}: import {imports[-1]['seconds']:.2f} s, calamine read "
                f"{reads[-1]:.2f} s + COPY {copies[-1]:.2f} s; {load_average()}"
            )
        imported = statistics.median(result["seconds"] for result in imports)
        baselines = [r + c for r, c in zip(reads, copies, strict=True)]
        baseline = statistics.median(baselines)
        # Each run's import against the baseline measured right after it (the same load).
        paired = statistics.median(
            result["seconds"] / base for result, base in zip(imports, baselines, strict=True)
        )
        peak_rss = max(result["peak_rss_mb"] for result in imports)
        positions = imports[0]["positions"]
        report(f"budget_import, end to end (median of {repeat})", f"{imported:.2f} s")
        report("  positions (items)", f"{positions}", f"expected {items}", positions == items)
        report("calamine read of the workbook (median)", f"{statistics.median(reads):.2f} s")
        report("psycopg COPY of the same rows (median)", f"{statistics.median(copies):.2f} s")
        report(
            "import / (calamine read + COPY), median of the runs",
            f"{paired:.2f}",
            "target ≤ 2",
            paired <= 2,
        )
        report("  median import / median baseline", f"{imported / baseline:.2f}")
        report(
            "peak RSS of the importing process",
            f"{peak_rss:.0f} MB",
            "target < 300 MB",
            peak_rss < 300,
        )


# HTTP ---------------------------------------------------------------------------------------------
def start_server(port: int) -> subprocess.Popen:
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "config.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=os.environ.copy(),
        start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                return server
        except OSError:
            time.sleep(0.2)
    stop_server(server)
    raise RuntimeError("gunicorn did not start")


def stop_server(server: subprocess.Popen) -> None:
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()


def get(port: int, path: str, key: str) -> bytes:
    """One GET on a fresh connection (gunicorn's sync workers close each one anyway)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", path, headers={"Authorization": f"Api-Key {key}"})
        response = connection.getresponse()
        body = response.read()
        if response.status != 200:
            raise OSError(f"HTTP {response.status}")
        return body
    finally:
        connection.close()


def load(port: int, paths: list[str], key: str, clients: int, seconds: float) -> dict:
    """`clients` threads GET random `paths` until `seconds` pass; latencies in ms."""
    latencies: list[float] = []
    errors = []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def client(seed: int) -> None:
        rng = random.Random(seed)
        mine, failed = [], 0
        while time.monotonic() < deadline:
            started = time.perf_counter()
            try:
                get(port, rng.choice(paths), key)
                mine.append((time.perf_counter() - started) * 1000)
            except OSError:
                failed += 1
        with lock:
            latencies.extend(mine)
            errors.append(failed)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    quantiles = statistics.quantiles(latencies, n=100)
    return {
        "requests": len(latencies),
        "errors": sum(errors),
        "per_second": len(latencies) / elapsed,
        "p50": statistics.median(latencies),
        "p95": quantiles[94],
        "p99": quantiles[98],
    }


def single_client(port: int, paths: list[str], key: str, requests: int = 200) -> float:
    """Median latency in ms of one client asking one request at a time."""
    latencies = []
    for n in range(requests):
        started = time.perf_counter()
        get(port, paths[n % len(paths)], key)
        latencies.append((time.perf_counter() - started) * 1000)
    return statistics.median(latencies)


def page_paths(port: int, base: str, key: str, query: str, pages: int) -> list[str]:
    """The first `pages` page paths of a listing (later pages by their cursors)."""
    paths = [f"{base}?page_size=50{query}"]
    while len(paths) < pages:
        following = json.loads(get(port, paths[-1], key))["next"]
        if not following:
            break
        parts = urllib.parse.urlsplit(following)
        paths.append(f"{parts.path}?{parts.query}")
    return paths


# Main ---------------------------------------------------------------------------------------------
def purge_bench_tenant() -> None:
    from django.db import connection

    from tenants.models import Tenant

    tenant = Tenant.objects.filter(slug=TENANT_SLUG).first()
    if tenant is None:
        return
    with connection.cursor() as cursor:  # the ORM's cascade would load every row first
        cursor.execute("DELETE FROM projects_position WHERE tenant_id = %s", [tenant.id])
        cursor.execute(
            "UPDATE projects_project SET current_version_id = NULL WHERE tenant_id = %s",
            [tenant.id],
        )
        cursor.execute("DELETE FROM projects_budgetversion WHERE tenant_id = %s", [tenant.id])
    tenant.delete()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--positions", type=int, default=100_000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument(
        "--repeat", type=int, default=3, help="Imports and COPYs to take the best of."
    )
    parser.add_argument("--kros-items", type=int, default=100_000)
    parser.add_argument("--kros-repeat", type=int, default=3)
    parser.add_argument("--only", choices=["kros"], help="Run only this part.")
    parser.add_argument(
        "--child-import", nargs=2, metavar=("PROJECT", "FILE"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.child_import:
        child_import(*args.child_import)
        return

    ensure_database()
    setup_django()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    purge_bench_tenant()
    try:
        run(args)
    finally:
        purge_bench_tenant()
        print(load_average())


def run(args: argparse.Namespace) -> None:
    from projects.models import Project
    from projects.selectors import version_diff
    from tenants.models import Plan, Role
    from tenants.services import api_key_create, tenant_create

    tenant = tenant_create(slug=TENANT_SLUG, name="Benchmark", plan=Plan.ENTERPRISE)
    if args.only == "kros":
        kros_benchmark(tenant, args.kros_items, max(args.kros_repeat, 3))
        return
    project = Project.objects.create(tenant=tenant, name="Benchmark budget")
    print(f"Budget benchmark: {args.positions} positions, {os.environ['DATABASE_URL']}")
    with tempfile.TemporaryDirectory() as directory:
        v1, v2 = generate(args.positions, Path(directory))
        print(f"\nImport ({v1.stat().st_size / 1e6:.1f} MB CSV, cp1250, decimal comma)")
        # The machine is shared: import and COPY take turns, and the best of each counts.
        imports, copies, bare_copies = [], [], []
        for repetition in range(args.repeat):
            target = (
                project
                if repetition == 0
                else Project.objects.create(
                    tenant=tenant, name=f"Benchmark budget {repetition + 1}"
                )
            )
            imports.append(run_import(str(target.id), v1))
            same_shape, bare = copy_baseline(str(tenant.id), str(target.id), v1)
            copies.append(same_shape)
            bare_copies.append(bare)
        first = min(imports, key=lambda result: result["seconds"])
        same_shape, bare = min(copies), min(bare_copies)
        peak_rss = max(result["peak_rss_mb"] for result in imports)
        ratio = first["seconds"] / same_shape
        runs = ", ".join(f"{result['seconds']:.2f}" for result in imports)
        report(f"budget_import, end to end (best of {runs} s)", f"{first['seconds']:.2f} s")
        report("  rows per second", f"{first['positions'] / first['seconds']:,.0f}")
        report("psycopg COPY, same-shape table", f"{same_shape:.2f} s")
        report("import / COPY", f"{ratio:.2f}", "target ≤ 3, aim 2", ratio <= 3)
        report("psycopg COPY, bare table (no indexes or keys)", f"{bare:.2f} s")
        report("import / bare COPY", f"{first['seconds'] / bare:.2f}")
        report(
            "peak RSS of the importing process",
            f"{peak_rss:.0f} MB",
            "target < 300 MB",
            peak_rss < 300,
        )

        second = run_import(str(project.id), v2)
        print("\nSecond version (5 % quantities changed, 1 % removed, 1 % added)")
        report("budget_import of the revision", f"{second['seconds']:.2f} s")
        report("changes (added, removed, modified)", ", ".join(map(str, second["changes"])))

    print("\nDiff of the two versions")
    project.refresh_from_db()
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        diff = version_diff(tenant=tenant, project=project, from_number=1, to_number=2)
        best = min(best, time.perf_counter() - started)
    entries = sum(len(entries) for entries in diff.entries.values())
    raw_seconds, raw_rows = raw_diff_baseline(str(project.id))
    report(
        "version_diff: counts, delta and every entry", f"{best:.3f} s", "target ≤ 2 s", best <= 2
    )
    report("  entries (added + removed + modified)", f"{entries}")
    report("raw SQL diff of two plain 100k-row tables", f"{raw_seconds:.3f} s")
    report("  rows", f"{raw_rows}")
    report(
        "version_diff / raw SQL", f"{best / raw_seconds:.2f}", "target ≤ 3", best / raw_seconds <= 3
    )

    key = api_key_create(tenant=tenant, name="bench", role=Role.VIEWER).secret
    port = free_port()
    server = start_server(port)
    try:
        base = f"/api/v1/projects/{project.id}/positions/"
        print(
            f"\nPositions list over HTTP (gunicorn, 2 sync workers; pages of 50 across the list; "
            f"{args.clients} clients for {args.seconds:.0f} s)"
        )
        scenarios = (
            ("current version", ""),
            ("version 1 (old)", "&version=1"),
            ("search", "&search=varianta%201"),
        )
        for label, query in scenarios:
            paths = page_paths(port, base, key, query, pages=40)
            alone = single_client(port, paths, key)
            result = load(port, paths, key, args.clients, args.seconds)
            report(
                f"{label}: p50 / p95 / p99",
                f"{result['p50']:.0f} / {result['p95']:.0f} / {result['p99']:.0f} ms",
            )
            report(
                f"  requests/s ({result['requests']} requests, {result['errors']} errors)",
                f"{result['per_second']:.0f}",
            )
            report("  one client alone: p50", f"{alone:.1f} ms")
    finally:
        stop_server(server)
    kros_benchmark(tenant, args.kros_items, max(args.kros_repeat, 3))


if __name__ == "__main__":
    main()
