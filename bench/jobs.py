"""Benchmark of the job engine on PostgreSQL + Redis, with the production processes: gunicorn for
the API, uvicorn for websockets, a `celery worker`.

    .venv/bin/python bench/jobs.py

Reads DATABASE_URL, REDIS_URL, CELERY_BROKER_URL (defaults below; the database is created and
migrated if needed). Prints:
- dispatch latency, job created through the API → its handler starts, p50/p95 over 200 jobs
  (target p95 ≤ 50 ms);
- event latency, `progress.update` → a websocket client receives it, p50/p95 over 1,000 events,
  against a raw channels-redis `group_send` → receipt measured in the same run (target: p95 ratio
  ≤ 1.5);
- 100 concurrent selftest jobs from 10 tenants: all succeed, jobs/s, longest queue wait.
"""

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT))

from bench.common import ensure_database  # noqa: E402 - needs ROOT on the path
from tests.servers import free_port  # noqa: E402

DEFAULTS = {
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/kalkula_bench",
    "REDIS_URL": "redis://127.0.0.1:6379/14",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/15",
}
for _name, _value in DEFAULTS.items():
    os.environ.setdefault(_name, _value)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("KALKULA_VAR_DIR", str(ROOT / "var" / "bench"))
os.environ["KALKULA_INPROCESS_WORKER"] = "false"
# The bench measures dispatch, not the rate limiter: its tenants may start jobs as fast as it asks.
os.environ.setdefault("RATE_LIMIT_ENTERPRISE_JOBS", "100000/1")
os.environ.setdefault("RATE_LIMIT_ENTERPRISE_WRITES", "100000/1")
os.environ.setdefault("LOG_LEVEL", "WARNING")

DISPATCH_JOBS = 200
EVENTS = 1000
# Both paths are paced alike; real jobs send a few events per second (Progress coalesces).
EVENT_INTERVAL = 0.01
CONCURRENT_JOBS, CONCURRENT_TENANTS = 100, 10


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


class Processes:
    """The production processes, in their own process groups, stopped at the end."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.running: list[subprocess.Popen] = []

    def start(self, name: str, command: list[str]) -> None:
        log = (self.log_dir / f"{name}.log").open("wb")
        self.running.append(
            subprocess.Popen(
                command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        )

    def stop(self) -> None:
        for process in self.running:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.running:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


def wait_until(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise SystemExit(f"timed out waiting for {what}")


def setup_tenants() -> list[tuple[object, str]]:
    """Ten tenants (a fresh set each run), each with a member key."""
    from tenants.models import Plan, Role
    from tenants.services import api_key_create, tenant_create

    run = uuid.uuid4().hex[:6]
    tenants = []
    for index in range(CONCURRENT_TENANTS):
        tenant = tenant_create(slug=f"bench-{run}-{index}", name="Bench", plan=Plan.ENTERPRISE)
        tenants.append(
            (tenant, api_key_create(tenant=tenant, name="bench", role=Role.MEMBER).secret)
        )
    return tenants


def bench_dispatch(http: str, key: str) -> dict[str, list[float]]:
    """Latencies in ms: POST → handler start, and its parts: POST → answer, row committed →
    handler start."""
    import requests

    from jobs.models import Job

    session = requests.Session()
    session.headers["Authorization"] = f"Api-Key {key}"
    sent: dict[str, float] = {}
    answered = []
    for _ in range(DISPATCH_JOBS):
        before = time.time()
        response = session.post(
            f"{http}/api/v1/jobs/", json={"kind": "selftest", "input": {"steps": 1, "delay": 0}}
        )
        response.raise_for_status()
        answered.append((time.time() - before) * 1000)
        sent[response.json()["id"]] = before
        time.sleep(0.02)  # one at a time: this measures latency, not queueing
    wait_until(
        lambda: Job.objects.filter(pk__in=sent, status="succeeded").count() == len(sent),
        60,
        "the dispatch jobs",
    )
    rows = {
        str(pk): (created, started)
        for pk, created, started in Job.objects.filter(pk__in=sent).values_list(
            "pk", "created_at", "started_at"
        )
    }
    return {
        "total": [(rows[pk][1].timestamp() - t0) * 1000 for pk, t0 in sent.items()],
        "answer": answered,
        "queue": [(started - created).total_seconds() * 1000 for created, started in rows.values()],
    }


async def receive_stamped(ws_url: str, key: str, topic: str, count: int, ready) -> list[float]:
    """Subscribe, call `ready()`, then collect `count` events and their latencies in ms: receipt
    time minus the send time stamped in `data.step`."""
    import websockets

    latencies = []
    headers = {"Authorization": f"Api-Key {key}"}
    async with websockets.connect(ws_url, additional_headers=headers, max_queue=None) as ws:
        await ws.send(json.dumps({"action": "subscribe", "topic": topic}))
        assert json.loads(await ws.recv())["type"] == "subscribed"
        await asyncio.get_running_loop().run_in_executor(None, ready)
        while len(latencies) < count:
            message = json.loads(await asyncio.wait_for(ws.recv(), timeout=30))
            if message["type"] == "job.progress":
                latencies.append((time.time() - float(message["data"]["step"])) * 1000)
    return latencies


def raw_sender(topic: str, tenant_id: str, count: int, interval: float) -> None:
    """Run as its own process, like a worker: channels-redis group_send, nothing else."""
    import django

    django.setup()
    from channels.layers import get_channel_layer

    from jobs.events import CONSUMER_MESSAGE_TYPE, group_for

    async def send_all():
        layer = get_channel_layer()
        for done in range(1, count + 1):
            event = {
                "type": "job.progress",
                "topic": topic,
                "seq": None,
                "data": {"step": f"{time.time():.6f}", "done": done},
            }
            message = {"type": CONSUMER_MESSAGE_TYPE, "tenant_id": tenant_id, "event": event}
            await layer.group_send(group_for(topic), message)
            await asyncio.sleep(interval)

    asyncio.run(send_all())


def bench_events(ws_url: str, tenant, key: str) -> tuple[list[float], list[float]]:
    from jobs.services import job_create

    # Baseline: raw group_send from another process to a topic the client follows.
    holder = job_create(tenant=tenant, kind="selftest", dispatch=False)
    topic = f"job:{holder.id}"
    command = [sys.executable, __file__, "--raw-sender", topic, str(tenant.id)]

    def start_raw() -> None:
        subprocess.Popen(command, cwd=ROOT)

    raw = asyncio.run(receive_stamped(ws_url, key, topic, EVENTS, start_raw))

    # The job path: progress.update in a worker → stored, published → the same client.
    job = job_create(
        tenant=tenant,
        kind="bench_events",
        input={"events": EVENTS, "interval": EVENT_INTERVAL},
        dispatch=False,
    )
    from jobs.services import job_dispatch

    measured = asyncio.run(
        receive_stamped(ws_url, key, f"job:{job.id}", EVENTS, lambda: job_dispatch(job=job))
    )
    return measured, raw


def bench_concurrent(http: str, tenants: list) -> dict:
    import requests

    from jobs.models import Job

    def start(key: str) -> str:
        response = requests.post(
            f"{http}/api/v1/jobs/",
            json={"kind": "selftest", "input": {"steps": 5, "delay": 0.05}},
            headers={"Authorization": f"Api-Key {key}"},
            timeout=30,
        )
        response.raise_for_status()
        return response.json()["id"]

    keys = [key for _, key in tenants] * (CONCURRENT_JOBS // len(tenants))
    with ThreadPoolExecutor(max_workers=len(tenants)) as pool:
        ids = list(pool.map(start, keys))
    wait_until(
        lambda: Job.objects.filter(pk__in=ids, status__in=Job.FINISHED).count() == len(ids),
        300,
        "the concurrent jobs",
    )
    jobs = list(Job.objects.filter(pk__in=ids))
    first = min(job.created_at for job in jobs)
    last = max(job.finished_at for job in jobs)
    return {
        "succeeded": sum(job.status == "succeeded" for job in jobs),
        "tenants": len({job.tenant_id for job in jobs}),
        "jobs_per_second": len(jobs) / (last - first).total_seconds(),
        "longest_queue_wait_ms": max(
            (job.started_at - job.created_at).total_seconds() * 1000 for job in jobs
        ),
    }


def main() -> None:
    ensure_database()
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, check=True
    )
    import django

    django.setup()
    from bench import kinds  # noqa: F401 - registers bench_events here too
    from config.celery import app as celery_app

    log_dir = Path(os.environ["KALKULA_VAR_DIR"]) / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    celery_app.control.purge()
    http_port, ws_port = free_port(), free_port()
    processes = Processes(log_dir)
    try:
        processes.start(
            "gunicorn",
            [
                str(BIN / "gunicorn"),
                "config.wsgi",
                "-b",
                f"127.0.0.1:{http_port}",
                "-w",
                "2",
                "--no-control-socket",
            ],
        )
        processes.start(
            "uvicorn",
            [
                str(BIN / "uvicorn"),
                "config.asgi:application",
                "--port",
                str(ws_port),
                "--lifespan",
                "off",
                "--log-level",
                "warning",
            ],
        )
        processes.start(
            "celery",
            [
                str(BIN / "celery"),
                "-A",
                "config",
                "worker",
                "-Q",
                "high,default,low",
                "-c",
                "4",
                "-I",
                "bench.kinds",
                "-l",
                "WARNING",
                "--without-gossip",
                "--without-mingle",
            ],
        )
        import requests

        http, ws_url = f"http://127.0.0.1:{http_port}", f"ws://127.0.0.1:{ws_port}/ws/v1/events/"

        def up(url: str) -> bool:
            try:
                return requests.get(url, timeout=5).status_code == 200
            except (requests.ConnectionError, requests.Timeout):
                return False

        wait_until(
            lambda: up(f"{http}/healthz") and up(f"http://127.0.0.1:{ws_port}/healthz"),
            60,
            "servers",
        )
        wait_until(lambda: celery_app.control.ping(timeout=0.5), 60, "the worker")
        tenants = setup_tenants()
        tenant, key = tenants[0]

        bench_dispatch(http, key)  # warm-up: connections, imports
        dispatch = bench_dispatch(http, key)
        total = dispatch["total"]
        print(
            f"dispatch latency API → handler start over {len(total)} jobs: "
            f"p50 {percentile(total, 0.5):.1f} ms, p95 {percentile(total, 0.95):.1f} ms "
            f"(target p95 ≤ 50 ms: {'met' if percentile(total, 0.95) <= 50 else 'MISSED'}); "
            f"of which the API's answer p50 {percentile(dispatch['answer'], 0.5):.1f} ms, "
            f"row created → handler start p50 {percentile(dispatch['queue'], 0.5):.1f} ms, "
            f"p95 {percentile(dispatch['queue'], 0.95):.1f} ms"
        )

        measured, raw = bench_events(ws_url, tenant, key)
        ratio = percentile(measured, 0.95) / percentile(raw, 0.95)
        print(
            f"event latency progress.update → websocket over {len(measured)} events: "
            f"p50 {percentile(measured, 0.5):.2f} ms, p95 {percentile(measured, 0.95):.2f} ms; "
            f"raw group_send → websocket: p50 {percentile(raw, 0.5):.2f} ms, "
            f"p95 {percentile(raw, 0.95):.2f} ms; p95 ratio {ratio:.2f} "
            f"(target ≤ 1.5: {'met' if ratio <= 1.5 else 'MISSED'})"
        )

        concurrent = bench_concurrent(http, tenants)
        print(
            f"{CONCURRENT_JOBS} concurrent selftest jobs from {concurrent['tenants']} tenants: "
            f"{concurrent['succeeded']} succeeded, {concurrent['jobs_per_second']:.1f} jobs/s, "
            f"longest queue wait {concurrent['longest_queue_wait_ms']:.0f} ms"
        )
        print(
            f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; logs in {log_dir})"
        )
    finally:
        processes.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--raw-sender", nargs=2, metavar=("TOPIC", "TENANT_ID"))
    arguments = parser.parse_args()
    if arguments.raw_sender:
        raw_sender(*arguments.raw_sender, count=EVENTS, interval=EVENT_INTERVAL)
    else:
        main()
