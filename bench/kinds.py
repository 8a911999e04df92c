"""Job kinds for benchmarks, loaded by the benchmark's worker (`celery worker -I bench.kinds`)."""

import time

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
