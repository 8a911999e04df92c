"""Job kinds and the raw Celery task for benchmarks, loaded by the benchmark's worker
(`celery worker -I bench.kinds`)."""

import functools
import os
import time

from celery import shared_task

from core.channels import group_send_all
from jobs.events import CONSUMER_MESSAGE_TYPE, group_for, topic_for
from jobs.models import Job
from jobs.progress import Progress
from jobs.registry import job_kind


@job_kind("bench_events", queue="high")
def bench_events(job: Job, progress: Progress) -> dict:
    """`events` progress updates, `interval` seconds apart, each stamped in its step with the
    wall-clock time `progress.update` was called: a client can tell how long it took to arrive."""
    count, interval = job.input["events"], job.input["interval"]
    for done in range(1, count + 1):
        progress.update(done, count, step=f"{time.time():.6f}")
        time.sleep(interval)
    return {"events": count}


@functools.cache
def _redis():
    import redis

    return redis.Redis.from_url(os.environ["REDIS_URL"])


@shared_task(name="bench.raw_task")
def raw_task(sent_at: float, results_key: str, tenant_id: str = "", token: str = "") -> None:
    """The dispatch baseline: a bare task that notes how long after `sent_at` (wall clock) it
    started, in milliseconds, on the Redis list `results_key`; then, given a tenant, sends a bare
    event naming `token` to the tenant's topic (one channel-layer group_send, as a job's events
    travel, without the outbox or the job's other topics)."""
    _redis().rpush(results_key, (time.time() - sent_at) * 1000)
    if tenant_id:
        topic = topic_for("tenant", tenant_id)
        event = {"type": "job.progress", "topic": topic, "seq": None, "data": {"job": token}}
        message = {"type": CONSUMER_MESSAGE_TYPE, "tenant_id": tenant_id, "event": event}
        group_send_all([("job.progress", group_for(topic), message)])
