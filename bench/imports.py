"""Budget benchmark on PostgreSQL: import, diff and the positions list, against baselines
measured in the same run.

    .venv/bin/python bench/imports.py [--positions 100000] [--clients 50] [--seconds 8]

1. Generates a CSV budget of N positions (cp1250, `;`, decimal comma, `1 234,50` totals) and a
   revised one (5 % of quantities changed, 1 % removed across the file, 1 % added).
2. Imports it end to end through `budget_import` (the service the job runs) in a child process,
   reporting its time and the peak RSS of it and of the process it forks to parse the file, and
   COPYs the same rows with psycopg into a table of the same shape (columns, indexes,
   constraints, foreign keys), the two interleaved, --repeat runs (≥ 3), the median of each
   run's ratio, the load average printed: target ≤ 1.5; RSS < 300 MB.
3. Imports the revision, then diffs the two versions (counts, delta and every entry) against an
   equivalent raw SQL diff of two plain tables: target ≤ 2 s and ≤ 3× the raw diff.
4. Serves the API with gunicorn on a free loopback port and reads positions pages with 50
   concurrent clients for a bounded time: p50/p95.
5. Generates a KROS "Export Komplet" XLSX of --kros-items items (default 100,000) over several
   object sheets, with take-off (VV), long-text (PP) and price-system (PSC) rows under the items
   (bench/kros.py, from tests/projects/budget_files/), and imports it end to end against the
   baseline of reading the same workbook with python-calamine plus COPYing the same rows,
   interleaved, median of --kros-repeat runs (≥ 3), the load average printed: target ≤ 2×, peak
   RSS < 300 MB.
   `--only kros` runs this part alone, `--only csv` step 2 alone.

DATABASE_URL defaults to postgres://postgres@127.0.0.1:5432/kalkula_bench (created when missing).
Only the benchmark's own tenant (`bench-imports`) is written, and removed at the end.
"""

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TENANT_SLUG = "bench-imports"
UNITS = ["m", "m2", "m3", "kus", "t", "kg", "hod", "soubor"]
KROS_MAX_CELLS = 40_000_000

sys.path.insert(0, str(ROOT))
from bench.baselines import copy_baseline, parsed_rows, raw_diff_baseline  # noqa: E402
from bench.common import (  # noqa: E402
    DEFAULT_DATABASE_URL,
    WORDS,
    delete_tenant,
    ensure_database,
    load_average,
    peak_rss_mb,
    reader_peak_rss_mb,
    report,
    report_memory,
)
from bench.http_load import load, page_paths, single_client, start_server, stop_server  # noqa: E402
from bench.kros import calamine_read, generate_kros  # noqa: E402

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
    peak_mb, reader_mb = peak_rss_mb(), reader_peak_rss_mb()
    version = outcome.version
    print(
        json.dumps(
            {
                "seconds": seconds,
                "peak_rss_mb": peak_mb,
                "reader_rss_mb": reader_mb,
                "version": version.number,
                "positions": version.position_count,
                "changes": [version.added_count, version.removed_count, version.modified_count],
            }
        )
    )


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


def kros_benchmark(tenant, items: int, repeat: int) -> None:
    from django.conf import settings

    from projects.models import Project

    with tempfile.TemporaryDirectory() as directory:
        started = time.perf_counter()
        path = generate_kros(items, Path(directory))
        print(
            f"\nKROS Export Komplet ({items} items, {path.stat().st_size / 1e6:.1f} MB XLSX, "
            f"written in {time.perf_counter() - started:.0f} s); {load_average()}"
        )
        # The workbook lays out more cells (its hidden columns reach AT) than the default
        # SPREADSHEET_MAX_CELLS allows: the importing children and this process's parse of the
        # baseline's rows get a ceiling above it.
        os.environ["SPREADSHEET_MAX_CELLS"] = str(KROS_MAX_CELLS)
        settings.SPREADSHEET_MAX_CELLS = KROS_MAX_CELLS
        print(f"  (the imports run with SPREADSHEET_MAX_CELLS={KROS_MAX_CELLS:_})")
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
        report_memory(imports)


# Main ---------------------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--positions", type=int, default=100_000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument(
        "--repeat", type=int, default=3, help="Interleaved imports and COPYs (at least 3)."
    )
    parser.add_argument("--kros-items", type=int, default=100_000)
    parser.add_argument("--kros-repeat", type=int, default=3)
    parser.add_argument("--only", choices=["csv", "kros"], help="Run only this part.")
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
    args.repeat = max(args.repeat, 3)
    delete_tenant(TENANT_SLUG)
    try:
        run(args)
    finally:
        delete_tenant(TENANT_SLUG)
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
        # The machine is shared: import and COPY take turns, and each run's ratio pairs the two.
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
            print(
                f"  run {repetition + 1}: import {imports[-1]['seconds']:.2f} s, COPY "
                f"{same_shape:.2f} s (bare {bare:.2f} s); {load_average()}"
            )
        imported = statistics.median(result["seconds"] for result in imports)
        same_shape, bare = statistics.median(copies), statistics.median(bare_copies)
        paired = statistics.median(
            result["seconds"] / copy for result, copy in zip(imports, copies, strict=True)
        )
        positions = imports[0]["positions"]
        report(f"budget_import, end to end (median of {args.repeat})", f"{imported:.2f} s")
        report(
            "  positions", f"{positions}", f"expected {args.positions}", positions == args.positions
        )
        report("  rows per second", f"{positions / imported:,.0f}")
        report("psycopg COPY, same-shape table (median)", f"{same_shape:.2f} s")
        report("import / COPY, median of the runs", f"{paired:.2f}", "target ≤ 1.5", paired <= 1.5)
        report("  median import / median COPY", f"{imported / same_shape:.2f}")
        report("psycopg COPY, bare table (no indexes or keys, median)", f"{bare:.2f} s")
        report("import / bare COPY", f"{imported / bare:.2f}")
        report_memory(imports)
        if args.only == "csv":
            return

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
