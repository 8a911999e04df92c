"""GET /api/v1/me through every middleware against a bare Django JSON view, same server.

One gunicorn (2 sync workers) on a free loopback port serves both; 20 client processes request
one endpoint at a time for a bounded time, in alternating rounds. Prints throughput, the ratio
(target >= 0.6) and p50/p95 latency of each, and the CPU the server's workers spent per request
(steadier than throughput when the machine is shared: the clients run on the same cores).

    .venv/bin/python bench/api.py            # the embedded default (a throwaway SQLite file)
    DATABASE_URL=postgres://... REDIS_URL=redis://... .venv/bin/python bench/api.py

With DATABASE_URL/REDIS_URL set, the bench uses them (creating the PostgreSQL database when it is
missing, and creating, then deleting, its own tenant).
BENCH_SECONDS (default 5) is the length of each measured round; there are two rounds per endpoint.
"""

import multiprocessing
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT))

from bench.common import ensure_database  # noqa: E402 - needs ROOT
from tests.servers import create_tenant_and_key, free_port, manage  # noqa: E402

CLIENTS = 20
WORKERS = 2
ROUND_SECONDS = float(os.environ.get("BENCH_SECONDS", "5"))
WARMUP_SECONDS = 1.0
TARGET_RATIO = 0.6


def client(port: int, request: bytes, until: float) -> tuple[list[int], int]:
    """One client: request after request until `until`; (latencies in ns, failed requests)."""
    latencies, failures = [], 0
    while time.monotonic() < until:
        started = time.perf_counter_ns()
        with socket.create_connection(("127.0.0.1", port)) as sock:
            sock.sendall(request)
            chunks = []
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        latencies.append(time.perf_counter_ns() - started)
        if not b"".join(chunks).startswith(b"HTTP/1.1 200 "):
            failures += 1
    return latencies, failures


def workers_cpu_seconds(master_pid: int) -> float:
    """User + system CPU time of the gunicorn master's worker processes (all their threads)."""
    children = Path(f"/proc/{master_pid}/task/{master_pid}/children").read_text().split()
    ticks = 0
    for pid in children:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def run_round(pool, port: int, request: bytes, seconds: float) -> tuple[list[int], int, float]:
    start = time.monotonic()
    results = pool.starmap(client, [(port, request, start + seconds)] * CLIENTS)
    elapsed = time.monotonic() - start
    latencies = [latency for result in results for latency in result[0]]
    return latencies, sum(result[1] for result in results), elapsed


def percentile(values: list[int], fraction: float) -> float:
    return statistics.quantiles(values, n=100)[int(fraction * 100) - 1] / 1e6


def main() -> None:
    workdir = tempfile.TemporaryDirectory(prefix="kalkula-bench-")
    env = os.environ | {
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "KALKULA_VAR_DIR": workdir.name,
        # The limiter runs on every request, with a rate no client here can reach.
        "RATE_LIMIT_ENTERPRISE_READS": "1000000000/1",
    }
    database_url = os.environ.get("DATABASE_URL", "")
    if not database_url:
        env["DATABASE_URL"] = f"sqlite:///{workdir.name}/bench.sqlite3"
    elif database_url.startswith(("postgres://", "postgresql://")):
        ensure_database()
    manage(env, "migrate", "--noinput", "-v", "0")
    slug = f"bench-{uuid.uuid4().hex[:8]}"
    secret = create_tenant_and_key(env, slug=slug, plan="enterprise")

    port = free_port()
    server = subprocess.Popen(
        [
            str(BIN / "gunicorn"),
            "config.wsgi:application",
            f"--bind=127.0.0.1:{port}",
            f"--workers={WORKERS}",
            "--log-level=warning",
        ],
        cwd=ROOT,
        env=env,
    )
    requests = {
        "bare view": b"GET /bench/bare HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
        "/api/v1/me": (
            "GET /api/v1/me HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
            f"Authorization: Api-Key {secret}\r\n\r\n"
        ).encode(),
    }
    measured = {name: ([], 0, 0.0) for name in requests}
    cpu = dict.fromkeys(requests, 0.0)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    sys.exit("gunicorn did not start")
                time.sleep(0.1)
        with multiprocessing.get_context("fork").Pool(CLIENTS) as pool:
            for request in requests.values():
                run_round(pool, port, request, WARMUP_SECONDS)
            for _ in range(2):  # alternate, so drift in the machine's load hits both alike
                for name, request in requests.items():
                    cpu_before = workers_cpu_seconds(server.pid)
                    latencies, failures, elapsed = run_round(pool, port, request, ROUND_SECONDS)
                    cpu[name] += workers_cpu_seconds(server.pid) - cpu_before
                    total = measured[name]
                    measured[name] = (total[0] + latencies, total[1] + failures, total[2] + elapsed)
    finally:
        server.terminate()
        server.wait(timeout=30)
        if "DATABASE_URL" in os.environ:
            manage(
                env,
                "shell",
                "-c",
                f"from tenants.models import Tenant; Tenant.objects.filter(slug={slug!r}).delete()",
            )
        workdir.cleanup()

    throughput = {}
    print(
        f"gunicorn {WORKERS} sync workers, {CLIENTS} clients, 2 x {ROUND_SECONDS:g} s per endpoint"
    )
    for name, (latencies, failures, elapsed) in measured.items():
        throughput[name] = len(latencies) / elapsed
        print(
            f"{name:>12}: {throughput[name]:7.0f} req/s   p50 {percentile(latencies, 0.50):6.2f} ms"
            f"   p95 {percentile(latencies, 0.95):6.2f} ms   server CPU "
            f"{cpu[name] / len(latencies) * 1000:5.2f} ms/request   failed {failures}"
        )
    ratio = throughput["/api/v1/me"] / throughput["bare view"]
    verdict = "meets" if ratio >= TARGET_RATIO else "BELOW"
    print(f"ratio /api/v1/me : bare = {ratio:.2f} ({verdict} the {TARGET_RATIO} target)")


if __name__ == "__main__":
    main()
