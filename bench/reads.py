"""The hot list reads under load, against a plain Django + DRF project serving the same rows, same
machine, same run.

    .venv/bin/python bench/reads.py [--positions 100000] [--clients 50] [--seconds 5] [--rounds 3]

Builds a project of `--positions` positions (version 1 imported from a generated CSV, version 2 a
revision of it: bench/imports.py's files), one finding per position of version 2, and as many
evidence rows for the tenant; then copies those rows into `bench_` tables of the same shape
(columns, indexes). Two gunicorns with 2 sync workers each serve them: Kalkula (config.wsgi,
every platform guarantee on: key authentication, the rate limiter, the request log) and the
plain project of bench/plain_reads.py (plain DRF ListAPIViews with CursorPagination over
`values()` rows; for the diff, the same SQL as Kalkula's in a plain APIView). For each read

- the positions list, `GET /api/v1/projects/{id}/positions/` (pages of 50, the first 40 pages);
- the diff of the two versions, `GET /api/v1/projects/{id}/diff/?from=1&to=2&limit=100`;
- the findings list, `GET /api/v1/projects/{id}/findings/` (pages of 50, the first 40 pages);
- the evidence list, `GET /api/v1/evidence/` (pages of 50, the first 40 pages);

`--clients` client processes request the pages at random for `--seconds`, the two servers taking
turns, in `--rounds` rounds (at least 3). It prints throughput, p50/p95 latency and the CPU the
server's workers spent per request, and the median of the rounds' ratios: throughput ≥ 0.8× the
plain project's, p95 ≤ 1.25× it. At the end it drops the `bench_` tables, deletes its tenant
(`bench-reads`) and user, and prints the load average.

DATABASE_URL defaults to postgres://postgres@127.0.0.1:5432/kalkula_bench (created when missing).
"""

import argparse
import json
import multiprocessing
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import uuid
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT))

from bench.common import (  # noqa: E402
    DEFAULT_DATABASE_URL,
    delete_tenant,
    ensure_database,
    load_average,
)

os.environ.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# The limiter runs on every request, at a rate no client here can reach.
os.environ.setdefault("RATE_LIMIT_ENTERPRISE_READS", "1000000000/1")
os.environ.setdefault("LOG_LEVEL", "WARNING")

from tests.servers import free_port  # noqa: E402 - needs ROOT on the path

TENANT_SLUG = "bench-reads"
USERNAME = "bench-reads-uploader"
PAGES = 40
TARGET_THROUGHPUT, TARGET_P95 = 0.8, 1.25
BENCH_TABLES = ("bench_positions", "bench_versions", "bench_findings", "bench_waivers")
BENCH_TABLES += ("bench_evidence", "bench_api_keys")
RULES = (
    ("arithmetic.total", "arithmetic"),
    ("catalog.unknown", "catalog"),
    ("cost.deviation", "cost"),
)


# Data ---------------------------------------------------------------------------------------------
def copy_rows(model, rows: list[dict]) -> None:
    """COPY `rows` (field name → value; the field's default where absent) into `model`'s table."""
    from django.db import connection
    from psycopg.types.json import Jsonb

    fields = model._meta.concrete_fields
    json_fields = {field.attname for field in fields if field.get_internal_type() == "JSONField"}
    columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    with connection.cursor() as cursor:
        with cursor.copy(f"COPY {model._meta.db_table} ({columns}) FROM STDIN") as copy:
            for row in rows:
                values = []
                for field in fields:
                    value = row[field.attname] if field.attname in row else field.get_default()
                    values.append(Jsonb(value) if field.attname in json_fields else value)
                copy.write_row(values)


def build(positions: int) -> dict:
    """The tenant, its project, findings and evidence, and their bench_ copies; ids and key."""
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.utils import timezone

    from audits.models import Finding, Waiver
    from bench.imports import generate
    from evidence.models import Evidence
    from projects.models import BudgetVersion, Position, Project
    from projects.services import budget_import
    from tenants.models import ApiKey, Plan, Role
    from tenants.services import api_key_create, tenant_create

    tenant = tenant_create(slug=TENANT_SLUG, name="Benchmark reads", plan=Plan.ENTERPRISE)
    user = get_user_model().objects.create(username=USERNAME)
    project = Project.objects.create(tenant=tenant, name="Benchmark reads")
    with tempfile.TemporaryDirectory() as directory:
        for path in generate(positions, Path(directory)):
            with path.open("rb") as stream:
                budget_import(project=project, stream=stream, filename=path.name)
    project.refresh_from_db()
    version = project.current_version
    now = timezone.now()
    current = Position.objects.filter(project=project, valid_to__isnull=True).values_list(
        "id", "line_key", "source_line"
    )
    copy_rows(
        Finding,
        [
            {
                "id": uuid.uuid4(),
                "tenant_id": tenant.id,
                "project_id": project.id,
                "version_id": version.id,
                "position_id": position_id,
                "line_key": line_key,
                "source_line": source_line,
                "rule": RULES[n % 3][0],
                "role": RULES[n % 3][1],
                "recommendation": ("green", "amber", "red")[n % 3],
                "confidence": Decimal("0.850"),
                "reasoning": "The unit price is 38 % above the catalog's reference.",
                "evidence": {"reference": "1234.50", "deviation": "0.38"},
                "created_at": now,
            }
            for n, (position_id, line_key, source_line) in enumerate(current)
        ],
    )
    copy_rows(
        Evidence,
        [
            {
                "id": uuid.uuid4(),
                "tenant_id": tenant.id,
                "sha256": f"{n:064x}",
                "key": f"evidence/{tenant.id}/{n:064x}",
                "name": f"faktura-{n}.pdf",
                "size": 10_000 + n,
                "content_type": "application/pdf",
                "kind": ("invoice", "photo", "drawing", "contract")[n % 4],
                "project_id": project.id if n % 2 else None,
                "uploaded_by_id": user.id,
                "created_at": now - timedelta(seconds=n),
                "text_status": "extracted",
            }
            for n in range(positions)
        ],
    )
    copies = {
        "bench_positions": (Position, "project_id = %s", [project.id]),
        "bench_versions": (BudgetVersion, "project_id = %s", [project.id]),
        "bench_findings": (Finding, "project_id = %s", [project.id]),
        "bench_waivers": (Waiver, "project_id = %s", [project.id]),
        "bench_evidence": (Evidence, "tenant_id = %s", [tenant.id]),
        "bench_api_keys": (ApiKey, "tenant_id = %s", [tenant.id]),
    }
    with connection.cursor() as cursor:
        for copy, (model, condition, params) in copies.items():
            table = model._meta.db_table
            cursor.execute(f"CREATE TABLE {copy} (LIKE {table} INCLUDING ALL)")
            cursor.execute(f"INSERT INTO {copy} SELECT * FROM {table} WHERE {condition}", params)
            cursor.execute(f"ANALYZE {copy}")
            cursor.execute(f"ANALYZE {table}")
    key = api_key_create(tenant=tenant, name="bench", role=Role.VIEWER).secret
    return {
        "tenant": str(tenant.id),
        "project": str(project.id),
        "version": version.number,
        "key": key,
        "positions": Position.objects.filter(project=project, valid_to__isnull=True).count(),
    }


def clean_up() -> None:
    """Drop the bench_ tables, delete the tenant and the user."""
    from django.contrib.auth import get_user_model
    from django.db import connection

    with connection.cursor() as cursor:
        for table in BENCH_TABLES:
            cursor.execute(f"DROP TABLE IF EXISTS {table}")
    delete_tenant(TENANT_SLUG)
    get_user_model().objects.filter(username=USERNAME).delete()


# HTTP ---------------------------------------------------------------------------------------------
def request_bytes(path: str, key: str | None) -> bytes:
    auth = f"Authorization: Api-Key {key}\r\n" if key else ""
    return f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n{auth}\r\n".encode()


def fetch(port: int, request: bytes) -> tuple[bytes, bytes]:
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(262144):
            chunks.append(chunk)
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    return head, body


def get_json(port: int, path: str, key: str | None) -> dict:
    head, body = fetch(port, request_bytes(path, key))
    if not head.startswith(b"HTTP/1.1 200 "):
        raise SystemExit(f"GET {path} answered {head.splitlines()[0].decode()}: {body[:300]!r}")
    return json.loads(body)


def page_paths(port: int, first: str, key: str | None) -> list[str]:
    """The first PAGES page paths of a list, later pages by their `next` links."""
    paths = [first]
    while len(paths) < PAGES:
        following = get_json(port, paths[-1], key)["next"]
        if not following:
            break
        parts = urllib.parse.urlsplit(following)
        paths.append(f"{parts.path}?{parts.query}")
    return paths


def client(port: int, requests: list[bytes], until: float, seed: int) -> tuple[list[int], int]:
    """One client process: random requests until `until`; (latencies in ns, failures)."""
    rng = random.Random(seed)
    latencies, failures = [], 0
    while time.monotonic() < until:
        started = time.perf_counter_ns()
        head, _ = fetch(port, rng.choice(requests))
        latencies.append(time.perf_counter_ns() - started)
        if not head.startswith(b"HTTP/1.1 200 "):
            failures += 1
    return latencies, failures


def workers_cpu_seconds(master_pid: int) -> float:
    """User + system CPU time of the gunicorn master's worker processes."""
    children = Path(f"/proc/{master_pid}/task/{master_pid}/children").read_text().split()
    ticks = 0
    for pid in children:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def run_round(pool, server, port: int, requests: list[bytes], clients: int, seconds: float):
    cpu_before = workers_cpu_seconds(server.pid)
    start = time.monotonic()
    results = pool.starmap(
        client, [(port, requests, start + seconds, seed) for seed in range(clients)]
    )
    elapsed = time.monotonic() - start
    latencies = sorted(latency / 1e6 for result in results for latency in result[0])
    return {
        "per_second": len(latencies) / elapsed,
        "p50": statistics.median(latencies),
        "p95": latencies[int(0.95 * (len(latencies) - 1))],
        "failures": sum(result[1] for result in results),
        "cpu_ms": (workers_cpu_seconds(server.pid) - cpu_before) * 1000 / len(latencies),
    }


def gunicorn(app: str, port: int, env: dict) -> subprocess.Popen:
    server = subprocess.Popen(
        [
            str(BIN / "gunicorn"),
            app,
            f"--bind=127.0.0.1:{port}",
            "--workers=2",
            "--log-level=warning",
            "--no-control-socket",
        ],
        cwd=ROOT,
        env=env,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return server
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit("gunicorn did not start") from None
            time.sleep(0.1)


# Main ---------------------------------------------------------------------------------------------
def main(args: argparse.Namespace) -> None:
    ensure_database()
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connections

    call_command("migrate", verbosity=0)
    clean_up()
    servers: list[subprocess.Popen] = []
    try:
        print(f"building {args.positions} positions, findings and evidence rows …")
        data = build(args.positions)
        connections.close_all()  # the client processes fork from this one
        env = dict(os.environ)
        ports = {"kalkula": free_port(), "plain": free_port()}
        kalkula = gunicorn("config.wsgi", ports["kalkula"], env)
        servers.append(kalkula)
        plain_env = env | {"DJANGO_SETTINGS_MODULE": "bench.plain_reads_settings"}
        plain = gunicorn("django.core.wsgi:get_wsgi_application()", ports["plain"], plain_env)
        servers.append(plain)
        project, key = data["project"], data["key"]
        reads = {
            "positions": (
                f"/api/v1/projects/{project}/positions/?page_size=50",
                f"/plain/projects/{project}/positions/?page_size=50",
            ),
            "diff": (
                f"/api/v1/projects/{project}/diff/?from=1&to=2&limit=100",
                f"/plain/projects/{project}/diff/?from=1&to=2&limit=100",
            ),
            "findings": (
                f"/api/v1/projects/{project}/findings/?page_size=50",
                f"/plain/projects/{project}/findings/?page_size=50&version={data['version']}",
            ),
            "evidence": (
                "/api/v1/evidence/?page_size=50",
                f"/plain/evidence/?page_size=50&tenant={data['tenant']}",
            ),
        }
        requests = {}
        for name, (ours, theirs) in reads.items():
            if name == "diff":
                paths = {"kalkula": [ours], "plain": [theirs]}
            else:
                paths = {
                    "kalkula": page_paths(ports["kalkula"], ours, key),
                    "plain": page_paths(ports["plain"], theirs, None),
                }
            first = {side: get_json(ports[side], paths[side][0], key) for side in paths}
            sizes = {
                side: len(answer["results"]) if "results" in answer else answer["counts"]
                for side, answer in first.items()
            }
            if sizes["kalkula"] != sizes["plain"]:
                raise SystemExit(f"{name}: the two answers differ: {sizes}")
            requests[name] = {
                "kalkula": [request_bytes(path, key) for path in paths["kalkula"]],
                "plain": [request_bytes(path, None) for path in paths["plain"]],
            }
        print(
            f"{data['positions']} positions in the current version; gunicorn 2 sync workers "
            f"each, {args.clients} clients, {args.rounds} rounds of {args.seconds:g} s per side "
            f"and read, alternating; {load_average()} at the start"
        )
        by_side = {"kalkula": kalkula, "plain": plain}
        with multiprocessing.get_context("fork").Pool(args.clients) as pool:
            for name, sides in requests.items():
                for side in ("plain", "kalkula"):  # warm-up
                    run_round(pool, by_side[side], ports[side], sides[side], args.clients, 1)
                rounds = []
                for number in range(args.rounds):
                    order = ("plain", "kalkula") if number % 2 == 0 else ("kalkula", "plain")
                    rounds.append(
                        {
                            side: run_round(
                                pool,
                                by_side[side],
                                ports[side],
                                sides[side],
                                args.clients,
                                args.seconds,
                            )
                            for side in order
                        }
                    )
                report(name, rounds)
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            server.wait(timeout=30)
        clean_up()
        print(f"cleaned up; {load_average()} at the end")


def report(name: str, rounds: list[dict]) -> None:
    def median(side: str, figure: str) -> float:
        return statistics.median(r[side][figure] for r in rounds)

    throughput = statistics.median(
        r["kalkula"]["per_second"] / r["plain"]["per_second"] for r in rounds
    )
    p95 = statistics.median(r["kalkula"]["p95"] / r["plain"]["p95"] for r in rounds)
    failures = sum(r[side]["failures"] for r in rounds for side in r)
    print(f"{name}:")
    for side, label in (("plain", "plain DRF"), ("kalkula", "Kalkula")):
        each = ", ".join(f"{r[side]['per_second']:.0f}" for r in rounds)
        print(
            f"  {label:<10} {median(side, 'per_second'):6.0f} req/s (rounds "
            f"{each})  p50 "
            f"{median(side, 'p50'):6.1f} ms  p95 {median(side, 'p95'):6.1f} ms  server CPU "
            f"{median(side, 'cpu_ms'):5.2f} ms/request"
        )
    print(
        f"  throughput ratio {throughput:.2f} (target ≥ {TARGET_THROUGHPUT}: "
        f"{'met' if throughput >= TARGET_THROUGHPUT else 'MISSED'}), p95 ratio {p95:.2f} "
        f"(target ≤ {TARGET_P95}: {'met' if p95 <= TARGET_P95 else 'MISSED'}), medians of "
        f"{len(rounds)} rounds; {failures} failed requests"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--positions", type=int, default=100_000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    arguments = parser.parse_args()
    if arguments.rounds < 3:
        parser.error("--rounds: at least 3, the median of fewer says little")
    main(arguments)
