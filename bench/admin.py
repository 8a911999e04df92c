"""The positions changelist of a 100,000-position project in the admin, with facet counts shown,
against Django's stock ModelAdmin over the same table, same process, same run.

    .venv/bin/python bench/admin.py [--positions 100000] [--rounds 5]

Imports a project of `--positions` positions (version 1 and a revision as version 2:
bench/imports.py's files), then, signed in as a superuser through Django's test client, asks each
page in turn of Kalkula's admin (projects.admin.positions.PositionAdmin) and of a stock
`ModelAdmin` registered on a plain `AdminSite` (`/plain-admin/`, bench/admin_urls.py) with the same
columns and comparable filters (project, status, kind, section) and nothing tuned: every page
`--rounds` times, the two interleaved. It prints the median time of each page, the ratio to the
stock admin, and checks the issue's target: every page under 1 s. Both run behind the same
middleware in this process; it costs about a millisecond of the hundreds a page takes here. At the
end it deletes its tenant and user, and prints the load average.

DATABASE_URL defaults to postgres://postgres@127.0.0.1:5432/kalkula_bench (created when missing).
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import (  # noqa: E402
    DEFAULT_DATABASE_URL,
    delete_tenant,
    ensure_database,
    load_average,
    report,
)

os.environ.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("LOG_LEVEL", "WARNING")

TENANT_SLUG = "bench-admin"
USERNAME = "bench-admin-root"
TARGET_SECONDS = 1.0


def build(positions: int) -> str:
    """The tenant and its project of two imported versions; the project's id."""
    from bench.imports import generate
    from projects.models import Project
    from projects.services import budget_import
    from tenants.models import Plan
    from tenants.services import tenant_create

    tenant = tenant_create(slug=TENANT_SLUG, name="Benchmark admin", plan=Plan.ENTERPRISE)
    project = Project.objects.create(tenant=tenant, name="Benchmark admin")
    with tempfile.TemporaryDirectory() as directory:
        for path in generate(positions, Path(directory)):
            with path.open("rb") as stream:
                budget_import(project=project, stream=stream, filename=path.name)
    return str(project.id)


def clean_up() -> None:
    from django.contrib.auth import get_user_model

    delete_tenant(TENANT_SLUG)
    get_user_model().objects.filter(username=USERNAME).delete()


def timed_get(client, path: str) -> float:
    started = time.perf_counter()
    response = client.get(path)
    elapsed = time.perf_counter() - started
    assert response.status_code == 200, (path, response.status_code)
    return elapsed


def main(args: argparse.Namespace) -> None:
    ensure_database()
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import override_settings

    call_command("migrate", verbosity=0)
    clean_up()
    try:
        print(f"importing {args.positions} positions (two versions) …")
        project = build(args.positions)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        root = get_user_model().objects.create_superuser(USERNAME, f"{USERNAME}@example.com")
        client = Client()
        client.force_login(root)
        deep = max(1, args.positions // 200)  # a page in the middle of the list (page 500)
        pages = {
            "the project's positions, facet counts": (
                f"?project={project}&_facets=True",
                f"?project__id__exact={project}&_facets=True",
            ),
            "status filter, facet counts": (
                f"?project={project}&audit_status__exact=unaudited&_facets=True",
                f"?project__id__exact={project}&audit_status__exact=unaudited&_facets=True",
            ),
            "search, facet counts": (
                f"?project={project}&q=varianta+777&_facets=True",
                f"?project__id__exact={project}&q=varianta+777&_facets=True",
            ),
            f"page {deep}": (
                f"?project={project}&p={deep}",
                f"?project__id__exact={project}&p={deep}",
            ),
        }
        with override_settings(ROOT_URLCONF="bench.admin_urls"):
            for name, (ours, plain) in pages.items():
                kalkula_path = "/admin/projects/position/" + ours
                plain_path = "/plain-admin/projects/position/" + plain
                timed_get(client, kalkula_path), timed_get(client, plain_path)  # warm both
                times: dict[str, list[float]] = {"kalkula": [], "plain": []}
                for _ in range(args.rounds):
                    times["kalkula"].append(timed_get(client, kalkula_path))
                    times["plain"].append(timed_get(client, plain_path))
                kalkula, plain_median = (statistics.median(times[s]) for s in ("kalkula", "plain"))
                print(f"{name}:")
                report("stock ModelAdmin", f"{plain_median * 1000:.0f} ms")
                report(
                    "Kalkula",
                    f"{kalkula * 1000:.0f} ms",
                    f"(target < {TARGET_SECONDS:.0f} s)",
                    kalkula < TARGET_SECONDS,
                )
                report("ratio to the stock admin", f"{kalkula / plain_median:.2f}")
    finally:
        clean_up()
        print(load_average())


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--positions", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    arguments = parser.parse_args()
    if arguments.rounds < 3:
        parser.error("--rounds: at least 3 (the figures are medians)")
    main(arguments)
