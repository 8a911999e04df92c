"""Benchmark of the job engine on PostgreSQL + Redis, with the production processes: gunicorn for
the API, uvicorn for websockets, a `celery worker`.

    .venv/bin/python bench/jobs.py [--rounds 3]

Reads DATABASE_URL, REDIS_URL, CELERY_BROKER_URL (defaults below; the database is created and
migrated if needed). Each figure is measured against its baseline in the same run, the two
interleaved, in `--rounds` rounds (at least 3): the ratio printed is the median of the rounds'.
- dispatch latency, job created through the API → its handler's first event, against a bare task
  `apply_async` → its start on the same broker and worker, one of each in turn (target: p95 ≤ 2×
  the raw task's), and POST → that event's arrival at a websocket client subscribed to the
  tenant (target: p95 ≤ 30 ms);
- event latency, `progress.update` in the worker → a websocket client receives it, against a raw
  channels-redis `group_send` from another process → the same client, in alternating order
  (target: p95 ratio ≤ 1.5);
- 100 concurrent selftest jobs from 10 tenants: all succeed, jobs/s, longest queue wait.
At the end it deletes its tenants (with their jobs, events, keys and request log), the cache
entries naming their jobs (outbox marks, heartbeats) and empties the broker's queues, and it
prints the load average: the machine is shared.
"""

import argparse
import asyncio
import functools
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT))

from bench.common import ensure_database, load_average  # noqa: E402 - needs ROOT on the path
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

DISPATCH_JOBS = 100  # per round, and as many raw tasks
EVENTS = 400  # per round and path
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


def setup_tenants(created: list) -> list[tuple[object, str]]:
    """Ten tenants (a fresh set each run), each with a member key; each also appended to
    `created`, for the clean-up."""
    from tenants.models import Plan, Role
    from tenants.services import api_key_create, tenant_create

    run = uuid.uuid4().hex[:6]
    tenants = []
    for index in range(CONCURRENT_TENANTS):
        tenant = tenant_create(slug=f"bench-{run}-{index}", name="Bench", plan=Plan.ENTERPRISE)
        created.append(tenant.pk)
        tenants.append(
            (tenant, api_key_create(tenant=tenant, name="bench", role=Role.MEMBER).secret)
        )
    return tenants


class FirstEvents:
    """A websocket client, in a thread of its own, subscribed to a tenant's topic: when (wall
    clock) the first event of each of the tenant's jobs reached it."""

    def __init__(self, ws_url: str, key: str, tenant_id: object) -> None:
        self.ws_url, self.key, self.topic = ws_url, key, f"tenant:{tenant_id}"
        self.arrived: dict[str, float] = {}
        self._ready, self._stop = threading.Event(), threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._listen()), daemon=True)

    def __enter__(self) -> "FirstEvents":
        self._thread.start()
        if not self._ready.wait(30):
            raise SystemExit("the websocket client did not subscribe")
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    async def _listen(self) -> None:
        import websockets

        headers = {"Authorization": f"Api-Key {self.key}"}
        async with websockets.connect(
            self.ws_url, additional_headers=headers, max_queue=None
        ) as ws:
            await ws.send(json.dumps({"action": "subscribe", "topic": self.topic}))
            assert json.loads(await ws.recv())["type"] == "subscribed"
            self._ready.set()
            while not self._stop.is_set():
                try:
                    message = json.loads(await asyncio.wait_for(ws.recv(), timeout=0.2))
                except TimeoutError:
                    continue
                job = (message.get("data") or {}).get("job")
                if job is not None:
                    self.arrived.setdefault(job, time.time())


def bench_dispatch(
    http: str, plain_http: str, ws_url: str, tenant_id: object, key: str, jobs: int
) -> dict[str, list[float]]:
    """Latencies in ms, one job, one raw task, one plain POST, in turn: POST → the handler's
    first event (`total`) and → its arrival at a websocket client subscribed to the tenant
    (`ws`); the parts of `total` (`row`, `claim`, `event`) and POST → answer (`answer`); a bare
    task's apply_async → its start (`raw`) and → the arrival of the bare event it sends to the
    tenant's topic (`raw_ws`), on the job's queue; and POST to the plain project's view that
    sends the bare task → its start (`plain`)."""
    import requests

    from bench.kinds import raw_task
    from jobs.models import Job, JobEvent
    from jobs.registry import get_job_kind

    queue = get_job_kind("selftest").queue
    results_key = f"bench:raw-dispatch:{uuid.uuid4().hex}"
    plain_key = f"bench:plain-dispatch:{uuid.uuid4().hex}"
    session = requests.Session()
    session.headers["Authorization"] = f"Api-Key {key}"
    plain_session = requests.Session()
    sent: dict[str, float] = {}
    raw_sent: dict[str, float] = {}
    answered = []
    with FirstEvents(ws_url, key, tenant_id) as first_events_seen:
        for _ in range(jobs):
            before = time.time()
            response = session.post(
                f"{http}/api/v1/jobs/",
                json={"kind": "selftest", "input": {"steps": 1, "delay": 0}},
            )
            response.raise_for_status()
            answered.append((time.time() - before) * 1000)
            sent[response.json()["id"]] = before
            time.sleep(0.02)  # one at a time: this measures latency, not queueing
            token = f"raw-{uuid.uuid4().hex}"
            raw_sent[token] = time.time()
            raw_task.apply_async(
                args=[raw_sent[token], results_key, str(tenant_id), token], queue=queue
            )
            time.sleep(0.02)
            plain_session.post(
                f"{plain_http}/start",
                json={"sent_at": time.time(), "results_key": plain_key, "queue": queue},
            ).raise_for_status()
            time.sleep(0.02)
        wait_until(
            lambda: (
                Job.objects.filter(pk__in=sent, status="succeeded").count() == len(sent)
                and redis_client().llen(results_key) == jobs
                and redis_client().llen(plain_key) == jobs
                and (sent.keys() | raw_sent.keys()) <= first_events_seen.arrived.keys()
            ),
            60,
            "the dispatch jobs, their first events on the websocket, and the raw tasks",
        )
    raw = [float(value) for value in redis_client().lrange(results_key, 0, -1)]
    plain = [float(value) for value in redis_client().lrange(plain_key, 0, -1)]
    redis_client().delete(results_key, plain_key)
    rows = {
        str(pk): (created, started)
        for pk, created, started in Job.objects.filter(pk__in=sent).values_list(
            "pk", "created_at", "started_at"
        )
    }
    # The handler's first event is stamped when the handler emits it (JobEvent.created_at);
    # started_at is taken before the claim's query, so it leaves out the claim (and any
    # connecting to the database): the first event is the honest "handler started".
    first_events = dict(
        JobEvent.objects.filter(job_id__in=sent, seq=1).values_list("job_id", "created_at")
    )
    return {
        "total": [(first_events[uuid.UUID(pk)].timestamp() - t0) * 1000 for pk, t0 in sent.items()],
        "ws": [(first_events_seen.arrived[pk] - t0) * 1000 for pk, t0 in sent.items()],
        "answer": answered,
        # The parts of `total`: POST → the row's INSERT, → the claim, → the first event.
        "row": [(rows[pk][0].timestamp() - t0) * 1000 for pk, t0 in sent.items()],
        "claim": [(started - created).total_seconds() * 1000 for created, started in rows.values()],
        "event": [
            (first_events[uuid.UUID(pk)] - started).total_seconds() * 1000
            for pk, (_, started) in rows.items()
        ],
        "raw": raw,
        "plain": plain,
        "raw_ws": [
            (first_events_seen.arrived[token] - t0) * 1000 for token, t0 in raw_sent.items()
        ],
    }


@functools.cache
def redis_client():
    import redis

    return redis.Redis.from_url(os.environ["REDIS_URL"])


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


def bench_events(ws_url: str, tenant, key: str, *, raw_first: bool) -> tuple[list, list]:
    """Event latencies in ms, the job path and the raw one, one after the other (the raw one
    first if `raw_first`): each `EVENTS` events to a client subscribed to the topic."""
    from jobs.services import job_create, job_dispatch

    def raw() -> list[float]:
        # A raw group_send from another process to a topic the client follows.
        holder = job_create(tenant=tenant, kind="selftest", dispatch=False)
        topic = f"job:{holder.id}"
        command = [sys.executable, __file__, "--raw-sender", topic, str(tenant.id)]
        senders = []
        latencies = asyncio.run(
            receive_stamped(
                ws_url, key, topic, EVENTS, lambda: senders.append(subprocess.Popen(command))
            )
        )
        senders[0].wait(timeout=60)
        return latencies

    def measured() -> list[float]:
        # progress.update in a worker → stored, published → the same client.
        job = job_create(
            tenant=tenant,
            kind="bench_events",
            input={"events": EVENTS, "interval": EVENT_INTERVAL},
            dispatch=False,
        )
        return asyncio.run(
            receive_stamped(ws_url, key, f"job:{job.id}", EVENTS, lambda: job_dispatch(job=job))
        )

    if raw_first:
        baseline = raw()
        return measured(), baseline
    return measured(), raw()


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


def clean_up(tenant_ids: list) -> None:
    """Delete what the run made: its tenants (their jobs, events, keys and request log go with
    them; after the servers stopped, so no request log arrives later), the cache entries naming
    its jobs (outbox marks, heartbeats) and the broker's messages."""
    from config.celery import app as celery_app

    celery_app.control.purge()
    if tenant_ids:
        from jobs.models import Job
        from tenants.models import Tenant

        jobs = Job.objects.filter(tenant__in=tenant_ids)
        job_ids = {str(pk) for pk in jobs.values_list("pk", flat=True)}
        entries = [
            key
            for key in redis_client().scan_iter(match="*jobs:*", count=1000)
            if job_ids.intersection(key.decode().split(":"))
        ]
        for start in range(0, len(entries), 1000):
            redis_client().delete(*entries[start : start + 1000])
        deleted, _ = Tenant.objects.filter(pk__in=tenant_ids).delete()
        print(
            f"cleaned up: {len(tenant_ids)} tenants and what they held ({deleted} rows), "
            f"{len(entries)} cache entries of their jobs"
        )


def main(rounds: int) -> None:
    created: list = []
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
    http_port, ws_port, plain_port = free_port(), free_port(), free_port()
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
            "plain-gunicorn",
            [
                str(BIN / "gunicorn"),
                "django.core.wsgi:get_wsgi_application()",
                "-b",
                f"127.0.0.1:{plain_port}",
                "-w",
                "2",
                "--no-control-socket",
                "--env",
                "DJANGO_SETTINGS_MODULE=bench.plain_jobs_settings",
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
        plain_http = f"http://127.0.0.1:{plain_port}"

        def up(url: str, status: int = 200) -> bool:
            try:
                return requests.get(url, timeout=5).status_code == status
            except (requests.ConnectionError, requests.Timeout):
                return False

        wait_until(
            lambda: (
                up(f"{http}/healthz")
                and up(f"http://127.0.0.1:{ws_port}/healthz")
                and up(f"{plain_http}/start", status=405)  # the view takes POST only
            ),
            60,
            "servers",
        )
        wait_until(lambda: celery_app.control.ping(timeout=0.5), 60, "the worker")
        tenants = setup_tenants(created)
        tenant, key = tenants[0]
        print(f"{load_average()} at the start")

        bench_dispatch(http, plain_http, ws_url, tenant.id, key, 20)  # warm-up: connections
        dispatch_rounds, ratios, plain_ratios = [], [], []
        for _ in range(rounds):
            dispatch = bench_dispatch(http, plain_http, ws_url, tenant.id, key, DISPATCH_JOBS)
            dispatch_rounds.append(dispatch)
            ratios.append(percentile(dispatch["total"], 0.95) / percentile(dispatch["raw"], 0.95))
            plain_ratios.append(
                percentile(dispatch["total"], 0.95) / percentile(dispatch["plain"], 0.95)
            )
            print(
                f"  dispatch round: API → event p50 {percentile(dispatch['total'], 0.5):.1f}, "
                f"p95 {percentile(dispatch['total'], 0.95):.1f} ms; → websocket "
                f"p50 {percentile(dispatch['ws'], 0.5):.1f}, "
                f"p95 {percentile(dispatch['ws'], 0.95):.1f} ms; raw apply_async → task "
                f"p50 {percentile(dispatch['raw'], 0.5):.1f}, "
                f"p95 {percentile(dispatch['raw'], 0.95):.1f} ms; p95 ratio {ratios[-1]:.2f}; "
                f"plain view → task p50 {percentile(dispatch['plain'], 0.5):.1f}, "
                f"p95 {percentile(dispatch['plain'], 0.95):.1f} ms; p95 ratio "
                f"{plain_ratios[-1]:.2f}"
            )
        total = [value for r in dispatch_rounds for value in r["total"]]
        raw_total = [value for r in dispatch_rounds for value in r["raw"]]
        ratio = statistics.median(ratios)
        print(
            f"dispatch latency API → handler's first event over {len(total)} jobs: "
            f"p50 {percentile(total, 0.5):.1f} ms, p95 {percentile(total, 0.95):.1f} ms; "
            f"raw apply_async → task start over {len(raw_total)} tasks, interleaved: "
            f"p50 {percentile(raw_total, 0.5):.1f} ms, p95 {percentile(raw_total, 0.95):.1f} ms; "
            f"p95 ratio, median of {rounds} rounds {ratio:.2f} "
            f"(target ≤ 2: {'met' if ratio <= 2 else 'MISSED'})"
        )
        plain = [value for r in dispatch_rounds for value in r["plain"]]
        print(
            f"  POST to a plain DRF view that sends the bare task → task start, interleaved: "
            f"p50 {percentile(plain, 0.5):.1f} ms, p95 {percentile(plain, 0.95):.1f} ms; "
            f"API p95 ratio to it, median of {rounds} rounds "
            f"{statistics.median(plain_ratios):.2f} (informative: the same HTTP hop, no job row)"
        )
        ws = [value for r in dispatch_rounds for value in r["ws"]]
        raw_ws = [value for r in dispatch_rounds for value in r["raw_ws"]]
        ws_p95 = statistics.median(percentile(r["ws"], 0.95) for r in dispatch_rounds)
        ws_ratio = statistics.median(
            percentile(r["ws"], 0.95) / percentile(r["raw_ws"], 0.95) for r in dispatch_rounds
        )
        print(
            f"  POST → the first event on a websocket: p50 {percentile(ws, 0.5):.1f} ms, "
            f"p95 {percentile(ws, 0.95):.1f} ms; p95, median of {rounds} rounds {ws_p95:.1f} ms "
            f"(target ≤ 30 ms: {'met' if ws_p95 <= 30 else 'MISSED'}); raw apply_async → a bare "
            f"group_send → websocket p50 {percentile(raw_ws, 0.5):.1f} ms, "
            f"p95 {percentile(raw_ws, 0.95):.1f} ms; p95 ratio, median of {rounds} rounds "
            f"{ws_ratio:.2f}"
        )
        parts = {
            name: [value for r in dispatch_rounds for value in r[name]]
            for name in ("answer", "row", "claim", "event")
        }
        print(
            "  p50 / p95 of the parts: POST → row inserted "
            f"{percentile(parts['row'], 0.5):.1f} / {percentile(parts['row'], 0.95):.1f} ms, "
            f"→ claim {percentile(parts['claim'], 0.5):.1f} / "
            f"{percentile(parts['claim'], 0.95):.1f} ms, → first event "
            f"{percentile(parts['event'], 0.5):.1f} / {percentile(parts['event'], 0.95):.1f} ms; "
            f"the API's answer {percentile(parts['answer'], 0.5):.1f} / "
            f"{percentile(parts['answer'], 0.95):.1f} ms"
        )

        bench_events(ws_url, tenant, key, raw_first=True)  # warm-up
        measured, raw, ratios = [], [], []
        for round_ in range(rounds):
            subject, baseline = bench_events(ws_url, tenant, key, raw_first=round_ % 2 == 0)
            measured += subject
            raw += baseline
            ratios.append(percentile(subject, 0.95) / percentile(baseline, 0.95))
            print(
                f"  events round: job p50 {percentile(subject, 0.5):.2f}, "
                f"p95 {percentile(subject, 0.95):.2f} ms; raw p50 {percentile(baseline, 0.5):.2f}, "
                f"p95 {percentile(baseline, 0.95):.2f} ms; p95 ratio {ratios[-1]:.2f}"
            )
        ratio = statistics.median(ratios)
        print(
            f"event latency progress.update → websocket over {len(measured)} events: "
            f"p50 {percentile(measured, 0.5):.2f} ms, p95 {percentile(measured, 0.95):.2f} ms; "
            f"raw group_send → websocket, interleaved: p50 {percentile(raw, 0.5):.2f} ms, "
            f"p95 {percentile(raw, 0.95):.2f} ms; p95 ratio, median of {rounds} rounds "
            f"{ratio:.2f} (target ≤ 1.5: {'met' if ratio <= 1.5 else 'MISSED'})"
        )

        concurrent = bench_concurrent(http, tenants)
        print(
            f"{CONCURRENT_JOBS} concurrent selftest jobs from {concurrent['tenants']} tenants: "
            f"{concurrent['succeeded']} succeeded, {concurrent['jobs_per_second']:.1f} jobs/s, "
            f"longest queue wait {concurrent['longest_queue_wait_ms']:.0f} ms"
        )
        print(f"{load_average()} at the end; logs in {log_dir}")
    finally:
        processes.stop()
        clean_up(created)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--raw-sender", nargs=2, metavar=("TOPIC", "TENANT_ID"))
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (at least 3)")
    arguments = parser.parse_args()
    if arguments.raw_sender:
        raw_sender(*arguments.raw_sender, count=EVENTS, interval=EVENT_INTERVAL)
    elif arguments.rounds < 3:
        parser.error("--rounds: at least 3, the median of fewer says little")
    else:
        main(arguments.rounds)
