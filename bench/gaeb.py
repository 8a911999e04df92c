"""GAEB import benchmark on PostgreSQL: a generated X84 bid of 100,000 items in 5 lots × 20
titles, imported end to end, against a baseline measured in the same run.

    .venv/bin/python bench/gaeb.py [--items 100000] [--runs 3]

The import (`budget_import`, the service the job runs) runs in a child process, for its time and
peak RSS (and that of the process it forks to parse the file). The baseline is what any reader of
the file has to do at least: a plain `xml.etree.ElementTree.iterparse` of the same file
(numbers, quantities, prices and totals picked up, elements cleared as they end) plus a psycopg
COPY of the same rows into a table of the positions table's shape. Import and baseline take turns
(the machine is shared) and the medians count: target import ≤ 2 × baseline, peak RSS < 300 MB.
The load average is printed with them.

DATABASE_URL defaults to postgres://postgres@127.0.0.1:5432/kalkula_bench (created when missing).
Only the benchmark's own tenant (`bench-gaeb`) is written and removed.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from xml.etree.ElementTree import iterparse
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parents[1]
TENANT_SLUG = "bench-gaeb"
NAMESPACE = "http://www.gaeb.de/GAEB_DA_XML/DA84/3.3"

sys.path.insert(0, str(ROOT))
from bench.common import (  # noqa: E402
    DEFAULT_DATABASE_URL,
    WORDS,
    ensure_database,
    peak_rss_mb,
    reader_peak_rss_mb,
    report,
    report_memory,
)

os.environ.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


def generate(path: Path, items: int, lots: int = 5, titles: int = 20) -> Decimal:
    """An X84 of `items` items in `lots` × `titles` categories, each item with a line of text
    (a bidder's note), quantity, unit price and total; declared totals per title, lot and bill.
    Returns the bill's total."""
    per_title = items // (lots * titles)
    whole = Decimal(0)
    number = 0
    with path.open("w", encoding="utf-8") as out:
        out.write(
            f'<?xml version="1.0" encoding="UTF-8"?>\n<GAEB xmlns="{NAMESPACE}">\n'
            "<GAEBInfo><Version>3.3</Version><VersDate>2021-05</VersDate>"
            "<Date>2026-01-15</Date></GAEBInfo>\n"
            "<PrjInfo><NamePrj>Benchmark</NamePrj></PrjInfo>\n"
            "<Award><DP>84</DP><AwardInfo><Cur>EUR</Cur></AwardInfo>\n"
            "<CTR><Address><Name1>Bench GmbH</Name1><Street>Weg 1</Street><PCode>1</PCode>"
            "<City>Ort</City></Address></CTR>\n"
            '<BoQ ID="B"><BoQInfo><Name>Benchmark</Name>'
            "<BoQBkdn><Type>Lot</Type><Length>1</Length><Num>Yes</Num></BoQBkdn>"
            "<BoQBkdn><Type>BoQLevel</Type><Length>2</Length><Num>Yes</Num></BoQBkdn>"
            "<BoQBkdn><Type>Item</Type><Length>4</Length><Num>Yes</Num></BoQBkdn>"
            "<Totals><Total>@TOTAL@</Total></Totals></BoQInfo>\n<BoQBody>\n"
        )
        for lot in range(1, lots + 1):
            out.write(f'<BoQCtgy ID="L{lot}" RNoPart="{lot}"><BoQBody>\n')
            lot_total = Decimal(0)
            for title in range(1, titles + 1):
                out.write(f'<BoQCtgy ID="T{lot}_{title}" RNoPart="{title:02d}"><BoQBody>\n')
                out.write("<Itemlist>\n")
                title_total = Decimal(0)
                for item in range(1, per_title + 1):
                    number += 1
                    quantity = Decimal(number % 997 + 1) / 8
                    unit_price = Decimal(number % 4999 + 100) / 4
                    total = (quantity * unit_price).quantize(Decimal("0.01"), ROUND_HALF_UP)
                    title_total += total
                    text = escape(" ".join(WORDS[(number + k) % len(WORDS)] for k in range(8)))
                    out.write(
                        f'<Item ID="I{number}" RNoPart="{item:04d}">\n'
                        f"<Qty>{quantity:.3f}</Qty>\n<UP>{unit_price:.2f}</UP>\n"
                        f"<IT>{total}</IT>\n<Description><CompleteText><DetailTxt><Text>"
                        f"<p><span>{text}</span></p></Text></DetailTxt></CompleteText>"
                        "</Description>\n</Item>\n"
                    )
                out.write("</Itemlist>\n")
                out.write(f"</BoQBody><Totals><Total>{title_total}</Total></Totals></BoQCtgy>\n")
                lot_total += title_total
            out.write(f"</BoQBody><Totals><Total>{lot_total}</Total></Totals></BoQCtgy>\n")
            whole += lot_total
        out.write("</BoQBody></BoQ></Award></GAEB>\n")
    # The bill's total goes into its BoQInfo, written before the items: patch it in place.
    data = path.read_bytes().replace(b"@TOTAL@", str(whole).encode(), 1)
    path.write_bytes(data)
    return whole


def plain_iterparse(path: Path) -> tuple[float, int]:
    """Seconds for xml.etree's iterparse to read every item's number chain and figures."""
    started = time.perf_counter()
    ns = "{" + NAMESPACE + "}"
    item_tag, ctgy_tag = ns + "Item", ns + "BoQCtgy"
    chain: list[str] = []
    rows = []
    # The C parser, unguarded: our own generated file, and the fastest baseline there is.
    for event, element in iterparse(str(path), events=("start", "end")):  # noqa: S314
        tag = element.tag
        if event == "start":
            if tag == ctgy_tag:
                chain.append(element.get("RNoPart", ""))
            continue
        if tag == item_tag:
            rows.append(
                (
                    ".".join([*chain, element.get("RNoPart", "")]),
                    Decimal(element.findtext(ns + "Qty") or 0),
                    Decimal(element.findtext(ns + "UP") or 0),
                    Decimal(element.findtext(ns + "IT") or 0),
                )
            )
            element.clear()
        elif tag == ctgy_tag:
            chain.pop()
            element.clear()
    return time.perf_counter() - started, len(rows)


def child_import(project_id: str, path: str) -> None:
    """Import `path` into the project (in a process of its own) and print what it took."""
    import django

    django.setup()
    from projects.models import Project
    from projects.services import budget_import

    project = Project.objects.get(pk=project_id)
    started = time.perf_counter()
    with open(path, "rb") as stream:
        outcome = budget_import(project=project, stream=stream, filename=Path(path).name)
    seconds = time.perf_counter() - started
    print(
        json.dumps(
            {
                "seconds": seconds,
                "peak_rss_mb": peak_rss_mb(),
                "reader_rss_mb": reader_peak_rss_mb(),
                "positions": outcome.version.position_count,
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


def load_average() -> str:
    return " / ".join(f"{value:.2f}" for value in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3, help="Interleaved runs (medians count).")
    parser.add_argument(
        "--child-import", nargs=2, metavar=("PROJECT", "FILE"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.child_import:
        child_import(*args.child_import)
        return

    ensure_database()
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from bench.baselines import copy_baseline
    from projects.models import Project
    from tenants.models import Plan
    from tenants.services import tenant_create

    purge_bench_tenant()
    tenant = tenant_create(slug=TENANT_SLUG, name="GAEB benchmark", plan=Plan.ENTERPRISE)
    print(f"GAEB benchmark: {args.items} items, {os.environ['DATABASE_URL']}")
    print(f"  load average (1 / 5 / 15 min) at the start: {load_average()}")
    try:
        with tempfile.TemporaryDirectory() as directory:
            path = Path(directory) / "bid.x84"
            total = generate(path, args.items)
            print(f"\nImport of an X84 ({path.stat().st_size / 1e6:.1f} MB, total {total} EUR)")
            imports, parses, copies = [], [], []
            for run in range(args.runs):
                project = Project.objects.create(tenant=tenant, name=f"GAEB bid {run + 1}")
                result = run_import(str(project.id), path)
                if result["positions"] != args.items:
                    raise RuntimeError(f"imported {result['positions']} positions")
                imports.append(result)
                seconds, count = plain_iterparse(path)
                assert count == args.items
                parses.append(seconds)
                copies.append(copy_baseline(str(tenant.id), str(project.id), path)[0])
                print(
                    f"  run {run + 1}: import {result['seconds']:.2f} s "
                    f"({result['peak_rss_mb']:.0f} MB), iterparse {seconds:.2f} s, "
                    f"COPY {copies[-1]:.2f} s (load {load_average()})"
                )
            project.refresh_from_db()
            if project.total_cost != total:
                raise RuntimeError(f"imported total {project.total_cost}, the file's {total}")
            imported = statistics.median(r["seconds"] for r in imports)
            baseline = statistics.median(p + c for p, c in zip(parses, copies, strict=True))
            report(f"budget_import, end to end (median of {args.runs})", f"{imported:.2f} s")
            report("  items per second", f"{args.items / imported:,.0f}")
            report("plain iterparse (median)", f"{statistics.median(parses):.2f} s")
            report("psycopg COPY, same-shape table (median)", f"{statistics.median(copies):.2f} s")
            report("baseline: iterparse + COPY (median of sums)", f"{baseline:.2f} s")
            ratio = imported / baseline
            report("import / baseline", f"{ratio:.2f}", "target ≤ 2", ratio <= 2)
            report_memory(imports)
            report("version total = the file's declared total", str(project.total_cost))
            print(f"  load average (1 / 5 / 15 min) at the end: {load_average()}")
    finally:
        purge_bench_tenant()


if __name__ == "__main__":
    main()
