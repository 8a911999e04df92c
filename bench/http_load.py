"""The API under load: gunicorn on a loopback port, and clients reading pages of a listing."""

import http.client
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


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
