"""GET /api/v1/me through every middleware against a plain Django + DRF view, same machine, same
run.

Two gunicorns (2 sync workers each) on free loopback ports: Kalkula (config.wsgi), and a plain
project (bench/plain_settings.py: startproject's settings and Django's default middleware, plus
DRF with its defaults) whose one view answers the same JSON as /me. 20 client processes request
one endpoint at a time for a bounded time, the two alternating, in 3 rounds. Prints throughput,
the ratio of each round and their median (target >= 0.7), p50/p95 latency, and the CPU each
server's workers spent per request (steadier than throughput when the machine is shared: the
clients run on the same cores), and the load average.

    .venv/bin/python bench/api.py            # the embedded default (a throwaway SQLite file)
    DATABASE_URL=postgres://... REDIS_URL=redis://... .venv/bin/python bench/api.py

With DATABASE_URL/REDIS_URL set, the bench uses them (creating the PostgreSQL database when it is
missing, and creating, then deleting, its own tenant). BENCH_SECONDS (default 5) is the length of
each measured round of an endpoint.
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

from bench.common import ensure_database, load_average  # noqa: E402 - needs ROOT
from tests.servers import create_tenant_and_key, free_port, manage  # noqa: E402

CLIENTS = 20
WORKERS = 2
ROUND_SECONDS = float(os.environ.get("BENCH_SECONDS", "5"))
ROUNDS = 3
WARMUP_SECONDS = 1.0
TARGET_RATIO = 0.7


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


def gunicorn(app: str, port: int, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [
            str(BIN / "gunicorn"),
            app,
            f"--bind=127.0.0.1:{port}",
            f"--workers={WORKERS}",
            "--log-level=warning",
        ],
        cwd=ROOT,
        env=env,
    )


def wait_for(server: subprocess.Popen, port: int) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                sys.exit("gunicorn did not start")
            time.sleep(0.1)


def fetch(port: int, request: bytes) -> bytes:
    """One request's answer body."""
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200 "):
        sys.exit(f"{request.splitlines()[0].decode()} answered {head.splitlines()[0].decode()}")
    return body


def main() -> None:
    workdir = tempfile.TemporaryDirectory(prefix="kalkula-bench-")
    env = os.environ | {
        "DJANGO_SETTINGS_MODULE": "config.settings",
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

    requests = {
        "plain DRF": b"GET /plain HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
        "/api/v1/me": (
            "GET /api/v1/me HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
            f"Authorization: Api-Key {secret}\r\n\r\n"
        ).encode(),
    }
    ports = {name: free_port() for name in requests}
    servers = {}
    rounds = {name: [] for name in requests}  # (latencies, failures, elapsed, cpu) per round
    try:
        servers["/api/v1/me"] = gunicorn("config.wsgi:application", ports["/api/v1/me"], env)
        wait_for(servers["/api/v1/me"], ports["/api/v1/me"])
        plain_env = env | {
            "DJANGO_SETTINGS_MODULE": "bench.plain_settings",
            # The same answer as /me's, so both render the same JSON.
            "BENCH_PLAIN_BODY": fetch(ports["/api/v1/me"], requests["/api/v1/me"]).decode(),
        }
        servers["plain DRF"] = gunicorn(
            "django.core.wsgi:get_wsgi_application()", ports["plain DRF"], plain_env
        )
        wait_for(servers["plain DRF"], ports["plain DRF"])
        print(f"{load_average()} at the start")
        with multiprocessing.get_context("fork").Pool(CLIENTS) as pool:
            for name, request in requests.items():
                run_round(pool, ports[name], request, WARMUP_SECONDS)
            for _ in range(ROUNDS):  # alternate, so drift in the machine's load hits both alike
                for name, request in requests.items():
                    cpu_before = workers_cpu_seconds(servers[name].pid)
                    latencies, failures, elapsed = run_round(
                        pool, ports[name], request, ROUND_SECONDS
                    )
                    cpu = workers_cpu_seconds(servers[name].pid) - cpu_before
                    rounds[name].append((latencies, failures, elapsed, cpu))
    finally:
        for server in servers.values():
            server.terminate()
        for server in servers.values():
            server.wait(timeout=30)
        if "DATABASE_URL" in os.environ:
            manage(
                env,
                "shell",
                "-c",
                f"from tenants.models import Tenant; Tenant.objects.filter(slug={slug!r}).delete()",
            )
        workdir.cleanup()

    print(
        f"gunicorn {WORKERS} sync workers each, {CLIENTS} clients, {ROUNDS} x {ROUND_SECONDS:g} s "
        "per endpoint, alternating"
    )
    throughput = {}
    for name, measured in rounds.items():
        throughput[name] = [len(latencies) / elapsed for latencies, _, elapsed, _ in measured]
        latencies = [latency for round_ in measured for latency in round_[0]]
        failures = sum(round_[1] for round_ in measured)
        cpu = sum(round_[3] for round_ in measured)
        print(
            f"{name:>12}: {statistics.median(throughput[name]):7.0f} req/s (median; rounds "
            f"{', '.join(f'{value:.0f}' for value in throughput[name])})   "
            f"p50 {percentile(latencies, 0.50):6.2f} ms   p95 {percentile(latencies, 0.95):6.2f} ms"
            f"   server CPU {cpu / len(latencies) * 1000:5.2f} ms/request   failed {failures}"
        )
    pairs = zip(throughput["/api/v1/me"], throughput["plain DRF"], strict=True)
    ratios = [me / plain for me, plain in pairs]
    ratio = statistics.median(ratios)
    verdict = "meets" if ratio >= TARGET_RATIO else "BELOW"
    print(
        f"ratio /api/v1/me : plain DRF = {ratio:.2f}, median of "
        f"{', '.join(f'{value:.2f}' for value in ratios)} ({verdict} the {TARGET_RATIO} target)"
    )
    cpu = {
        name: sum(r[3] for r in measured) / sum(len(r[0]) for r in measured)
        for name, measured in rounds.items()
    }
    cpu_ratio = cpu["plain DRF"] / cpu["/api/v1/me"]
    print(
        f"server CPU per request, plain DRF : /api/v1/me = {cpu_ratio:.2f} (informative: "
        "steadier than throughput on a shared machine)"
    )
    print(f"{load_average()} at the end")


if __name__ == "__main__":
    main()
